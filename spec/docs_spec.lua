-- docs_spec.lua -- docs/rules.md stays true: its five common changes load
-- without a warning and decide what the text says, and it names every
-- bundled param, rule, class and action.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

local T = {}

local DOC = H.root .. "/docs/rules.md"

-- The indented code block after each "**N. ...**" heading, by N.
local function examples()
  local out, current, n = {}, nil, nil
  for line in io.lines(DOC) do
    local heading = line:match("^%*%*(%d)%. ")
    if heading then
      n, current = tonumber(heading), nil
    elseif n and line:sub(1, 4) == "    " then
      current = current or {}
      current[#current + 1] = line:sub(5)
      out[n] = table.concat(current, "\n") .. "\n"
    elseif n and current and line ~= "" then
      n, current = nil, nil
    end
  end
  return out
end

local function doc_text()
  local f = assert(io.open(DOC))
  local s = f:read("a")
  f:close()
  return s
end

T.TestRulesDoc = { tearDown = H.cleanup }

-- Each example, dropped into a rules directory as the text says, loads
-- quietly and makes the decision the text promises.
function T.TestRulesDoc.test_the_five_common_changes_do_what_they_say()
  local ex = examples()
  lu.assertEquals(#ex, 5)
  local d = H.tmpdir("docs")
  local cm = H.mkdir(d .. "/pods/p/volumes/kubernetes.io~configmap/big")
  H.fill(cm, 12)
  local host_only = H.mkdir(d .. "/host-only/x")
  local disk_dir = H.mkdir(d .. "/pods/p/volumes/kubernetes.io~empty-dir/scratch")
  local checks = {
    -- 1: a configmap of 12 files is watched (shared before)
    { bind = H.bind_mount(cm, "/etc/big"), before = "shared", after = "watchable" },
    -- 2: a source under the new prefix is a system mount
    { bind = H.bind_mount(host_only, "/h"), before = "shared", after = "system",
      text = function(t) return (t:gsub("/var/lib/host%-only", d .. "/host-only")) end },
    -- 3: /dev/shm shared
    { bind = H.bind_mount(d, "/dev/shm"), before = "shm", after = "shm", action = "share" },
    -- 4: a Docker volume of ours
    { bind = H.bind_mount("/srv/volumes/db", "/db"), before = "host-device", after = "docker-volume",
      allow_missing = true },
    -- 5: emptyDirs on disk shared
    { bind = H.bind_mount(disk_dir, "/scratch"), before = "local", after = "shared" },
  }
  local plain = assert(katamount.new({ rules_path = {} }))
  for i, c in ipairs(checks) do
    local text = ex[i]
    if c.text then text = c.text(text) end
    local rules = H.rules_dir({ ["50-site.lua"] = text }, "docs-ex" .. i)
    local e, err = katamount.new({ rules_path = { rules } })
    lu.assertNotNil(e, "example " .. i .. ": " .. tostring(err))
    lu.assertEquals(e:warnings(), {}, "example " .. i)
    if not c.allow_missing then
      lu.assertEquals(plain:classify(c.bind).class, c.before, "example " .. i)
    end
    local got = assert(e:classify(c.bind))
    lu.assertEquals(got.class, c.after, "example " .. i)
    if c.action then lu.assertEquals(got.action, c.action, "example " .. i) end
  end
end

-- Every bundled param, rule, class and action is named in the document.
function T.TestRulesDoc.test_the_document_names_everything_bundled()
  local text = doc_text()
  local e = assert(katamount.new({ rules_path = {} }))
  for name in pairs(e:param_info()) do
    lu.assertStrContains(text, "| `" .. name .. "` |", false, "param " .. name)
  end
  for _, r in ipairs(e:rules()) do
    lu.assertStrContains(text, "`" .. r.name .. "`", false, "rule " .. r.name)
    lu.assertStrContains(text, "`" .. r.class .. "`", false, "class " .. r.class)
    lu.assertStrContains(text, "`" .. r.action .. "`", false, "action " .. r.action)
  end
  for name in pairs(e:params()) do
    lu.assertStrContains(text, name, false, "param " .. name)
  end
end

return T
