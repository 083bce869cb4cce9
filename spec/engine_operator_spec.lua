-- engine_operator_spec.lua -- the mistakes an operator makes editing rules
-- (issue 13), each caught with a message naming file:line: a param typo
-- (a warning naming the closest declared param), a value of the wrong type
-- (a load error), `when` answering something else than a boolean, a
-- misspelled class or action, an empty file over a bundled one, an
-- undefined predicate; and the declarations that make intent explicit
-- (`param`, `declare`, `disable`).
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")
local loader = require("katamount.loader")

local T = {}

local bind = H.bind_mount

local function rules_dir(files) return H.rules_dir(files, "operator") end

local function new(files)
  local d = rules_dir(files)
  local e, err = katamount.new({ rules_path = { d } })
  return e, err, d
end

-- The warnings of `e` whose `what` contains `part`.
local function warnings_about(e, part)
  local out = {}
  for _, w in ipairs(e:warnings()) do
    if w.what:find(part, 1, true) then out[#out + 1] = w end
  end
  return out
end

T.TestParams = { tearDown = H.cleanup }

-- The bundled rules declare every param they use: a load of the bundled
-- rules alone warns about nothing.
function T.TestParams.test_bundled_rules_declare_their_params()
  local e = assert(katamount.new({ rules_path = {} }))
  lu.assertEquals(e:warnings(), {})
  local info = e:param_info()
  lu.assertEquals(info.watchable_max_files.type, "integer")
  lu.assertEquals(info.watchable_max_files.default, 8)
  lu.assertStrContains(info.watchable_max_files.doc, "copied and watched")
  lu.assertStrContains(info.watchable_max_files.file, "/70-watchable.lua")
  lu.assertEquals(info.system_prefixes.type, "list")
  lu.assertEquals(info.kubernetes_volume_kinds.type, "map")
  for name, d in pairs(info) do
    lu.assertNotEquals(d.doc, "", name)
    lu.assertTrue(d.line > 0, name)
  end
end

-- A typo in a param's name is a warning naming file:line and the closest
-- declared name; the value still lands where it was written.
function T.TestParams.test_a_misspelled_param_is_named_with_the_closest()
  local e, err, d = new({ ["50-tune.lua"] = "-- more watched files\n\nparams.watchable_max_file = 16\n" })
  assert(e, err)
  local w = warnings_about(e, "watchable_max_file'")
  lu.assertEquals(#w, 1)
  lu.assertEquals(w[1].file, d .. "/50-tune.lua")
  lu.assertEquals(w[1].line, 3)
  lu.assertEquals(w[1].what, "param 'watchable_max_file' is not declared")
  lu.assertStrContains(w[1].why, "did you mean 'watchable_max_files'?")
  lu.assertStrContains(w[1].why, "/70-watchable.lua:")
  -- the limit did not change
  lu.assertEquals(e:params().watchable_max_files, 8)
  -- a name far from every declared one gets the way to declare it
  e = assert(new({ ["50-tune.lua"] = "params.completely_unrelated_thing = 1\n" }))
  w = warnings_about(e, "completely_unrelated_thing")
  lu.assertEquals(#w, 1)
  lu.assertStrContains(w[1].why, "param { name = ..., type = ..., default = ..., doc = ... }")
end

-- A value of the wrong type is a load error naming file:line, the param,
-- what it expects and what it got; reload keeps the last good rules.
function T.TestParams.test_a_value_of_the_wrong_type_fails_the_load()
  local cases = {
    { "params.disable_guest_empty_dir = \"false\"\n",
      ":1: param 'disable_guest_empty_dir' expects true or false, got the string \"false\"" },
    { "\nparams.watchable_max_files = \"8\"\n",
      ":2: param 'watchable_max_files' expects an integer, got the string \"8\"" },
    { "params.watchable_max_files = 8.5\n",
      ":1: param 'watchable_max_files' expects an integer, got the number 8.5" },
    { "params.system_prefixes = \"/proc\"\n",
      ":1: param 'system_prefixes' expects a list of strings, got the string \"/proc\"" },
    { "params.system_prefixes = { \"/proc\", 7 }\n",
      ":1: param 'system_prefixes' expects a list of strings, got a table" },
    { "params.kubernetes_volume_kinds = { \"kubernetes.io~secret\" }\n",
      ":1: param 'kubernetes_volume_kinds' expects a table of strings keyed by strings, got a table" },
    { "params.sysfs_root = false\n", ":1: param 'sysfs_root' expects a string, got false" },
    -- a number out of its declared range (min = 1, max = 4096: the core's
    -- tree_size bound) fails the load, not every watched mount's decision
    { "params.watchable_max_entries = 0\n",
      ":1: param 'watchable_max_entries' is from 1 to 4096, got the integer 0" },
    { "params.watchable_max_entries = 5000\n",
      ":1: param 'watchable_max_entries' is from 1 to 4096, got the integer 5000" },
    { "params.watchable_max_bytes = -1\n",
      ":1: param 'watchable_max_bytes' is at least 0, got the integer -1" },
  }
  local d = rules_dir({ ["50-tune.lua"] = "params.watchable_max_files = 4\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  for _, c in ipairs(cases) do
    H.write(d .. "/50-tune.lua", c[1])
    local ok, err = e:reload()
    lu.assertNil(ok, c[1])
    lu.assertStrContains(err, d .. "/50-tune.lua" .. c[2])
    lu.assertEquals(e:params().watchable_max_files, 4, c[1])
  end
end

-- A list param changed in place to hold a wrong value is caught once
-- every file ran, naming where the param was last set.
function T.TestParams.test_a_list_changed_in_place_is_checked_after_the_load()
  local _, err, d = new({ ["50-tune.lua"] = "table.insert(params.system_prefixes, 42)\n" })
  lu.assertStrContains(err, "param 'system_prefixes' expects a list of strings, got a table")
  lu.assertStrContains(err, "/20-system.lua:")
  lu.assertNotStrContains(err, d)
  -- a string added in place is fine
  local e = assert(new({ ["50-tune.lua"] = "table.insert(params.system_prefixes, '/run/host')\n" }))
  lu.assertEquals(e:params().system_prefixes, { "/proc", "/sys", "/run/host" })
  lu.assertEquals(e:warnings(), {})
end

-- An operator declares params of their own; `values` limits a string.
function T.TestParams.test_params_of_the_operators_own()
  local e, err, d = new({ ["50-mine.lua"] = [[
param { name = "guest_tmpfs_size", type = "string", default = "64m", doc = "size of my tmpfs" }
param { name = "mode", type = "string", default = "fast", values = { "fast", "safe" }, doc = "how" }
params.guest_tmpfs_size = "128m"
]] })
  assert(e, err)
  lu.assertEquals(e:params().guest_tmpfs_size, "128m")
  lu.assertEquals(e:warnings(), {})
  lu.assertEquals(e:param_info().mode.values, { "fast", "safe" })
  lu.assertEquals({ e:param_info().watchable_max_entries.min, e:param_info().watchable_max_entries.max },
    { 1, 4096 })
  H.write(d .. "/60-more.lua", "params.mode = 'fastest'\n")
  local ok, rerr = e:reload()
  lu.assertNil(ok)
  lu.assertStrContains(rerr, d .. "/60-more.lua:1: param 'mode' is one of fast, safe,"
    .. " got the string \"fastest\"")
  -- the declaration itself is checked
  for _, c in ipairs({
    { "param { name = 'x', type = 'bool', default = true, doc = 'x' }",
      ":1: param 'x': type must be one of" },
    { "param { name = 'x', type = 'integer', default = '1', doc = 'x' }",
      ":1: param 'x' expects an integer, got the string \"1\" as its default" },
    { "param { name = 'x', type = 'integer', default = 1 }",
      ":1: param 'x': doc must be a non-empty string" },
    { "param { name = 'not a name', type = 'integer', default = 1, doc = 'x' }",
      ":1: param: the name must be an identifier" },
    { "param { name = 'x', type = 'integer', default = 1, doc = 'x', values = { 1 } }",
      ":1: param 'x': values is a non-empty list of strings, for a string param" },
    { "param { name = 'x', type = 'string', default = 'a', doc = 'x', min = 1 }",
      ":1: param 'x': min and max are numbers, for an integer or number param" },
    { "param { name = 'x', type = 'integer', default = 1, doc = 'x', max = '9' }",
      ":1: param 'x': min and max are numbers, for an integer or number param" },
    { "param { name = 'x', type = 'integer', default = 0, doc = 'x', min = 1, max = 9 }",
      ":1: param 'x' is from 1 to 9, got the integer 0 as its default" },
  }) do
    H.write(d .. "/60-more.lua", c[1] .. "\n")
    ok, rerr = e:reload()
    lu.assertNil(ok, c[1])
    lu.assertStrContains(rerr, d .. "/60-more.lua" .. c[2])
  end
end

-- set_params (the command's --set): declared params only, checked by
-- type, all or nothing; rules reading `params` see them; a reload starts
-- from the files again.
function T.TestParams.test_set_params_is_checked_and_all_or_nothing()
  local e = assert(katamount.new({ rules_path = {} }))
  local ok, err = e:set_params({ watchable_max_files = 2, system_prefixes = "/srv" }, "--set")
  lu.assertNil(ok)
  lu.assertStrContains(err, "param 'system_prefixes' expects a list of strings, got the string \"/srv\"")
  lu.assertEquals(e:params().watchable_max_files, 8) -- nothing was set
  ok, err = e:set_params({ watchable_max_fils = 2 })
  lu.assertNil(ok)
  lu.assertStrContains(err, "did you mean 'watchable_max_files'?")
  assert(e:set_params({ system_prefixes = { "/srv" } }, "--set"))
  lu.assertEquals(e:param_sources().system_prefixes, "--set")
  lu.assertEquals(e:classify(bind("/srv/x", "/x")).class, "system")
  lu.assertEquals(e:classify(bind("/proc/1", "/p")).class, "shared")
  assert(e:reload())
  lu.assertEquals(e:classify(bind("/proc/1", "/p")).class, "system")
  lu.assertErrorMsgContains("table expected", e.set_params, e, "x=1")
end

T.TestRules = { tearDown = H.cleanup }

-- `when` answering a string (or a count, a table) is an error naming the
-- rule and its file:line, never a match; the other mounts go on.
function T.TestRules.test_when_must_answer_a_boolean()
  local e, err, d = new({ ["50-odd.lua"] = [[
rule { name = "stringly", order = 1, class = "shared", action = "share",
  when = function(m)
    if m.destination == "/s" then return "false" end
    if m.destination == "/n" then return 0 end
    return nil
  end }
]] })
  assert(e, err)
  local none, cerr = e:classify(bind("/tmp", "/s"))
  lu.assertNil(none)
  lu.assertStrContains(cerr, "rule 'stringly' (" .. d .. "/50-odd.lua:1): when must return true, false"
    .. " or nil, got the string \"false\"")
  none, cerr = e:classify(bind("/tmp", "/n"))
  lu.assertNil(none)
  lu.assertStrContains(cerr, "got a number")
  -- explaining says the same
  none, cerr = e:classify(bind("/tmp", "/s"), { explain = true })
  lu.assertNil(none)
  lu.assertStrContains(cerr, "got the string \"false\"")
  -- nil is no match
  lu.assertEquals(e:classify(bind("/tmp", "/other")).class, "shared")
  lu.assertEquals(e:classify(bind("/tmp", "/other")).rule, "shared")
end

-- A misspelled class or action is a warning naming the rule's file:line
-- and the closest known one; declaring it is how an operator says it is
-- meant.
function T.TestRules.test_a_misspelled_class_is_named()
  local e, err, d = new({ ["50-mine.lua"] = [[

rule { name = "mine", order = 1, class = "shraed", action = "share",
  when = function(m) return m.destination == "/mine" end }
]] })
  assert(e, err)
  local w = warnings_about(e, "unknown class")
  lu.assertEquals(#w, 1)
  lu.assertEquals({ w[1].file, w[1].line, w[1].what }, { d .. "/50-mine.lua", 2,
    "rule 'mine': unknown class 'shraed'" })
  lu.assertStrContains(w[1].why, "did you mean 'shared'?")
  lu.assertEquals(#warnings_about(e, "unknown action"), 0)
  -- declared: no warning
  e = assert(new({ ["50-mine.lua"] = [[
declare("class", "quarantine", "the runtime refuses the container")
declare("action", "refuse", "the runtime refuses the container")
rule { name = "mine", order = 1, class = "quarantine", action = "refuse",
  when = function(m) return m.destination == "/mine" end }
]] }))
  lu.assertEquals(e:warnings(), {})
  lu.assertEquals(e:classify(bind("/tmp", "/mine")).class, "quarantine")
  local _, derr = new({ ["50-mine.lua"] = "declare('klass', 'x', 'y')\n" })
  lu.assertStrContains(derr, "/50-mine.lua:1: declare: the kind is \"class\" or \"action\"")
  _, derr = new({ ["50-mine.lua"] = "declare('class', 'x')\n" })
  lu.assertStrContains(derr, "/50-mine.lua:1: declare class 'x': say what it means for a runtime")
end

-- A predicate nobody defined fails the rule that calls it with its name
-- (a rule file's own top level fails the load), never a silent nil.
function T.TestRules.test_an_undefined_predicate_is_named()
  local e, err, d = new({ ["50-typo.lua"] = [[
rule { name = "typo", order = 1, class = "shared", action = "share",
  when = function(m)
    return is_confg_map(m.source)
  end }
]] })
  assert(e, err)
  local none, cerr = e:classify(bind("/tmp", "/x"))
  lu.assertNil(none)
  lu.assertStrContains(cerr, "rule 'typo' (" .. d .. "/50-typo.lua:1): " .. d
    .. "/50-typo.lua:3: 'is_confg_map' is not defined")
  local _, lerr = new({ ["50-typo.lua"] = "\nlocal x = is_sytem_mount('/proc')\n" })
  lu.assertStrContains(lerr, "/50-typo.lua:2: 'is_sytem_mount' is not defined")
end

T.TestOverrides = { tearDown = H.cleanup }

-- An empty file over the bundled 20-system.lua would drop the system rule
-- silently: the load fails, saying how to remove it on purpose.
function T.TestOverrides.test_an_empty_file_over_a_safety_rule_fails()
  local bundled = assert(loader.bundled_dir())
  for _, text in ipairs({ "", "-- nothing here\n", "params.system_prefixes = { '/proc' }\n" }) do
    local e, err, d = new({ ["20-system.lua"] = text })
    lu.assertNil(e, text)
    lu.assertStrContains(err, d .. "/20-system.lua: replaces the bundled " .. bundled
      .. "/20-system.lua, whose safety rule 'system' it does not define")
    lu.assertStrContains(err, "disable(\"system\", \"why\")")
  end
  -- and the same for 60-devices.lua's host-device rule
  local _, err = new({ ["60-devices.lua"] = "" })
  lu.assertStrContains(err, "safety rule 'host-device'")
end

-- Removing a safety rule takes disable(name, reason); the reason is in
-- every load's warnings. `disabled = true` does not remove a safety rule.
function T.TestOverrides.test_disable_says_why()
  local e, err, d = new({ ["20-system.lua"] = [[
predicate("is_system_mount", function() return false end)
disable("system", "this node's guests see the host's /proc on purpose (debugging)")
]] })
  assert(e, err)
  local w = warnings_about(e, "disabled")
  lu.assertEquals(w, { { file = d .. "/20-system.lua", line = 2, what = "rule 'system' disabled",
    why = "this node's guests see the host's /proc on purpose (debugging)" } })
  lu.assertEquals(e:classify(bind("/proc/1", "/p")).class, "shared")
  -- in a file of another name, over the bundled rule
  e = assert(new({ ["90-off.lua"] = "disable('host-device', 'devices are checked by our admission')\n" }))
  lu.assertEquals(#warnings_about(e, "rule 'host-device' disabled"), 1)
  lu.assertEquals(e:classify(bind("/dev/null", "/n")).class, "shared")
  -- without a reason
  local _, derr = new({ ["90-off.lua"] = "disable('system')\n" })
  lu.assertStrContains(derr, "/90-off.lua:1: disable 'system': give the reason")
  _, derr = new({ ["90-off.lua"] = "rule { name = 'system', disabled = true }\n" })
  lu.assertStrContains(derr, "/90-off.lua:1: rule 'system' is a safety rule")
end

-- A replacement that defines the safety rule again is fine; the other
-- rules it drops are named in a warning.
function T.TestOverrides.test_a_replacement_names_the_rules_it_drops()
  local e, err, d = new({ ["30-kubernetes.lua"] = [[
param { name = "kubernetes_volume_kinds", type = "map", default = {}, doc = "none" }
predicate("is_empty_dir", function() return false end)
predicate("is_config_map", function() return false end)
predicate("is_secret", function() return false end)
predicate("is_projected", function() return false end)
predicate("is_downward_api", function() return false end)
predicate("is_ephemeral_storage", function() return false end)
predicate("is_hugepage_empty_dir", function() return false end)
predicate("is_host_empty_dir", function() return false end)
rule { name = "ephemeral", order = 200, class = "ephemeral", action = "guest-tmpfs",
  when = function() return false end }
]] })
  assert(e, err)
  local w = warnings_about(e, "rules gone")
  lu.assertEquals(#w, 1)
  lu.assertEquals(w[1].file, d .. "/30-kubernetes.lua")
  lu.assertEquals(w[1].what, "rules gone: 'hugepages', 'block-emptydir', 'local'")
  lu.assertEquals(#warnings_about(e, "replaces"), 1)
  -- a 20-system.lua that keeps the rule (another prefix list) loads quietly
  e = assert(new({ ["20-system.lua"] = [[
param { name = "system_prefixes", type = "list", default = { "/proc" }, doc = "only /proc" }
predicate("is_system_mount", function(p) return p == "/proc" or p:sub(1, 6) == "/proc/" end)
rule { name = "system", order = 100, safety = true, class = "system", action = "skip",
  when = function(m) return is_system_mount(m.source) end }
]] }))
  lu.assertEquals(#warnings_about(e, "rules gone"), 0)
  lu.assertEquals(e:classify(bind("/proc/1", "/p")).class, "system")
end

return T
