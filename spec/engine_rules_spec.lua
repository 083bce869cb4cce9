-- engine_rules_spec.lua -- loading rules: the bundled directory (checkout
-- and installed layouts), operator directories and overrides, reload with
-- last-good semantics, file:line in every load error, trust checks, and
-- require "katamount" with KATAMOUNT_RULES_PATH.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local katamount = require("katamount")
local loader = require("katamount.loader")

local T = {}

local BUILD = os.getenv("KATAMOUNT_BUILD") or "build"
-- H.run drops LD_PRELOAD; a sanitized core needs its runtime preloaded
local PRELOAD = os.getenv("LD_PRELOAD")
PRELOAD = PRELOAD and ("LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(H.q(PRELOAD)) or ""
if BUILD:sub(1, 1) ~= "/" then BUILD = H.root .. "/" .. BUILD end
local FIXTURES = H.root .. "/spec/fixtures/"

-- Run Lua code in a fresh interpreter (from `dir`, default the checkout)
-- with the checkout's modules; returns output and success.
local function lua_run(code, env, dir, lua_dir)
  lua_dir = lua_dir or (H.root .. "/lua")
  local prelude = ("package.path = %q .. package.path; package.cpath = %q .. package.cpath; ")
    :format(lua_dir .. "/?.lua;" .. lua_dir .. "/?/init.lua;", BUILD .. "/?.so;")
  return H.run("cd " .. H.q(dir or H.root) .. " && env -u KATAMOUNT_RULES_PATH " .. PRELOAD .. (env or "")
    .. " timeout 60 lua5.4 -e " .. H.q(prelude .. code))
end

local function rules_dir(files) return H.rules_dir(files, "rules") end

local function names(e)
  local out = {}
  for _, r in ipairs(e:rules()) do out[#out + 1] = r.name end
  return out
end

local bind = H.bind_mount

T.TestBundled = { tearDown = H.cleanup }

function T.TestBundled.test_found_in_the_checkout()
  local dir = assert(loader.bundled_dir())
  lu.assertEquals(dir, core.realpath(H.root .. "/rules"))
  for _, r in ipairs(katamount.rules()) do
    lu.assertEquals(r.file:sub(1, #dir + 1), dir .. "/")
  end
end

-- The rockspec installs the rules beside the modules: katamount/rules/.
function T.TestBundled.test_found_when_installed()
  local d = H.tmpdir("inst")
  local share = H.mkdir(d .. "/share/lua/5.4/katamount/rules")
  H.sh("cp " .. H.q(H.root) .. "/lua/katamount/*.lua " .. H.q(d .. "/share/lua/5.4/katamount/"))
  H.sh("cp " .. H.q(H.root) .. "/rules/*.lua " .. H.q(share))
  local out, ok = lua_run([[
    local k = require("katamount")
    print(k.rules()[1].file)
    print(k.classify({ source = "/proc/1", destination = "/p", type = "bind" }).class)
  ]], nil, "/", d .. "/share/lua/5.4")
  lu.assertTrue(ok, out)
  local real = core.realpath(share)
  lu.assertEquals(out, real .. "/10-layers.lua\nsystem")
end

function T.TestBundled.test_new_without_bundled_rules()
  local e = assert(katamount.new({ bundled = false, rules_path = { FIXTURES .. "rules-replace" } }))
  lu.assertEquals(names(e), { "watch-configmap" })
end

T.TestOverrides = { tearDown = H.cleanup }

function T.TestOverrides.test_operator_dir_param_predicate_rule()
  local e = assert(katamount.new({ rules_path = { FIXTURES .. "rules-operator" } }))
  local d = H.tmpdir("ov")
  -- a param: configmaps of 3 files are no longer watched
  local cm = H.fill(d .. "/kubernetes.io~configmap/c3", 3)
  lu.assertEquals(katamount.classify(bind(cm)).class, "watchable")
  lu.assertEquals(e:classify(bind(cm)).class, "shared")
  lu.assertEquals(e:classify(bind(H.fill(d .. "/kubernetes.io~configmap/c2", 2))).class, "watchable")
  lu.assertEquals(e:params().watchable_max_files, 2)
  -- a system prefix added
  lu.assertEquals(e:classify(bind("/var/lib/katamount-host-only/x")).class, "system")
  lu.assertTrue(e:is_system_mount("/var/lib/katamount-host-only"))
  lu.assertFalse(katamount.is_system_mount("/var/lib/katamount-host-only"))
  lu.assertTrue(e:is_system_mount("/proc"))
  -- a predicate replaced
  lu.assertTrue(e:is_docker_volume("/srv/volumes/v1"))
  lu.assertFalse(e:is_docker_volume("/var/lib/docker/volumes/v/_data"))
  -- a rule replaced and a rule added, in order
  local d1 = e:classify(bind(d, "/dev/shm"))
  lu.assertEquals({ d1.class, d1.action, d1.reasons[1] }, { "shm", "share", "operator: /dev/shm is shared" })
  local d2 = e:classify(bind("/srv/volumes/v1"))
  lu.assertEquals({ d2.class, d2.action, d2.rule }, { "docker-volume", "share", "docker-volume" })
  lu.assertEquals(names(e), { "layer", "layer-dropped", "system", "docker-volume", "ephemeral",
    "hugepages", "block-emptydir", "local", "direct-vfio", "direct-spdk", "direct-block", "direct-mount",
    "block", "passthrough", "shm", "host-device", "watchable", "copy-watch", "copy", "dropped", "shared",
    "rootfs-guest-pull", "rootfs-nydus", "rootfs-erofs", "rootfs-overlay", "rootfs-blockfile",
    "rootfs-block", "rootfs-share" })
  for _, r in ipairs(e:rules()) do
    if r.name == "shm" or r.name == "docker-volume" then
      lu.assertStrContains(r.file, "rules-operator/50-operator.lua")
    end
  end
  -- the default engine is untouched
  lu.assertEquals(katamount.classify(bind(d, "/dev/shm")).action, "guest-shm")
end

function T.TestOverrides.test_same_named_file_replaces_the_bundled_one()
  local e = assert(katamount.new({ rules_path = { FIXTURES .. "rules-replace" } }))
  local n = names(e)
  lu.assertNotStrContains(table.concat(n, " "), " watchable ")
  lu.assertStrContains(table.concat(n, " "), "watch-configmap")
  -- the bundled 70-watchable.lua was not loaded at all
  lu.assertNil(e:params().watchable_max_files)
  local d = H.tmpdir("ov")
  lu.assertEquals(e:classify(bind(H.fill(d .. "/kubernetes.io~configmap/one", 1))).rule, "watch-configmap")
  lu.assertEquals(e:classify(bind(H.fill(d .. "/kubernetes.io~configmap/two", 2))).class, "shared")
  lu.assertEquals(e:classify(bind(H.fill(d .. "/kubernetes.io~secret/one", 1))).class, "shared")
end

function T.TestOverrides.test_later_dirs_and_files_win()
  local a = rules_dir({ ["10-a.lua"] = "params.watchable_max_files = 3\n",
    ["20-b.lua"] = "params.watchable_max_files = 4\n" })
  local b = rules_dir({ ["05-c.lua"] = "params.watchable_max_files = 5\n" })
  lu.assertEquals(assert(katamount.new({ rules_path = { a } })):params().watchable_max_files, 4)
  -- every operator file loads after the bundled ones, directories in order
  lu.assertEquals(assert(katamount.new({ rules_path = { a, b } })):params().watchable_max_files, 5)
  lu.assertEquals(assert(katamount.new({ rules_path = b .. ":" .. a })):params().watchable_max_files, 4)
  lu.assertEquals(assert(katamount.new({ rules_path = "::" .. a .. ":" })):params().watchable_max_files, 4)
  -- a same-named file in a later directory replaces the earlier one
  local c = rules_dir({ ["20-b.lua"] = "params.extra = 1\n" })
  local e = assert(katamount.new({ rules_path = { a, c } }))
  lu.assertEquals({ e:params().watchable_max_files, e:params().extra }, { 3, 1 })
end

function T.TestOverrides.test_param_sources_name_the_last_assignment()
  local a = rules_dir({ ["10-a.lua"] = "-- a comment\nparams.watchable_max_files = 3\n" })
  local e = assert(katamount.new({ rules_path = { a } }))
  local where = e:param_sources()
  lu.assertEquals(where.watchable_max_files, a .. "/10-a.lua:2")
  lu.assertStrMatches(where.system_prefixes, ".*rules/20%-system%.lua:%d+")
  -- rules still read, iterate and extend params through the view
  local b = rules_dir({ ["20-b.lua"] = table.concat({
    "local n = 0",
    "for _ in pairs(params) do n = n + 1 end",
    "params.counted = n",
    "table.insert(params.system_prefixes, '/host-only')",
  }, "\n") })
  e = assert(katamount.new({ rules_path = { b } }))
  lu.assertTrue(e:params().counted >= 10)
  lu.assertEquals(e:param_sources().counted, b .. "/20-b.lua:3")
  lu.assertTrue(e:is_system_mount("/host-only/x"))
  lu.assertEquals(katamount.param_sources().watchable_max_files:match("70%-watchable%.lua:%d+$") ~= nil, true)
end

function T.TestOverrides.test_disable_a_rule_and_add_a_predicate()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "watchable", disabled = true }
    predicate("is_scratch", function(path) return path:match("/scratch$") ~= nil end)
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  lu.assertNotStrContains(table.concat(names(e), " "), "watchable")
  lu.assertTrue(e:is_scratch("/a/scratch"))
  lu.assertFalse(e:call("is_scratch", "/a"))
  local none, err = e:call("is_nothing", "/a")
  lu.assertNil(none)
  lu.assertStrContains(err, "'is_nothing' is not defined")
  lu.assertNil(e.is_nothing)
end

function T.TestOverrides.test_env_var_used_when_no_rules_path()
  local d = rules_dir({ ["50-x.lua"] = "params.watchable_max_files = 1\n" })
  local out, ok = lua_run([[
    local k = require("katamount")
    print(k.params().watchable_max_files)
    print(k.new({}):params().watchable_max_files, k.new({ rules_path = {} }):params().watchable_max_files)
  ]], "KATAMOUNT_RULES_PATH=" .. H.q(d))
  lu.assertTrue(ok, out)
  lu.assertEquals(out, "1\n1\t8")
end

function T.TestOverrides.test_require_raises_naming_file_and_line()
  local d = rules_dir({ ["50-broken.lua"] = "params.x = 1\n\nrule { name = 'x', order = 1 }\n" })
  local out, ok = lua_run("require('katamount')", "KATAMOUNT_RULES_PATH=" .. H.q(d))
  lu.assertTrue(not ok, out)
  lu.assertStrContains(out, d .. "/50-broken.lua:3: rule 'x': when must be a function")
end

T.TestReload = { tearDown = H.cleanup }

function T.TestReload.test_reload_picks_up_changes()
  local d = rules_dir()
  local e = assert(katamount.new({ rules_path = { d } }))
  local cm = H.fill(H.tmpdir("rl") .. "/kubernetes.io~configmap/c", 5)
  lu.assertEquals(e:classify(bind(cm)).class, "watchable")
  H.write(d .. "/50-limit.lua", "params.watchable_max_files = 4\n")
  lu.assertEquals(e:classify(bind(cm)).class, "watchable")     -- not before reload
  lu.assertTrue(e:reload())
  lu.assertEquals(e:classify(bind(cm)).class, "shared")
  os.remove(d .. "/50-limit.lua")
  lu.assertTrue(e:reload())
  lu.assertEquals(e:classify(bind(cm)).class, "watchable")
end

function T.TestReload.test_broken_file_keeps_the_last_good_set()
  local d = rules_dir({ ["50-limit.lua"] = "params.watchable_max_files = 4\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  local cm = H.fill(H.tmpdir("rl") .. "/kubernetes.io~configmap/c", 5)
  lu.assertEquals(e:classify(bind(cm)).class, "shared")
  local cases = {
    { "params.watchable_max_files = 100\nrule { name = 'x',\n", ":3: " },                -- syntax
    { "params.watchable_max_files = 100\nlocal x = nil\nreturn x.y\n", ":3: attempt to index" },
    { "params.watchable_max_files = 100\n\nerror('operator typo')\n", ":3: operator typo" },
    { "params.watchable_max_files = 100\nerror('no position', 0)\n", ":2: no position" },
    { "params.watchable_max_files = 100\nerror({})\n", ":2: (error object is a table value)" },
    { "params.watchable_max_files = 100\nrule { name = 'r', order = 1, when = function() end,"
      .. " class = 'c' }\n", ":2: rule 'r': action must be a non-empty string" },
    { "rule { name = 'r', order = 'first', when = tostring, class = 'c', action = 'a' }\n",
      ":1: rule 'r': order must be a number" },
    { "rule { name = 'r', order = 1, scope = 'layer', when = tostring, class = 'c', action = 'a' }\n",
      ":1: rule 'r': scope must be" },
    { "rule 'r'\n", ":1: rule: expects a table" },
    { "predicate('is x', function() end)\n", ":1: predicate: the name must be an identifier" },
    { "\n\npredicate('is_x', true)\n", ":3: predicate 'is_x': expects a function" },
  }
  for _, c in ipairs(cases) do
    H.write(d .. "/60-broken.lua", c[1])
    local ok, err = e:reload()
    lu.assertNil(ok, c[1])
    lu.assertStrContains(err, d .. "/60-broken.lua" .. c[2])
    -- the last good rules still decide
    lu.assertEquals(e:classify(bind(cm)).class, "shared", c[1])
    lu.assertEquals(e:params().watchable_max_files, 4)
    -- and a new engine cannot be made from them
    local none, nerr = katamount.new({ rules_path = { d } })
    lu.assertNil(none)
    lu.assertEquals(nerr, err)
  end
  os.remove(d .. "/60-broken.lua")
  lu.assertTrue(e:reload())
end

function T.TestReload.test_a_broken_bundled_name_reports_the_operator_file()
  local d = rules_dir({ ["20-system.lua"] = "\nparams.system_prefixes = {\n" })
  local none, err = katamount.new({ rules_path = { d } })
  lu.assertNil(none)
  lu.assertStrContains(err, d .. "/20-system.lua:")
end

-- Lua names a chunk by at most 60 bytes ("..." and the tail); an operator's
-- rules directory may be deeper: every message names the whole path.
function T.TestReload.test_a_deep_rules_directory_is_named_whole()
  local base = H.tmpdir("deep")
  local d = H.mkdir(base .. "/" .. ("long-directory-name/"):rep(6) .. "rules.d")
  lu.assertTrue(#d > 120)
  local cases = {
    { "\nparams.system_prefixes = {\n", ":3: " },                        -- a syntax error
    { "\nerror('broken on purpose')\n", ":2: broken on purpose" },       -- a run-time error
    { "rule { name = 'x', order = 1, when = 1, class = 'c', action = 'a' }\n",
      ":1: rule 'x': when must be a function" },                        -- the rule API's own
  }
  for _, c in ipairs(cases) do
    H.write(d .. "/50-broken.lua", c[1])
    local none, err = katamount.new({ rules_path = { d } })
    lu.assertNil(none)
    lu.assertStrContains(err, d .. "/50-broken.lua" .. c[2])
    lu.assertNotStrContains(err, "...")
  end
end

function T.TestReload.test_bad_options()
  lu.assertError(katamount.new, "rules")
  local none, err = katamount.new({ rules_path = 5 })
  lu.assertNil(none)
  lu.assertStrContains(err, "rules_path")
  none, err = katamount.new({ rules_path = { "/nonexistent/katamount-rules" } })
  lu.assertNil(none)
  lu.assertStrContains(err, "rules directory '/nonexistent/katamount-rules'")
  none, err = katamount.new({ rules_path = { "/etc/hostname" } })
  lu.assertNil(none)
  lu.assertStrContains(err, "rules directory '/etc/hostname': Not a directory")
  none, err = katamount.new({ budget = 0 })
  lu.assertNil(none)
  lu.assertStrContains(err, "budget")
  -- a directory named *.lua is refused, not skipped silently
  local d = rules_dir()
  H.mkdir(d .. "/50-dir.lua")
  none, err = katamount.new({ rules_path = { d } })
  lu.assertNil(none)
  lu.assertStrContains(err, "50-dir.lua': a directory, not a regular file: refused")
  -- other names are ignored
  os.remove(d .. "/50-dir.lua")
  H.write(d .. "/README", "x")
  H.write(d .. "/.50-hidden.lua", "error('never loaded')")
  H.write(d .. "/50-x.lua~", "error('never loaded')")
  assert(katamount.new({ rules_path = { d } }))
end

-- The system rule keeps the cleaned prefixes between calls; a change to
-- params.system_prefixes after it was first asked (a later file) is seen.
-- The rule index: a mount rule with `needs` is tried only on a mount that
-- has it (its `when` not called on any other); an explained decision shows
-- it not tried, and why. The bundled direct-volume and layer rules use it.
T.TestNeeds = { tearDown = H.cleanup }

local directvolume = require("katamount.directvolume")

-- A direct volume: <root>/<base64url(source)>/mountInfo.json of a file.
local function direct_volume(root, source, device)
  local dir = H.mkdir(root .. "/" .. directvolume.base64url(source))
  H.write(dir .. "/mountInfo.json", ('{"device":%q,"fstype":"ext4"}'):format(device))
end

function T.TestNeeds.test_a_rule_is_tried_only_on_a_mount_with_a_mountinfo()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "needs-dv", order = 1, class = "shared", action = "share",
      needs = "direct_volume", when = function() error("tried", 0) end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local src = H.mkdir(H.tmpdir("nd") .. "/pv")
  -- without a mountInfo.json: not tried, the bundled rules decide
  lu.assertEquals(assert(e:classify(bind(src, "/data"))).class, "shared")
  -- with one: tried (and it raises)
  local root = H.tmpdir("dv")
  direct_volume(root, src, H.write(H.tmpdir("disk") .. "/disk.img", ""))
  local none, err = e:classify(bind(src, "/data"), { direct_volumes_root = root })
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'needs-dv' (" .. d .. "/50-x.lua:1): ")
  lu.assertStrContains(err, ": tried")
end

function T.TestNeeds.test_a_rule_is_tried_only_on_a_mount_with_the_layer_option()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "needs-layer", order = 1, class = "shared", action = "share",
      needs = "layer_option", when = function() error("tried", 0) end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local src = H.mkdir(H.tmpdir("nl") .. "/pv")
  local m = bind(src, "/data")
  lu.assertEquals(assert(e:classify(m)).class, "shared")
  m.options = { "rbind", "io.katacontainers.fs-opt.is-layer" }
  local none, err = e:classify(m)
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'needs-layer' (" .. d .. "/50-x.lua:1): ")
  lu.assertStrContains(err, ": tried")
  -- the option is the param's: another name, another option
  H.write(d .. "/60-opt.lua", 'params.layer_option = "example.com/layer"\n')
  assert(e:reload())
  lu.assertEquals(assert(e:classify(m)).class, "shared")
  m.options = { "rbind", "example.com/layer" }
  lu.assertStrContains(select(2, e:classify(m)), ": tried")
end

function T.TestNeeds.test_explained_a_rule_not_tried_says_why()
  local d = rules_dir({ ["50-x.lua"] = "\n" .. [[
    rule { name = "needs-dv", order = 1, class = "shared", action = "share",
      needs = "direct_volume", when = function() error("tried", 0) end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local src = H.mkdir(H.tmpdir("ne") .. "/pv")
  local dec = assert(e:classify(bind(src, "/data"), { explain = true }))
  lu.assertEquals(dec.class, "shared")
  local seen = {}
  for _, t in ipairs(dec.trace) do seen[t.name] = t end
  lu.assertEquals(seen["needs-dv"], { name = "needs-dv", order = 1, matched = false,
    why = 'not tried: no mountInfo.json (needs = "direct_volume")', file = d .. "/50-x.lua", line = 2 })
  -- the bundled rules that need what this mount lacks, in their places
  lu.assertEquals(seen["direct-block"].why, 'not tried: no mountInfo.json (needs = "direct_volume")')
  lu.assertEquals(seen["direct-block"].order, 450)
  lu.assertStrContains(seen["direct-block"].file, "40-block.lua")
  lu.assertEquals(seen.layer.why,
    'not tried: no io.katacontainers.fs-opt.is-layer option (needs = "layer_option")')
  -- every rule up to the one that decided is in the trace, in order
  lu.assertEquals(dec.trace[1].name, "layer")
  lu.assertEquals(dec.trace[#dec.trace].name, "shared")
  -- the listing says what each rule needs
  local needs = {}
  for _, r in ipairs(e:rules()) do needs[r.name] = r.needs end
  lu.assertEquals(needs["needs-dv"], "direct_volume")
  lu.assertEquals(needs["direct-vfio"], "direct_volume")
  lu.assertEquals(needs["layer-dropped"], "layer_option")
  lu.assertNil(needs.shared)
end

function T.TestNeeds.test_bad_needs_fail_the_load_with_file_and_line()
  local cases = {
    { "rule { name = 'r', order = 1, class = 'shared', action = 'share', when = tostring,\n"
      .. "  needs = 'direct_volumes' }\n",
      ":1: rule 'r': needs must be \"direct_volume\", \"layer_option\", \"empty_dir\" or"
      .. " \"no_shared_fs\", got the string"
      .. " \"direct_volumes\" (did you mean 'direct_volume'?)" },
    { "\nrule { name = 'r', order = 1, class = 'shared', action = 'share', when = tostring,"
      .. " needs = true }\n", ":2: rule 'r': needs must be" },
    { "rule { name = 'r', order = 1, scope = 'rootfs', class = 'rootfs', action = 'share',"
      .. " when = tostring, needs = 'direct_volume' }\n", ":1: rule 'r': needs is for mount rules" },
  }
  for _, c in ipairs(cases) do
    local d = rules_dir({ ["50-x.lua"] = c[1] })
    local none, err = katamount.new({ rules_path = { d } })
    lu.assertNil(none, c[1])
    lu.assertStrContains(err, d .. "/50-x.lua" .. c[2])
  end
  -- needing the layer option of a rule set that declares no such param
  local d = rules_dir({ ["50-x.lua"] = "\n\nrule { name = 'r', order = 1, class = 'shared',"
    .. " action = 'share', when = tostring, needs = 'layer_option' }\n" })
  local none, err = katamount.new({ rules_path = { d }, bundled = false })
  lu.assertNil(none)
  lu.assertStrContains(err, d .. "/50-x.lua:3: rule 'r': needs = \"layer_option\", but no rule file"
    .. " declares the param layer_option")
  -- needing an emptyDir of a rule set without the predicate that tells one
  d = rules_dir({ ["50-x.lua"] = "rule { name = 'r', order = 1, class = 'shared',"
    .. " action = 'share', when = tostring, needs = 'empty_dir' }\n" })
  none, err = katamount.new({ rules_path = { d }, bundled = false })
  lu.assertNil(none)
  lu.assertStrContains(err, d .. "/50-x.lua:1: rule 'r': needs = \"empty_dir\", but no rule file"
    .. " defines the predicate is_empty_dir")
end

-- needs = "empty_dir": the rule set's is_empty_dir, asked once per decision
-- (the bundled emptyDir rules: ephemeral, hugepages, block-emptydir, local)
function T.TestNeeds.test_a_rule_is_tried_only_on_an_empty_dir()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "needs-ed", order = 1, class = "shared", action = "share",
      needs = "empty_dir", when = function() error("tried", 0) end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local pod = H.tmpdir("ned") .. "/pods/p/volumes"
  local plain = H.mkdir(pod .. "/kubernetes.io~configmap/c")
  local ed = H.mkdir(pod .. "/kubernetes.io~empty-dir/scratch")
  lu.assertEquals(assert(e:classify(bind(plain, "/c"))).class, "shared")
  local none, err = e:classify(bind(ed, "/scratch"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'needs-ed' (" .. d .. "/50-x.lua:1): ")
  -- explained: the bundled emptyDir rules stand where they are, not tried
  local dec = assert(e:classify(bind(plain, "/c"), { explain = true }))
  local seen = {}
  for _, t in ipairs(dec.trace) do seen[t.name] = t end
  for _, name in ipairs({ "needs-ed", "ephemeral", "hugepages", "block-emptydir", "local" }) do
    lu.assertEquals(seen[name].why, 'not tried: not a Kubernetes emptyDir (needs = "empty_dir")', name)
  end
  -- an invalid emptydir_mode fails the decision of an emptyDir, not of the others
  local bundled = assert(katamount.new({ rules_path = {} }))
  lu.assertEquals(assert(bundled:classify(bind(plain, "/c"), { emptydir_mode = "virtio-blk" })).class,
    "shared")
  lu.assertStrContains(select(2, bundled:classify(bind(ed, "/s"), { emptydir_mode = "virtio-blk" })),
    "invalid emptydir_mode 'virtio-blk'")
end

-- an is_empty_dir that fails counts as true: the rules that need it are
-- tried, and the first one fails as it did without the index
function T.TestNeeds.test_a_failing_need_tries_the_rules()
  local d = rules_dir({ ["50-x.lua"] = "predicate('is_empty_dir', function() error('broken', 0) end)\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  local src = H.mkdir(H.tmpdir("nf") .. "/pv")
  local none, err = e:classify(bind(src, "/data"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'ephemeral' (")
  lu.assertStrContains(err, "broken")
  -- one that runs away is stopped, and the rules are tried all the same
  H.write(d .. "/50-x.lua", "predicate('is_empty_dir', function() while true do end end)\n")
  assert(e:reload())
  none, err = e:classify(bind(src, "/data"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'ephemeral' (")
  lu.assertStrContains(err, "instruction budget exceeded")
end

-- needs = "no_shared_fs": the rule set's shared_fs_kind(ctx), asked once
-- per plan or classify (the bundled copy-watch, copy and dropped rules)
function T.TestNeeds.test_a_rule_is_tried_only_without_a_shared_file_system()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "needs-none", order = 1, class = "shared", action = "share",
      needs = "no_shared_fs", when = function() error("tried", 0) end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local src = H.mkdir(H.tmpdir("nsf") .. "/pv")
  lu.assertEquals(assert(e:classify(bind(src, "/data"))).class, "shared")
  lu.assertEquals(assert(e:classify(bind(src, "/data"), { shared_fs = "virtio-9p" })).class, "shared")
  for _, ctx in ipairs({ { shared_fs = "none" }, { fs_sharing_supported = false } }) do
    local none, err = e:classify(bind(src, "/data"), ctx)
    lu.assertNil(none)
    lu.assertStrContains(err, "rule 'needs-none' (" .. d .. "/50-x.lua:1): ")
  end
  -- a plan: every mount tries it (the need is the call's), each decision
  -- failing alone; the root filesystem's rules are not mount rules
  local plan, errs = e:plan({ root = { path = src }, mounts = { bind(src, "/a"),
    { source = "proc", destination = "/proc", type = "proc" } } }, { shared_fs = "none" })
  lu.assertEquals(#errs, 2, table.concat(errs, "\n"))
  lu.assertStrContains(errs[1], "mount 1 (/a): rule 'needs-none'")
  lu.assertStrContains(errs[2], "mount 2 (/proc): rule 'needs-none'")
  lu.assertEquals(plan.rootfs.class, "rootfs")
  plan, errs = e:plan({ root = { path = src }, mounts = { bind(src, "/a"),
    { source = "proc", destination = "/proc", type = "proc" } } })
  lu.assertEquals(errs, {})
  lu.assertEquals({ plan.mounts[1].class, plan.mounts[2].class }, { "shared", "passthrough" })
  -- explained: the bundled rules of copies stand where they are, not tried
  local dec = assert(e:classify(bind(src, "/data"), { explain = true }))
  local seen = {}
  for _, t in ipairs(dec.trace) do seen[t.name] = t end
  for _, name in ipairs({ "needs-none", "copy-watch", "copy", "dropped" }) do
    lu.assertEquals(seen[name].why, 'not tried: a shared file system (needs = "no_shared_fs")', name)
  end
  -- the bundled rules alone: without sharing, a bind mount is copied
  local bundled = assert(katamount.new({ rules_path = {} }))
  lu.assertEquals(assert(bundled:classify(bind(src, "/data"), { shared_fs = "none" })).action, "copy")
  lu.assertEquals(assert(bundled:classify(bind(src, "/data"))).action, "share")
  -- a shared_fs_kind that fails counts as true: the rules are tried and fail
  -- as they did (kata refuses the setting)
  local none, err = bundled:classify(bind(src, "/data"), { shared_fs = "virtio-blk" })
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'copy-watch' (")
  lu.assertStrContains(err, "invalid shared_fs 'virtio-blk'")
  -- one that runs away is stopped, and the rules are tried all the same
  H.write(d .. "/50-x.lua", "predicate('shared_fs_kind', function() while true do end end)\n")
  assert(e:reload())
  none, err = e:classify(bind(src, "/data"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'copy-watch' (")
  lu.assertStrContains(err, "instruction budget exceeded")
  -- needing it in a rule set without the predicate fails the load
  d = rules_dir({ ["50-x.lua"] = "\nrule { name = 'r', order = 1, class = 'shared',"
    .. " action = 'share', when = tostring, needs = 'no_shared_fs' }\n" })
  none, err = katamount.new({ rules_path = { d }, bundled = false })
  lu.assertNil(none)
  lu.assertStrContains(err, d .. "/50-x.lua:2: rule 'r': needs = \"no_shared_fs\", but no rule file"
    .. " defines the predicate shared_fs_kind")
end

T.TestPrefixCache = { tearDown = H.cleanup }

function T.TestPrefixCache.test_changed_after_first_use()
  local d = rules_dir({
    ["50-a.lua"] = "params.early = is_system_mount('/x/y')\n",
    ["60-b.lua"] = "table.insert(params.system_prefixes, '/x//')\n",
    ["70-c.lua"] = "params.late = is_system_mount('/x/y')\n",
  })
  local e = assert(katamount.new({ rules_path = { d } }))
  lu.assertFalse(e:params().early)
  lu.assertTrue(e:params().late)               -- changed in place while loading
  lu.assertTrue(e:is_system_mount("/x/y"))
  lu.assertFalse(e:is_system_mount("/xy"))
  H.write(d .. "/60-b.lua", "params.system_prefixes[1] = '/y'\n")
  assert(e:reload())
  lu.assertTrue(e:is_system_mount("/y/1"))
  lu.assertFalse(e:is_system_mount("/proc/1"))
  lu.assertTrue(e:is_system_mount("/sys/1"))
end

-- The kubelet's volume kinds, remembered like the prefixes: a map changed
-- in place while files load is read again; once loaded, only another map
-- (--set) is.
function T.TestPrefixCache.test_volume_kinds_changed_after_first_use()
  local cm, site = "/p/volumes/kubernetes.io~configmap/c", "/p/volumes/example.com~cm/c"
  local d = rules_dir({
    ["50-a.lua"] = ("params.early = is_config_map(%q)\n"):format(cm),
    ["60-b.lua"] = "params.kubernetes_volume_kinds.config_map = 'example.com~cm'\n",
    ["70-c.lua"] = ("params.late = is_config_map(%q)\n"):format(site),
  })
  local e = assert(katamount.new({ rules_path = { d } }))
  lu.assertEquals({ e:params().early, e:params().late }, { true, true })
  lu.assertEquals({ e:call("is_config_map", site), e:call("is_config_map", cm) }, { true, false })
  local kinds = e:params().kubernetes_volume_kinds
  kinds.config_map = "kubernetes.io~configmap"
  assert(e:set_params({ kubernetes_volume_kinds = kinds }, "--set"))
  lu.assertEquals({ e:call("is_config_map", site), e:call("is_config_map", cm) }, { false, true })
end

T.TestTrust = { tearDown = H.cleanup }

function T.TestTrust.test_writable_by_others_is_refused()
  local d = rules_dir({ ["50-x.lua"] = "params.x = 1\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  for _, c in ipairs({
    { "chmod o+w " .. H.q(d .. "/50-x.lua"), "rules file '" .. d .. "/50-x.lua': group- or world-wr" },
    { "chmod g+w " .. H.q(d .. "/50-x.lua"), "rules file '" .. d .. "/50-x.lua': group- or world-wr" },
    { "chmod o+w " .. H.q(d), "rules directory '" .. d .. "': group- or world-writable" },
    { "chmod g+w " .. H.q(d), "rules directory '" .. d .. "': group- or world-writable" },
  }) do
    H.sh(c[1])
    local none, err = katamount.new({ rules_path = { d } })
    lu.assertNil(none, c[1])
    lu.assertStrContains(err, c[2])
    local ok, rerr = e:reload()
    lu.assertNil(ok)
    lu.assertEquals(rerr, err)
    H.sh("chmod go-w " .. H.q(d) .. " " .. H.q(d .. "/50-x.lua"))
    assert(katamount.new({ rules_path = { d } }))
  end
end

function T.TestTrust.test_owned_by_another_user_is_refused()
  H.need_root()
  local d = rules_dir({ ["50-x.lua"] = "params.x = 1\n" })
  H.sh("chown 65534 " .. H.q(d .. "/50-x.lua"))
  local none, err = katamount.new({ rules_path = { d } })
  lu.assertNil(none)
  lu.assertStrContains(err, "rules file '" .. d .. "/50-x.lua': owned by uid 65534")
  H.sh("chown 0 " .. H.q(d .. "/50-x.lua") .. " && chown 65534 " .. H.q(d))
  none, err = katamount.new({ rules_path = { d } })
  lu.assertNil(none)
  lu.assertStrContains(err, "rules directory '" .. d .. "': owned by uid 65534")
  H.sh("chown 0 " .. H.q(d))
  assert(katamount.new({ rules_path = { d } }))
end

-- The bundled rules ship beside the engine's own code: whoever can write
-- them can write the engine, so they are not checked (a checkout made with
-- umask 002 is group-writable and must still work). Operator directories
-- are still checked in the same engine.
function T.TestTrust.test_group_writable_bundled_copy_still_loads()
  local d = H.tmpdir("bundled")
  H.sh("cp -r " .. H.q(H.root .. "/lua") .. " " .. H.q(H.root .. "/rules") .. " " .. H.q(d)
    .. " && chmod -R g+w " .. H.q(d))
  lu.assertStrContains(H.sh("stat -c %A " .. H.q(d .. "/rules") .. " " .. H.q(d .. "/rules/20-system.lua")),
    "rwxrwx")
  local op = rules_dir({ ["50-x.lua"] = "params.x = 1\n" })
  local out, ok = lua_run([[
    local k = require("katamount")
    local r = k.rules()
    print(#r, r[1].file, k.classify({ source = "/proc/1", destination = "/p", type = "bind" }).class)
    local e, err = k.new({ rules_path = { ]] .. ("%q"):format(op) .. [[ } })
    print(e and e:params().x, err)
    os.execute("chmod g+w ]] .. op .. [[")
    e, err = k.new({ rules_path = { ]] .. ("%q"):format(op) .. [[ } })
    print(e, err)
  ]], nil, d, d .. "/lua")
  lu.assertTrue(ok, out)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  lu.assertEquals(lines[1], ("27\t%s/rules/10-layers.lua\tsystem"):format(core.realpath(d)))
  lu.assertEquals(lines[2], "1\tnil")
  lu.assertEquals(lines[3], ("nil\trules directory '%s': group- or world-writable (mode 775): refused")
    :format(op))
end

function T.TestTrust.test_euid()
  lu.assertEquals(loader.euid(), tonumber(H.sh("id -u")))
end

return T
