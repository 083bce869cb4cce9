-- engine_sandbox_spec.lua -- the rule sandbox: each forbidden thing tried,
-- the instruction budget, rule errors that fail one decision only, the
-- host's hook and string metatable restored, and _G hygiene.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

local T = {}

local BUILD = os.getenv("KATAMOUNT_BUILD") or "build"
-- H.run drops LD_PRELOAD; a sanitized core needs its runtime preloaded
local PRELOAD = os.getenv("LD_PRELOAD")
PRELOAD = PRELOAD and ("LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(H.q(PRELOAD)) or ""
if BUILD:sub(1, 1) ~= "/" then BUILD = H.root .. "/" .. BUILD end

local function rules_dir(files) return H.rules_dir(files, "sbx") end

local function load_error(src, opts)
  local d = rules_dir({ ["50-try.lua"] = src })
  opts = opts or {}
  opts.rules_path = { d }
  local e, err = katamount.new(opts)
  lu.assertNil(e, "loaded: " .. src)
  lu.assertStrContains(err, d .. "/50-try.lua:")
  return err
end

local bind = H.bind_mount

T.TestForbidden = { tearDown = H.cleanup }

function T.TestForbidden.test_each_forbidden_thing_fails_at_load()
  local marker = H.tmpdir("marker") .. "/touched"
  local cases = {
    { "io.open('/etc/passwd')", "'io' is not defined" },
    { "os.execute('touch " .. marker .. "')", "field 'execute'" },
    { "os.remove('" .. marker .. "')", "field 'remove'" },
    { "os.rename('a', 'b')", "field 'rename'" },
    { "os.exit(1)", "field 'exit'" },
    { "os.getenv('HOME')", "field 'getenv'" },
    { "require('io')", "'require' is not defined" },
    { "load('return 1')", "'load' is not defined" },
    { "loadfile('/etc/passwd')", "'loadfile' is not defined" },
    { "dofile('/etc/passwd')", "'dofile' is not defined" },
    { "debug.sethook()", "'debug' is not defined" },
    { "string.dump(function() end)", "field 'dump'" },
    { "local s = ''\ns.dump(function() end)", "field 'dump'" },
    { "local s = ''\nreturn s:dump()", "method 'dump'" },
    { "return _G.io", "'_G' is not defined" },
    { "return package.loaded.io", "'package' is not defined" },
    { "collectgarbage()", "'collectgarbage' is not defined" },
    { "print('x')", "'print' is not defined" },
    { "rawset(params, 'x', 1)", "'rawset' is not defined" },
    { "coroutine.wrap(print)", "'coroutine' is not defined" },
    { "core.ensure_destination('/tmp', '" .. marker .. "')", "field 'ensure_destination'" },
    { "math.randomseed(1)", "field 'randomseed'" },
    -- the shared string metatable is out of reach
    { "return getmetatable('').__index", "attempt to index a nil value" },
    { "local s = ''\ns.upper = nil", "attempt to index a string value" },
    -- its own environment's metatable is protected
    { "setmetatable(_ENV, {})", "cannot change a protected metatable" },
    { "return getmetatable(_ENV).__index", "attempt to index a boolean value" },
    -- the core's userdata metatables are shared with the engine
    { "return getmetatable(core.mounts()).__index", "attempt to index a nil value" },
    -- finalizers would run outside the budget
    { "setmetatable({}, { __gc = function() end })", "__gc is not allowed" },
    -- string.rep is bounded
    { "return ('x'):rep(1 << 30)", "string.rep: result longer than" },
    { "return string.rep('ab', 1 << 29, ',')", "string.rep: result longer than" },
  }
  for _, c in ipairs(cases) do
    local err = load_error(c[1] .. "\n")
    lu.assertStrContains(err, c[2])
  end
  lu.assertNil(io.open(marker), "a forbidden call had an effect")
end

function T.TestForbidden.test_forbidden_things_fail_in_a_rule_too()
  local d = rules_dir({ ["50-try.lua"] = [[
    rule { name = "escape", order = 1, class = "x", action = "y",
      when = function(m)
        if m.destination == "/io" then return io.open("/etc/passwd") end
        if m.destination == "/dump" then return ("").dump(tostring) end
        return false
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local none, err = e:classify(bind("/tmp", "/io"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'escape' (" .. d .. "/50-try.lua:1): " .. d .. "/50-try.lua:3:")
  lu.assertStrContains(err, "'io' is not defined")
  none, err = e:classify(bind("/tmp", "/dump"))
  lu.assertNil(none)
  lu.assertStrContains(err, "field 'dump'")
  lu.assertEquals(e:classify(bind("/tmp", "/ok")).class, "shared")
end

-- What a rule file sees: the allow-list and the rule API, nothing else.
function T.TestForbidden.test_the_environment_is_the_allow_list()
  local d = rules_dir({ ["50-env.lua"] = [[
    local names = {}
    for k in pairs(_ENV) do names[#names + 1] = k end
    table.sort(names)
    params.env_names = table.concat(names, " ")
    local fields = {}
    for _, lib in ipairs({ "string", "table", "os", "core" }) do
      local t = {}
      for k in pairs(_ENV[lib]) do t[#t + 1] = k end
      table.sort(t)
      fields[#fields + 1] = lib .. ": " .. table.concat(t, " ")
    end
    params.env_fields = fields
    params.predicate_visible = type(is_system_mount) == "function"
  ]] })
  local p = assert(katamount.new({ rules_path = { d } })):params()
  lu.assertEquals(p.env_names, table.concat({ "_VERSION", "assert", "core", "count_files",
    "declare", "device_for_path", "disable", "error", "getmetatable", "guest", "ipairs", "math",
    "mount_entry",
    "next", "os",
    "pairs", "param", "params", "pcall", "predicate", "rawequal", "rawget", "rawlen", "rule", "select",
    "setmetatable", "string", "table", "tonumber", "tostring", "type", "utf8", "xpcall" }, " "))
  lu.assertEquals(p.env_fields, {
    "string: byte char find format gmatch gsub len lower match pack packsize rep reverse sub unpack upper",
    "table: concat insert move pack remove sort unpack",
    "os: clock date difftime time",
    "core: _VERSION base base64url block_device clean count_files device_for_path fnv1a64 fs_type has_option "
      .. "is_mount_point join list_dir lstat major minor mount_entry mounts path_under realpath starts_with "
      .. "stat tree_size",
  })
  lu.assertTrue(p.predicate_visible)
end

-- `type` in the rule state (its answers made once, c/ruleruntime.c) names
-- each type as the base library's does, and raises without an argument.
function T.TestForbidden.test_type_answers_as_the_base_library()
  local d = rules_dir({ ["50-type.lua"] = [[
    params.types = { type(nil), type(false), type(0), type(0.5), type(""), type({}), type(type),
      type(core.stat), type(params.nothing_here) }
    local ok, err = pcall(type)
    params.no_arg = { ok, err }
    params.same_string = type("x") == "string" and rawequal(type("x"), "string")
  ]] })
  local p = assert(katamount.new({ rules_path = { d } })):params()
  lu.assertEquals(p.types, { "nil", "boolean", "number", "number", "string", "table", "function",
    "function", "nil" })
  lu.assertFalse(p.no_arg[1])
  lu.assertStrContains(p.no_arg[2], "bad argument #1 to 'type' (value expected)")
  lu.assertTrue(p.same_string)
  -- the rules' type is not the host's: the host's global is untouched
  lu.assertEquals(type(type), "function")
  lu.assertEquals(type(nil), "nil")
end

-- One file's changes to its libraries stay in that file.
function T.TestForbidden.test_libraries_are_per_file_copies()
  local d = rules_dir({
    ["50-a.lua"] = "string.upper = nil\ntable.insert = nil\nmath.floor = nil\ncore.stat = nil\n",
    ["60-b.lua"] = "params.b = string.upper('x') .. math.floor(1.5) .. type(core.stat)\n"
      .. "table.insert(params.system_prefixes, '/b')\n",
  })
  local e = assert(katamount.new({ rules_path = { d } }))
  lu.assertEquals(e:params().b, "X1function")
  lu.assertNotNil(string.upper)
  lu.assertNotNil(table.insert)
  lu.assertNotNil(require("katamount.core").stat)
  lu.assertEquals(e:classify(bind("/tmp")).class, "shared")
end

function T.TestForbidden.test_host_string_metatable_and_hook_are_restored()
  local mt = debug.getmetatable("")
  local before = mt.__index
  local calls = 0
  local function host_hook() calls = calls + 1 end
  debug.sethook(host_hook, "", 1000000000)
  local d = rules_dir({ ["50-x.lua"] = "params.len = ('abc'):len()\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  e:classify(bind("/tmp"))
  e:plan({ root = { path = "/tmp" }, mounts = { bind("/tmp") } })
  e:reload()
  e:is_system_mount("/proc")
  local hook, mask, count = debug.gethook()
  debug.sethook()
  lu.assertIs(hook, host_hook)
  lu.assertEquals({ mask, count }, { "", 1000000000 })
  lu.assertIs(mt.__index, before)
  lu.assertIs(before, string)
  lu.assertIsFunction(("").dump)
  lu.assertEquals(e:params().len, 3)
end

-- What rules do at evaluation time stays in that decision.
function T.TestForbidden.test_no_redefinition_or_tampering_at_evaluation()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "redefine", order = 1, class = "x", action = "y",
      when = function(m)
        if m.destination == "/rule" then rule { name = "late", order = 0, class = "a", action = "b",
          when = function() return true end } end
        if m.destination == "/predicate" then predicate("is_system_mount", function() return true end) end
        if m.destination == "/entry" then mount_entry("/proc").fstype = "tmpfs" end
        return false
      end }
    -- params is a view with a protected metatable: no __pairs trap for the host
    assert(not pcall(setmetatable, params, { __pairs = function() while true do end end }))
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local none, err = e:classify(bind("/tmp", "/rule"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule: rules are defined only while their file loads")
  none, err = e:classify(bind("/tmp", "/predicate"))
  lu.assertNil(none)
  lu.assertStrContains(err, "predicate: rules are defined only while their file loads")
  -- facts are read-only: writing one fails that decision, and nothing changed
  none, err = e:classify(bind("/tmp", "/entry"))
  lu.assertNil(none)
  lu.assertStrContains(err, d .. "/50-x.lua:6: facts are read-only")
  lu.assertEquals(e:classify(bind("/tmp", "/ok")).class, "shared")
  lu.assertEquals(e:mount_entry("/proc").fstype, "proc")
  lu.assertFalse(e:is_system_mount("/tmp"))
  -- the engine reads params raw: the rules' __pairs never runs in host code
  lu.assertEquals(e:params().watchable_max_files, 8)
end

-- A rule's mount is its own: options it scribbles on reach neither the
-- decision nor the caller's spec, and the decision's options are a copy of
-- the caller's list (read once, as ipairs reads it, even through __index).
function T.TestForbidden.test_options_scribbled_by_a_rule_stay_in_the_rule()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "scribble", order = 1, class = "x", action = "y",
      when = function(m)
        m.options[1] = "scribbled"
        m.options[#m.options + 1] = "added"
        m.source = "/elsewhere"
        return false
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local mount = bind("/tmp", "/a")
  local want = { table.unpack(mount.options) }
  local got = assert(e:classify(mount))
  lu.assertEquals(got.class, "shared")
  lu.assertEquals(got.source, "/tmp")
  lu.assertEquals(got.options, want)
  lu.assertEquals(mount.options, want)
  lu.assertNotIs(got.options, mount.options)
  local p, errs = e:plan({ root = { path = "/tmp" }, mounts = { mount, bind("/tmp", "/b") } })
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.mounts[1].options, p.mounts[2].options }, { want, want })
  lu.assertEquals(mount.options, want)
  -- a list behind __index: each element read once, up to the first nil
  local reads = {}
  local list = setmetatable({}, { __index = function(_, i)
    reads[i] = (reads[i] or 0) + 1
    return want[i]
  end })
  got = assert(e:classify({ source = "/tmp", destination = "/c", type = "bind", options = list }))
  lu.assertEquals(got.options, want)
  for i = 1, #want + 1 do lu.assertEquals(reads[i], 1, i) end
  local none, err = e:classify({ source = "/tmp", destination = "/d", options = { "rbind", 7 } })
  lu.assertNil(none)
  lu.assertEquals(err, "mount option 2 must be a string, got number")
end

-- What the root filesystem's rules learn of its layers and parts is
-- read-only too (frozen in place, as facts are).
function T.TestForbidden.test_layers_and_parts_of_the_rootfs_are_read_only()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "probe", order = 1, scope = "rootfs", class = "rootfs", action = "share",
      when = function(m)
        local ok1, e1 = pcall(function() m.layers[1] = "x" end)
        local ok2, e2 = pcall(function() m.parts[1].source = "/elsewhere" end)
        local ok3 = pcall(function() m.parts[1].options[1] = "rw" end)
        return true, { tostring(ok1) .. " " .. e1, tostring(ok2) .. " " .. e2, tostring(ok3),
          m.parts[1].source, m.parts[1].options[1], tostring(#m.parts) }
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local p, errs = e:plan({ mounts = {} }, { rootfs = {
    { source = "/a", type = "overlay", options = { "ro" } },
    { source = "/b", type = "overlay", options = { "ro" } } } })
  lu.assertEquals(errs, {})
  local r = p.rootfs.reasons
  lu.assertStrContains(r[1], "false ")
  lu.assertStrContains(r[1], "facts are read-only")
  lu.assertStrContains(r[2], "facts are read-only")
  lu.assertEquals({ r[3], r[4], r[5], r[6] }, { "false", "/a", "ro", "2" })
end

-- The one-path facts a decision remembers (facts.lua's MEMO1 and
-- device_for_path) are frozen without a walk for nested tables
-- (runtime.memoizer's `flat`): each answers a string, a boolean, or a table
-- holding no table, and each table answer is a read-only view all the same.
function T.TestForbidden.test_remembered_facts_are_flat_and_read_only()
  local dir = H.tmpdir("flat")
  H.write(dir .. "/f", "x")
  local d = rules_dir({ ["50-x.lua"] = ([[
    local DIR = %q
    rule { name = "probe", order = -1, class = "x", action = "y",
      when = function(m)
        if m.destination ~= "/probe" then return false end
        local out = {}
        for _, ask in ipairs({ { "stat", DIR }, { "lstat", DIR .. "/f" }, { "realpath", DIR },
            { "fs_type", DIR }, { "is_mount_point", DIR }, { "list_dir", DIR },
            { "device_for_path", DIR } }) do
          local v = core[ask[1] ](ask[2])
          local shape = type(v)
          if shape == "table" then
            for _, x in pairs(v) do
              if type(x) == "table" then shape = "nested" end
            end
            local written = pcall(function() v.poisoned = true end)
            shape = shape .. (written and " written" or " read-only")
          end
          out[#out + 1] = ask[1] .. " " .. shape
        end
        return true, out
      end }
  ]]):format(dir) })
  local e = assert(katamount.new({ rules_path = { d } }))
  local p, errs = e:plan({ root = { path = dir }, mounts = { bind(dir, "/probe") } })
  lu.assertEquals(errs, {})
  lu.assertEquals(p.mounts[1].reasons, { "stat table read-only", "lstat table read-only",
    "realpath string", "fs_type string", "is_mount_point boolean", "list_dir table read-only",
    "device_for_path table read-only" })
end

-- has_option (the core's, in C) reads what the rule sees: an option a rule
-- wrote on its mount is there for that rule, gone for the next one.
function T.TestForbidden.test_has_option_sees_what_the_rule_wrote()
  local d = rules_dir({ ["50-x.lua"] = [[
    rule { name = "writer", order = 1, class = "x", action = "y",
      when = function(m)
        local before = has_option(m.options, "marker")
        m.options[#m.options + 1] = "marker"
        m.options[1] = "first"
        if before or not has_option(m.options, "marker") or not has_option(m.options, "first") then
          return true, "has_option missed a write"
        end
        return false
      end }
    rule { name = "reader", order = 2, class = "x", action = "z",
      when = function(m)
        if has_option(m.options, "marker") or has_option(m.options, "first") then
          return true, "a write of the rule before reached this one"
        end
        return has_option(m.options, "rbind") and has_option(m.options, "ro"), "unchanged"
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local got = assert(e:classify(bind("/tmp", "/a", { "ro" })))
  lu.assertEquals({ got.rule, got.reasons }, { "reader", { "unchanged" } })
end

-- What a rule returns is read raw: none of its metamethods runs in host code.
function T.TestForbidden.test_results_are_read_raw()
  local d = rules_dir({ ["50-x.lua"] = [[
    local spin = function() while true do end end
    local evil = { __index = spin, __len = spin, __tostring = spin, __concat = spin, __eq = spin }
    rule { name = "odd", order = 1, class = "x", action = "y", why = "static reason",
      when = function(m)
        if m.destination == "/table" then return true, setmetatable({ "a" }, evil) end
        if m.destination == "/error" then error(setmetatable({}, evil)) end
        return false, setmetatable({}, evil)
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local got = assert(e:classify(bind("/tmp", "/table"), { explain = true }))
  lu.assertEquals({ got.class, got.reasons }, { "x", { "a" } })
  local none, err = e:classify(bind("/tmp", "/error"))
  lu.assertNil(none)
  lu.assertStrContains(err, "(error object is a table value)")
  lu.assertStrContains(err, d .. "/50-x.lua:6: (error object")
  got = assert(e:classify(bind("/tmp", "/other"), { explain = true }))
  lu.assertEquals({ got.trace[2].name, got.trace[2].why }, { "odd", "no match" })
end

-- The rules of a decision run in one protected call: a rule that raises
-- (even with error(msg, 2), which names the rule's caller) is named with its
-- own file:line, never the engine's; the rules before it ran, none after.
function T.TestForbidden.test_rule_errors_name_the_rule_not_the_engine()
  local d = rules_dir({ ["50-x.lua"] = [[
    local seen = {}                     -- the file's own record (params are read-only)
    predicate("seen", function() return seen end)
    rule { name = "before", order = -3, class = "x", action = "y",
      when = function(m) seen[#seen + 1] = "before"; return false end }
    rule { name = "raiser", order = -2, class = "x", action = "y",
      when = function(m)
        if m.destination == "/two" then error("level two", 2) end
        if m.destination == "/table" then error({}) end
        return false
      end }
    rule { name = "after", order = -1, class = "x", action = "y",
      when = function(m) seen[#seen + 1] = "after"; return false end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local file = d .. "/50-x.lua"
  local none, err = e:classify(bind("/tmp", "/two"))
  lu.assertNil(none)
  lu.assertEquals(err, "rule 'raiser' (" .. file .. ":5): " .. file .. ":7: level two")
  lu.assertNotStrContains(err, "sandbox.lua")
  lu.assertEquals(e:call("seen"), { "before" })
  none, err = e:classify(bind("/tmp", "/table"))
  lu.assertNil(none)
  lu.assertEquals(err, "rule 'raiser' (" .. file .. ":5): " .. file
    .. ":8: (error object is a table value)")
  -- explained, the trace holds the rules that answered
  none, err = e:classify(bind("/tmp", "/two"), { explain = true })
  lu.assertNil(none)
  lu.assertStrContains(err, "level two")
  lu.assertEquals(e:classify(bind("/tmp", "/ok")).class, "shared")
  lu.assertEquals(e:call("seen"), { "before", "before", "before", "before", "after" })
end

T.TestBudget = { tearDown = H.cleanup }

local SPIN = [[
rule { name = "spin", order = 1, class = "x", action = "y",
  when = function(m)
    if m.destination == "/spin" then
      while true do end
    elseif m.destination == "/pcall" then
      while true do pcall(function() while true do end end) end
    elseif m.destination == "/xpcall" then
      xpcall(function() while true do end end, function() while true do end end)
      while true do end
    elseif m.destination == "/close" then
      local guard <close> = setmetatable({}, { __close = function() while true do end end })
      while true do end
    elseif m.destination == "/gsub" then
      ("x"):rep(100):gsub(".", function() while true do end end)
    elseif m.destination == "/raise" then
      error("rule bug")
    end
    return false
  end }
predicate("is_spin", function() while true do end end)
]]

function T.TestBudget.test_runaway_rules_are_stopped()
  local d = rules_dir({ ["50-spin.lua"] = SPIN })
  local e = assert(katamount.new({ rules_path = { d }, budget = 100000 }))
  for _, dest in ipairs({ "/spin", "/pcall", "/xpcall", "/close", "/gsub" }) do
    local t0 = os.clock()
    local none, err = e:classify(bind("/tmp", dest))
    lu.assertNil(none, dest)
    lu.assertStrContains(err, "rule 'spin' (" .. d .. "/50-spin.lua:1): ")
    lu.assertStrContains(err, "instruction budget exceeded (100000 instructions)")
    lu.assertStrContains(err, d .. "/50-spin.lua:")
    lu.assertTrue(os.clock() - t0 < 5, dest)
  end
  local none, err = e:classify(bind("/tmp", "/raise"))
  lu.assertNil(none)
  lu.assertEquals(err, ("rule 'spin' (%s/50-spin.lua:1): %s/50-spin.lua:16: rule bug"):format(d, d))
  -- a predicate called directly
  none, err = e:is_spin("/x")
  lu.assertNil(none)
  lu.assertStrContains(err, "predicate 'is_spin' (" .. d .. "/50-spin.lua:20): ")
  lu.assertStrContains(err, "instruction budget exceeded")
  -- the engine and the other mounts go on
  lu.assertEquals(e:classify(bind("/tmp", "/fine")).class, "shared")
  local p, errs = e:plan({ root = { path = "/tmp" }, mounts = { bind("/tmp", "/a"), bind("/tmp", "/spin"),
    bind("/proc/1", "/c") } })
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(errs[1], "mount 2 (/spin): rule 'spin'")
  lu.assertEquals({ p.mounts[1].class, p.mounts[2].class, p.mounts[3].class }, { "shared", nil, "system" })
  lu.assertEquals(p.mounts[2].destination, "/spin")
  lu.assertNil(debug.gethook())
end

-- The budget is per rule call, though the hook is armed once per plan: a
-- rule that spends most of its budget on every mount is never stopped (the
-- count starts again at each call), one that spends twice its budget is,
-- and the hook is the host's again afterwards.
function T.TestBudget.test_budget_is_per_call_across_a_plan()
  local d = rules_dir({ ["50-busy.lua"] = [[
    rule { name = "busy", order = 1, class = "busy", action = "a",
      when = function(m)
        local n = m.destination == "/twice" and 100000 or 30000
        local x = 0
        for i = 1, n do x = x + i end
        return x > 0, "busy"
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d }, budget = 100000 }))
  local spec = { root = { path = "/tmp" }, mounts = {} }
  for i = 1, 40 do spec.mounts[i] = bind("/tmp", "/m" .. i) end
  local p, errs = e:plan(spec)
  lu.assertEquals(errs, {})
  lu.assertEquals(p.mounts[40].class, "busy")
  spec.mounts[20] = bind("/tmp", "/twice")
  p, errs = e:plan(spec)
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(errs[1], "mount 20 (/twice): rule 'busy'")
  lu.assertStrContains(errs[1], "instruction budget exceeded (100000 instructions)")
  lu.assertEquals(p.mounts[21].class, "busy")
  -- a small budget (below the hook's tick) is kept as well
  local small = assert(katamount.new({ rules_path = { d }, budget = 500, bundled = false }))
  local none, err = small:classify(bind("/tmp", "/x"))
  lu.assertNil(none)
  lu.assertStrContains(err, "instruction budget exceeded (500 instructions)")
  -- and a rule far below a small budget is never stopped, however many calls
  local few = rules_dir({ ["50-few.lua"] = [[
    rule { name = "few", order = 1, class = "few", action = "a",
      when = function(m) local x = 0 for i = 1, 20 do x = x + i end return x > 0 end }
  ]] })
  for _, budget in ipairs({ 200, 1000, 8000 }) do
    local fe = assert(katamount.new({ rules_path = { few }, budget = budget, bundled = false }))
    local many = { root = { path = "/tmp" }, mounts = {} }
    for i = 1, 500 do many.mounts[i] = bind("/tmp", "/f" .. i) end
    local fp, ferrs = fe:plan(many)
    lu.assertEquals(ferrs, { "rootfs: no rule matched" }, budget)   -- no rootfs rules here
    for i = 1, 500 do lu.assertEquals(fp.mounts[i].class, "few", budget) end
  end
  lu.assertNil(debug.gethook())
  -- a host hook is restored after a plan
  local function host_hook() end
  debug.sethook(host_hook, "", 1000000000)
  e:plan(spec)
  local h, mask, count = debug.gethook()
  debug.sethook()
  lu.assertEquals({ h, mask, count }, { host_hook, "", 1000000000 })
end

-- Calling a rule allocates nothing of the engine's when nothing is
-- explained: no closure, table or string per rule call (only the matching
-- rule's reasons and the decision are built).
function T.TestBudget.test_rule_calls_allocate_nothing()
  local d = rules_dir({ ["50-never.lua"] = [[
    for i = 1, 200 do
      rule { name = "never-" .. i, order = -1000 + i, class = "x", action = "x",
        when = function() return false, "never" end }
    end
  ]] })
  local e0 = assert(katamount.new({ rules_path = {} }))
  local e200 = assert(katamount.new({ rules_path = { d } }))
  local spec = { root = { path = "/tmp" }, mounts = {} }
  for i = 1, 50 do spec.mounts[i] = bind("/tmp", "/m" .. i) end
  local function kb(e)
    e:plan(spec)
    collectgarbage()
    collectgarbage("stop")
    local k0 = collectgarbage("count")
    e:plan(spec)
    local used = collectgarbage("count") - k0
    collectgarbage("restart")
    return used
  end
  local per_call = (kb(e200) - kb(e0)) * 1024 / (200 * #spec.mounts)
  lu.assertTrue(per_call < 4, ("%.1f bytes per rule call"):format(per_call))
  -- explained, each rule tried leaves its trace entry
  local p = e200:plan(spec, { explain = true })
  lu.assertEquals(#p.mounts[1].trace, 200 + 20)
  lu.assertEquals(p.mounts[1].trace[1].why, "never")
end

function T.TestBudget.test_default_budget_stops_a_spin()
  local d = rules_dir({ ["50-spin.lua"] = SPIN })
  local e = assert(katamount.new({ rules_path = { d } }))
  local t0 = os.clock()
  local none, err = e:classify(bind("/tmp", "/spin"))
  lu.assertNil(none)
  lu.assertStrContains(err, "instruction budget exceeded (1000000 instructions)")
  lu.assertTrue(os.clock() - t0 < 5)
end

-- (a deadline far away: under valgrind the budget is reached after seconds)
function T.TestBudget.test_runaway_file_at_load()
  local err = load_error("params.x = 1\nwhile true do\nend\n", { deadline = 600 })
  lu.assertStrContains(err, "instruction budget exceeded")
  err = load_error("params.x = 1\nwhile true do pcall(error) end\n", { deadline = 600 })
  lu.assertStrContains(err, "instruction budget exceeded")
end

T.TestHygiene = { tearDown = H.cleanup }

function T.TestHygiene.test_nothing_added_to_G_in_process()
  local before = {}
  for k in pairs(_G) do before[k] = true end
  local d = rules_dir({ ["50-g.lua"] = "leaked_global = 1\nparams.x = 1\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  e:plan({ root = { path = "/tmp" }, mounts = { bind("/tmp") } }, { explain = true })
  e:reload()
  katamount.classify(bind("/proc"))
  katamount.is_secret("/a/kubernetes.io~secret/b")
  for k in pairs(_G) do lu.assertTrue(before[k], "added to _G: " .. tostring(k)) end
  lu.assertNil(rawget(_G, "leaked_global"))
end

function T.TestHygiene.test_require_adds_nothing_to_G()
  local prelude = ("package.path = %q .. package.path; package.cpath = %q .. package.cpath; ")
    :format(H.root .. "/lua/?.lua;" .. H.root .. "/lua/?/init.lua;", BUILD .. "/?.so;")
  local out, ok = H.run("cd " .. H.q(H.root) .. " && env -u KATAMOUNT_RULES_PATH " .. PRELOAD
    .. "timeout 60 lua5.4 -e "
    .. H.q(prelude .. [[
      local before = {}
      for k in pairs(_G) do before[k] = true end
      local k = require("katamount")
      k.plan({ root = { path = "/" }, mounts = { { source = "/tmp", destination = "/t", type = "bind" } } })
      k.reload()
      local added = {}
      for name in pairs(_G) do if not before[name] then added[#added + 1] = name end end
      print("added: " .. table.concat(added, ","))
    ]]))
  lu.assertTrue(ok, out)
  lu.assertEquals(out, "added: ")
end

return T
