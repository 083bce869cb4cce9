--- `katamount rules`: list the loaded rules and params, or check a rules
-- directory (`--check DIR`).
-- @module katamount.cli.rules
local util = require("katamount.cli.util")
local engine = require("katamount.cli.engine")
local tbl = require("katamount.cli.table")
local json = require("katamount.cli.json")

local fail, cell, where = util.fail, util.cell, util.where

local M = {}

--- The rules table's columns.
M.RULE_COLUMNS = {
  { name = "order", title = "ORDER", min = 5, head = true },
  { name = "name", title = "NAME", shrink = "end", min = 10, prio = 2, head = true },
  { name = "scope", title = "SCOPE", shrink = "end", min = 5 },
  { name = "class", title = "CLASS", shrink = "end", min = 8 },
  { name = "action", title = "ACTION", shrink = "end", min = 10 },
  { name = "defined-at", title = "DEFINED AT", shrink = "middle", min = 16, prio = 1 },
}

--- The params table's columns.
M.PARAM_COLUMNS = {
  { name = "param", title = "PARAM", shrink = "end", min = 12, prio = 3 },
  { name = "value", title = "VALUE", shrink = "end", min = 12, prio = 1 },
  { name = "set-at", title = "SET AT", shrink = "middle", min = 16, prio = 2 },
}

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("rules", "List the loaded rules and params, or check a rules directory.")
    :epilog("Exit status: 0 done; 1 --check: DIR loads with warnings; 2 bad usage, rules that do\n" ..
      "not load, or --check found problems.\n" ..
      "-o names columns of the rules table; the params table keeps its own.")
  cmd:option("--rules", "Load the rule files of DIR after the bundled ones (repeatable).")
    :argname("DIR"):count("*")
  cmd:option("--check", "Load DIR in a fresh engine (not used otherwise), print every file:line\n" ..
    "problem and warning on stderr, then every decision DIR changes on the canonical mounts\n" ..
    "(one per row of the decision table) and on the example pod.")
    :argname("DIR")
  cmd:flag("--json", "Print {\"rules\": [...], \"params\": [...]} as JSON.")
  tbl.add_options(cmd, M.RULE_COLUMNS)
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Load `dir` in fresh engines and collect every file:line problem: syntax
-- errors of each file, then, leaving out each failing file in turn, the
-- first error of every other file (a chunk stops at its first runtime
-- error). The files are read once, through descriptors
-- (`core.read_rules_dir`, as the engine reads them).
local function check_rules(dir)
  local t = util.file_type(dir)
  if t ~= "directory" then fail(2, dir .. ": " .. (t and "not a directory" or "no such rules directory")) end
  local new = engine.new_function()
  local read, warnings = util.need_core().read_rules_dir(dir)
  if not read then return { warnings }, {}, nil end
  engine.print_warnings(warnings)
  local files, text = {}, {}
  for i, f in ipairs(read) do files[i] = f.name; text[f.name] = f.text end
  local problems, left = {}, {}
  for _, f in ipairs(read) do
    local chunk, err = load(f.text, "@" .. f.path, "t", {})
    if chunk then left[#left + 1] = f.name else problems[#problems + 1] = err end
  end
  local tmp, checked
  for _ = 1, #files + 1 do
    local d = dir
    if #left < #files then -- a copy of the files still in the running
      if #left == 0 then break end
      if not tmp then
        local terr
        tmp, terr = util.need_core().make_temp_dir((os.getenv("TMPDIR") or "/tmp") .. "/katamount-check.")
        if not tmp then fail(2, "cannot make a temporary directory: " .. tostring(terr)) end
      end
      -- the texts read above, written anew (owner us, mode 600: the loader
      -- checks both), never copied again from the directory by path
      if not os.execute("rm -f -- " .. shell_quote(tmp) .. "/*.lua") then
        fail(2, dir .. ": cannot clear the temporary directory")
      end
      for _, f in ipairs(left) do
        local fh = io.open(tmp .. "/" .. f, "wb")
        if not (fh and fh:write(text[f]) and fh:close()) then
          fail(2, dir .. ": cannot copy the rule files")
        end
      end
      if not os.execute("chmod 600 -- " .. shell_quote(tmp) .. "/*.lua") then
        fail(2, dir .. ": cannot copy the rule files")
      end
      d = tmp
    end
    local e, msg = new({ rules_path = { d } })
    if e then checked = e break end
    msg = tostring(msg or "the rules could not be loaded")
    if d ~= dir then
      local i, j = msg:find(tmp .. "/", 1, true)
      while i do
        msg = msg:sub(1, i - 1) .. dir .. "/" .. msg:sub(j + 1)
        i, j = msg:find(tmp .. "/", i + #dir + 1, true)
      end
    end
    problems[#problems + 1] = msg
    local culprit
    for k, f in ipairs(left) do
      if msg:find("/" .. f .. ":", 1, true) or msg:find("/" .. f .. "'", 1, true)
        or msg:find(f .. ":", 1, true) == 1 then
        culprit = k
        break
      end
    end
    if not culprit then break end
    table.remove(left, culprit)
  end
  if tmp then os.execute("rm -rf -- " .. shell_quote(tmp)) end
  return problems, files, checked
end

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

-- The example pod of a source checkout (examples/pod/config.json beside
-- the bundled rules), or nil.
local function example_spec()
  local ok, loader = pcall(require, "katamount.loader")
  local bundled = ok and loader.bundled_dir()
  if not bundled then return nil end
  local path = bundled .. "/../examples/pod/config.json"
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local dok, spec = pcall(require("cjson").decode, text or "")
  if not dok or type(spec) ~= "table" then return nil end
  return spec, "examples/pod/config.json"
end

--- Print the decisions `after` makes differently from `before` on `spec`
-- (a line `LABEL: N of M decisions change`, then one line each: what,
-- destination, before -> after).
-- @tparam table before an engine
-- @tparam table after an engine
-- @tparam table spec
-- @tparam string label
-- @tparam[opt] table ctx
-- @treturn integer how many decisions change
local function print_changes(before, after, spec, label, ctx)
  local compare = require("katamount.compare")
  local diff, n = compare.differences(before, after, spec, ctx)
  util.emit(("%s: %d of %d decisions change\n"):format(label, #diff, n))
  for _, d in ipairs(diff) do
    util.emit(("  %s %s: %s -> %s\n"):format(d.what, cell(d.destination), compare.summary(d.before),
      compare.summary(d.after)))
  end
  return #diff
end
M.print_changes = print_changes

-- What `checked` (the bundled rules and DIR) decides differently from the
-- bundled rules alone: on the canonical mounts (one per decision-table row,
-- on a host layout made in a fresh private directory) and on the example pod.
local function show_changes(checked)
  local compare = require("katamount.compare")
  local core = util.need_core()
  local bundled, err = engine.new_function()({ rules_path = {} })
  if not bundled then fail(2, "the bundled rules do not load: " .. tostring(err)) end
  local root, terr = core.make_temp_dir((os.getenv("TMPDIR") or "/tmp") .. "/katamount-check.")
  if not root then fail(2, "cannot make a temporary directory: " .. tostring(terr)) end
  local made, merr = compare.make_host(root)
  if not made then
    os.remove(root)
    fail(2, "cannot lay out the canonical mounts: " .. tostring(merr))
  end
  local ok, res = pcall(print_changes, bundled, checked, compare.canonical_spec(root),
    "canonical mounts (one per row of the decision table)")
  compare.remove_host(root, made)
  if not ok then error(res, 0) end
  local spec, name = example_spec()
  if spec then print_changes(bundled, checked, spec, name) end
end

local function run_check(dir)
  local problems, files, checked = check_rules(dir)
  for _, p in ipairs(problems) do io.stderr:write("katamount: ", util.one_line(p), "\n") end
  if #problems > 0 then
    util.emit(("%s: %s in %s\n"):format(dir, plural(#problems, "problem"), plural(#files, "rule file")))
    return 2
  end
  local mine = 0
  for _, r in ipairs(checked and checked:rules() or {}) do
    if type(r.file) == "string" and r.file:find(dir, 1, true) then mine = mine + 1 end
  end
  local warnings = checked:warnings()
  engine.print_warnings(warnings)
  util.emit(("%s: %s loaded%s (%s defined there)\n"):format(dir, plural(#files, "rule file"),
    #warnings > 0 and (" with " .. plural(#warnings, "warning")) or " cleanly", plural(mine, "rule")))
  show_changes(checked)
  return #warnings > 0 and 1 or 0
end

--- Run `katamount rules`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  local topts = tbl.options(a, M.RULE_COLUMNS, usage)
  if a.check then return run_check(a.check) end
  local e = engine.load(a.rules)
  local list = e:rules()
  local params = engine.params(e)
  if a.json then
    local doc = { rules = {}, params = {} }
    for i, r in ipairs(list) do doc.rules[i] = json.plain(r) end
    for i, p in ipairs(params) do doc.params[i] = json.plain(p) end
    json.print(doc)
    return 0
  end
  local rows = {}
  for _, r in ipairs(list) do
    rows[#rows + 1] = { order = cell(r.order), name = cell(r.name), scope = cell(r.scope),
      class = cell(r.class), action = cell(r.action), ["defined-at"] = where(r) }
  end
  tbl.print(topts.cols, rows, topts)
  util.emit("\n")
  rows = {}
  for _, p in ipairs(params) do
    local v = p.value
    local shown = p.error and ("(not shown: " .. p.error .. ")") or v == nil and "nil" or json.encode(v)
    rows[#rows + 1] = { param = cell(p.name), value = cell(shown),
      ["set-at"] = where(p) }
  end
  tbl.print(M.PARAM_COLUMNS, rows, topts)
  return 0
end

return M
