-- engine_isolation_spec.lua -- each engine's rules run in a Lua state of
-- their own (c/rulestate.c): every attack of issue 9 against the engine,
-- tried as a rule file would, ends with the host alive, a clear message
-- naming the limit, and the engine going on. Times are never asserted
-- tightly: a bound of seconds is checked against 10 s, the evidence is the
-- message naming the limit.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

local T = {}

local BUILD = os.getenv("KATAMOUNT_BUILD") or "build"
local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil
local ASAN = SANITIZED and
  ("ASAN_OPTIONS=" .. H.q((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0") .. " ") or ""

local bind = H.bind_mount

local function rules_dir(files) return H.rules_dir(files, "iso") end

-- A rule (order -1, tried first) whose `when` runs `body` for the mount
-- with destination `/attack`, and answers false for every other.
local function attack_rule(body)
  return ([[
rule { name = "attack", order = -1, class = "x", action = "y",
  when = function(m)
    if m.destination ~= "/attack" then return false end
    %s
    return true
  end }
]]):format(body)
end

-- The engine with the attack, its decision of /attack (must fail), the
-- seconds it took, and a check that the engine goes on.
local function attack(body, opts)
  local d = rules_dir({ ["50-attack.lua"] = attack_rule(body) })
  opts = opts or {}
  opts.rules_path = { d }
  local e = assert(katamount.new(opts))
  local t0 = os.time()
  local none, err = e:classify(bind("/tmp", "/attack"))
  local took = os.time() - t0
  lu.assertNil(none, body)
  lu.assertStrContains(err, "rule 'attack' (" .. d .. "/50-attack.lua:1): ")
  lu.assertEquals(e:classify(bind("/tmp", "/next")).class, "shared", body)
  lu.assertEquals(e:classify(bind("/proc", "/proc")).class, "system", body)
  return err, took, e
end

T.TestCrash = { tearDown = H.cleanup }

-- Debian's Lua 5.4.4 crashes when a gmatch iterator is called again after
-- "pattern too complex": the rule state's matcher is the core's own.
function T.TestCrash.test_gmatch_again_after_pattern_too_complex()
  local body = [[
    local it = ("a"):rep(400):gmatch(("a?"):rep(300))
    local ok1, e1 = pcall(it)
    local ok2, e2 = pcall(it)
    local ok3 = pcall(it)
    error(tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. " " .. e1 .. " | " .. e2)
  ]]
  local err = attack(body)
  lu.assertStrContains(err, "falsefalsefalse")
  lu.assertStrContains(err, "pattern too complex (deeper than KM_PATTERN_DEPTH_MAX = 200)")
  -- at load time too
  local d = rules_dir({ ["50-load.lua"] = "local it = ('a'):rep(400):gmatch(('a?'):rep(300))\n"
    .. "pcall(it)\npcall(it)\nparams.survived = true\n" })
  local e = assert(katamount.new({ rules_path = { d } }))
  lu.assertTrue(e:params().survived)
end

T.TestTime = { tearDown = H.cleanup }

-- Tests whose subject is the budget or the memory limit give the wall clock
-- a far deadline, so that a slow run (valgrind, a loaded machine) is still
-- stopped by what the test is about. Tests of the deadline itself use a
-- short one, longer under the sanitizers (they slow the loading of the
-- rules and the engine's own work as much as the rule's).
local FAR = 60
local DEADLINE, PLAN_DEADLINE = SANITIZED and 5 or 0.5, SANITIZED and 15 or 1.5

-- The engine options of a test whose subject is neither time nor the budget
-- but whose rule code does much (a large rule set or value crossing): a far
-- deadline, so that valgrind (about 50 times slower) on a busy machine does
-- not stop it (28,000 rules load in 4 x 50 ms here, 2 s under valgrind: the
-- default deadline). `opts`' own fields stay.
local function unhurried(opts)
  opts = opts or {}
  opts.deadline, opts.plan_deadline = FAR, FAR
  return opts
end
local function seconds(x) return ("%.1f s"):format(x) end

-- One long C call is charged before it runs, or step by step.
function T.TestTime.test_long_single_c_calls_are_stopped_by_the_budget()
  for _, body in ipairs({
    [[local _ = ("a"):rep(5000):find(("a*"):rep(6) .. "b")]],
    [[local _ = ("a"):rep(5000):match(("a-"):rep(6) .. "b")]],
    [[for _ in ("a"):rep(5000):gmatch(("a*"):rep(6) .. "b") do end]],
    [[local _ = ("a"):rep(5000):gsub(("a*"):rep(6) .. "b", "")]],
    [[table.move({}, 1, 1 << 40, 2)]],
    [[local t = setmetatable({}, { __index = tostring, __len = function() return 1 << 40 end })
      local _ = table.concat(t)]],
    [[table.insert(setmetatable({}, { __len = function() return 1 << 40 end }), 1, "x")]],
    [[local _ = ("x"):rep(1 << 20):rep(1, ""):upper():lower():reverse()
      for _ = 1, 300000 do local _ = ("y"):rep(1 << 20):upper() end]],
    -- has_option is the core's (C): the options it reads are charged
    [[local t = {}
      for i = 1, 100000 do t[i] = "x" end
      for _ = 1, 2000 do local _ = has_option(t, "y") end]],
    [[local _ = has_option(setmetatable({}, { __index = function() return "o" end }), "never")]],
    -- so is starts_with: the prefix's bytes compared (16 a unit)
    [[local p = ("x"):rep(1 << 20)
      for _ = 1, 2000 do local _ = core.starts_with(p, p) end]],
    -- and path_under: each prefix's bytes
    [[local p = ("x"):rep(1 << 20)
      for _ = 1, 2000 do local _ = core.path_under(p, { p .. "y", p }) end]],
  }) do
    local err, took = attack(body, { deadline = FAR, plan_deadline = FAR })
    lu.assertStrContains(err, "instruction budget exceeded (1000000 instructions)")
    lu.assertTrue(took < FAR, body)
  end
end

-- Many cheap calls, each far below the budget, stopped by the deadline.
function T.TestTime.test_many_cheap_calls_are_stopped_by_the_deadline()
  local err, took = attack([[
    local s = ("x"):rep(1 << 20)
    for _ = 1, 300000 do local _ = s:len() .. s:sub(1, 1) end
    while true do local _ = s:byte(1) end
  ]], { budget = 1 << 60, deadline = DEADLINE })
  lu.assertStrContains(err, "deadline exceeded (" .. seconds(DEADLINE) .. ")")
  lu.assertTrue(took < DEADLINE + 10)
end

-- 1,000 rules each just under their budget: the decision's deadline stops
-- them, and a plan's deadline stops the plan. Each rule spends about 4e7 of
-- its 5e7 instructions, 4e10 in all: no machine runs them all inside the
-- deadline (a CI machine ran the 8e8 of an earlier version inside 5 s).
function T.TestTime.test_many_rules_under_their_budget_are_stopped_by_the_deadline()
  local d = rules_dir({ ["50-many.lua"] = [[
    for i = 1, 1000 do
      rule { name = "busy-" .. i, order = -2000 + i, class = "x", action = "y",
        when = function(m)
          if m.destination == "/next" then return false end
          local x = 0
          for j = 1, 20000000 do x = x + j end
          return false
        end }
    end
  ]] })
  local e = assert(katamount.new({ rules_path = { d }, budget = 50000000,
    deadline = DEADLINE, plan_deadline = PLAN_DEADLINE }))
  local t0 = os.time()
  local none, err = e:classify(bind("/tmp", "/a"))
  lu.assertNil(none)
  lu.assertStrContains(err, "deadline exceeded (" .. seconds(DEADLINE) .. ")")
  lu.assertStrContains(err, "rule 'busy-")
  local spec = { root = { path = "/tmp" }, mounts = {} }
  for i = 1, 8 do spec.mounts[i] = bind("/tmp", "/m" .. i) end
  local p, errs = e:plan(spec)
  lu.assertEquals(#errs, 9)
  lu.assertStrContains(errs[8], "plan deadline exceeded (" .. seconds(PLAN_DEADLINE) .. ")")
  lu.assertNil(p.mounts[8].class)
  lu.assertTrue(os.time() - t0 < DEADLINE + PLAN_DEADLINE + 10)
  lu.assertEquals(e:classify(bind("/tmp", "/next")).class, "shared")
end

T.TestMemory = { tearDown = H.cleanup }

function T.TestMemory.test_memory_growth_fails_the_decision()
  local opts = { budget = 1 << 40, memory = 16 * 1024 * 1024, deadline = FAR, plan_deadline = FAR }
  for _, body in ipairs({
    [[local s = "x" while true do s = s .. s end]],
    [[local _ = string.pack("c2000000000", "x")]],
    [[local s = ("x"):rep(1 << 20) local _ = s:gsub(".", ("y"):rep(100))]],
    [[local t = {} for i = 1, 1 << 30 do t[i] = i end]],
    [[local t = {} local s = ("x"):rep(1 << 20) for i = 1, 1 << 30 do t[i] = s .. i end]],
    [[local ok = pcall(function() local s = "x" while true do s = s .. s end end)
      error("caught: " .. tostring(ok))]],
  }) do
    local err = attack(body, opts)
    lu.assertStrContains(err, "memory limit (16777216 bytes) reached")
  end
  -- string.rep's own bound, a numeric string coerced before the check
  local err = attack([[local _ = string.rep("x", "1073741824")]], opts)
  lu.assertStrContains(err, "string.rep: result longer than 1048576 bytes")
end

-- A load that hits the limit fails the load, naming file:line; the engine
-- keeps the rules it had.
function T.TestMemory.test_memory_growth_fails_the_load()
  local d = rules_dir({ ["50-ok.lua"] = "params.version = 1\n" })
  local e = assert(katamount.new({ rules_path = { d }, memory = 16 * 1024 * 1024, deadline = FAR }))
  H.write(d .. "/60-grow.lua", "params.version = 2\nlocal s = 'x'\nwhile true do\n  s = s .. s\nend\n")
  local ok, err = e:reload()
  lu.assertNil(ok)
  lu.assertStrContains(err, d .. "/60-grow.lua:4: memory limit (16777216 bytes) reached")
  lu.assertEquals(e:params().version, 1)
  lu.assertEquals(e:classify(bind("/tmp")).class, "shared")
  local none, nerr = katamount.new({ rules_path = { d }, memory = 16 * 1024 * 1024, deadline = FAR })
  lu.assertNil(none)
  lu.assertStrContains(nerr, d .. "/60-grow.lua:4: memory limit")
end

-- A plan ends with a minor collection of the rule state (st:plan_end): its
-- garbage (about 37 KB for these 20 mounts: jobs, facts, results) is gone
-- when plan returns, so the state holds what it held after the plan before.
-- Without it, the state grew by that much a plan until the collector's next
-- minor collection (at 20% growth, every third plan or so).
function T.TestMemory.test_a_plan_leaves_no_garbage_in_the_rule_state()
  local e = assert(katamount.new())
  local dir = H.tmpdir()
  local spec = { root = { path = dir }, mounts = {} }
  for i = 1, 20 do spec.mounts[i] = bind(dir, "/m" .. i, i % 2 == 0 and { "ro" } or nil) end
  e:plan(spec)
  local after_first = e.rstate:memory()
  for i = 2, 12 do
    local p, errs = e:plan(spec)
    lu.assertEquals(errs, {})
    lu.assertEquals(p.mounts[20].class, "shared")
    local used = e.rstate:memory()
    lu.assertTrue(used <= after_first + 4096, ("plan %d: %d bytes held, %d after the first"):format(
      i, used, after_first))
  end
end

T.TestBoundary = { tearDown = H.cleanup }

local EVIL = [[
local spin = function() while true do end end
local evil = { __index = spin, __newindex = spin, __len = spin, __pairs = spin, __tostring = spin,
  __concat = spin, __eq = spin, __lt = spin, __le = spin, __call = spin, __name = "evil" }
params.evil = setmetatable({ "a" }, evil)
params.fn = spin
params.nested = { inner = setmetatable({ x = 1 }, evil) }
predicate("is_evil", function() return setmetatable({ "b" }, evil), spin end)
rule { name = "evil", order = -1, class = "x", action = "y",
  when = function(m)
    if m.destination == "/evil" then return true, setmetatable({ "c" }, evil) end
    if m.destination == "/evil-answer" then return setmetatable({}, evil) end
    return false
  end }
]]

-- Metamethods of what rules hand back never run in the host: values come
-- out as plain copies (no metatable, no function).
function T.TestBoundary.test_metamethods_of_results_and_params_never_run_in_the_host()
  local d = rules_dir({ ["50-evil.lua"] = EVIL })
  local e = assert(katamount.new({ rules_path = { d } }))
  local p = e:params()
  lu.assertEquals(p.evil, { "a" })
  lu.assertNil(getmetatable(p.evil))
  lu.assertNil(p.fn)
  lu.assertEquals(p.nested, { inner = { x = 1 } })
  local v, f = e:is_evil()
  lu.assertEquals(v, { "b" })
  lu.assertNil(getmetatable(v))
  lu.assertNil(f)
  local got = assert(e:classify(bind("/tmp", "/evil"), { explain = true }))
  lu.assertEquals({ got.class, got.reasons }, { "x", { "c" } })
  local p1 = e:plan({ root = { path = "/tmp" }, mounts = { bind("/tmp", "/evil") } })
  lu.assertEquals(p1.mounts[1].class, "x")
  -- a table (with metamethods) as the answer of `when` is a mistake, never a match
  local none0, err0 = e:classify(bind("/tmp", "/evil-answer"))
  lu.assertNil(none0)
  lu.assertStrContains(err0, "rule 'evil' (" .. d .. "/50-evil.lua:8): when must return true, false or nil,"
    .. " got a table")
  -- what the host hands in crosses as plain data too
  local none, err = e:is_evil(function() end)
  lu.assertNil(none)
  lu.assertStrContains(err, "rule boundary: a function does not cross")
  none, err = e:is_evil(setmetatable({}, { __index = function() error("ran") end }))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule boundary: a table with a metatable does not cross")
  local deep = {}
  local t = deep
  for _ = 1, 40 do t[1] = {} t = t[1] end
  none, err = e:is_evil(deep)
  lu.assertNil(none)
  lu.assertStrContains(err, "KM_BOUNDARY_DEPTH_MAX (32)")
end

-- Plain data crosses both ways whole, whatever its shape: a table of more
-- entries than c/boundary.c stages before making its table
-- (KM_BOUNDARY_STAGED_MAX, 16), lists with holes, keys of every kind that
-- crosses, empty tables, nesting past the staged limit at each level; and
-- past KM_BOUNDARY_ITEMS_MAX entries a crossing fails with its message.
function T.TestBoundary.test_plain_data_of_every_shape_crosses_whole_both_ways()
  local d = rules_dir({ ["50-echo.lua"] = [[
predicate("echo", function(v) return v end)
predicate("many", function(n) local t = {} for i = 1, n do t[i] = i end return t end)
]] })
  local e = assert(katamount.new(unhurried({ rules_path = { d } })))
  local big, map = {}, {}
  for i = 1, 40 do big[i] = "v" .. i end
  for i = 1, 30 do map["k" .. i] = { i, "x" .. i, i % 2 == 0 } end
  local values = {
    big, map, {}, { {} },
    { 1, 2, nil, 4, [10] = 10, [0] = 0, [-1] = -1, [2.5] = "f", [true] = false, x = "y" },
    { [3] = "c", [1] = "a", [2] = "b" },      -- a list given out of order
    { [100] = 1, [200] = 2 },                  -- integer keys, no list
    { list = big, map = map, deep = { { { big } } } },
    "s", 7, 7.5, true,
  }
  for i, v in ipairs(values) do
    lu.assertEquals(assert(e:echo(v)), v, "value " .. i)
  end
  -- what a predicate made crosses out alike, each entry in its place
  local got = assert(e:many(1000))
  lu.assertEquals(#got, 1000)
  lu.assertEquals({ got[1], got[17], got[1000] }, { 1, 17, 1000 })
  -- too many entries, out of the rule state and into it
  local none, err = e:many(200001)
  lu.assertNil(none)
  lu.assertStrContains(err, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  local huge = {}
  for i = 1, 200001 do huge[i] = true end
  none, err = e:echo(huge)
  lu.assertNil(none)
  lu.assertStrContains(err, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  -- and the engine goes on
  lu.assertEquals(assert(e:echo({ a = 1 })), { a = 1 })
end

-- A plan crosses the boundary once each way (c/rulestate.c st:call_each),
-- but each job in and each decision out is bounded on its own: a mount too
-- large to cross fails alone, the other mounts and the root filesystem are
-- decided (decide.lua's plan, ruleset.lua's E.plan).
function T.TestBoundary.test_a_mount_too_large_to_cross_fails_alone_in_a_plan()
  local e = assert(katamount.new(unhurried()))
  local huge = bind("/tmp", "/huge")
  for i = 2, 200001 do huge.options[i] = "o" .. (i % 7) end
  local root = H.tmpdir("iso")
  local plan, errors = e:plan({ root = { path = root },
    mounts = { bind("/tmp", "/a"), huge, bind("/proc", "/proc") } })
  lu.assertEquals({ plan.mounts[1].class, plan.mounts[3].class }, { "shared", "system" })
  lu.assertStrContains(plan.mounts[2].error, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  lu.assertEquals(plan.mounts[2].destination, "/huge")
  lu.assertNil(plan.rootfs.error)
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(errors[1], "mount 2 (/huge): rule boundary: more than KM_BOUNDARY_ITEMS_MAX")
end

-- A decision too large to cross back fails alone too: a rule's reasons of
-- 200,001 strings for one mount.
function T.TestBoundary.test_a_decision_too_large_to_cross_fails_alone_in_a_plan()
  local d = rules_dir({ ["50-loud.lua"] = [[
rule { name = "loud", order = -1, class = "x", action = "y",
  when = function(m)
    if m.destination ~= "/loud" then return false end
    local t = {}
    for i = 1, 200001 do t[i] = "why" end
    return true, t
  end }
]] })
  local e = assert(katamount.new(unhurried({ rules_path = { d }, budget = 10000000 })))
  local plan, errors = e:plan({ root = { path = H.tmpdir("iso") },
    mounts = { bind("/tmp", "/a"), bind("/tmp", "/loud"), bind("/proc", "/proc") } })
  lu.assertEquals({ plan.mounts[1].class, plan.mounts[3].class }, { "shared", "system" })
  lu.assertStrContains(plan.mounts[2].error, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  lu.assertNil(plan.rootfs.error)
  lu.assertEquals(#errors, 1)
  -- classify crosses its one decision: the same bound, the same message
  local none, err = e:classify(bind("/tmp", "/loud"))
  lu.assertNil(none)
  lu.assertStrContains(err, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
end

-- A plan's decisions cross out into their mounts' fields (st:call_each_into,
-- c/boundary.c's km_copy_each with `into`): a decision of up to 16 entries
-- is set on the caller's table, which takes its place in the list; one of
-- more crosses as a table of its own, and one that cannot cross leaves the
-- caller's table as it was (its entries are staged until the last one).
function T.TestBoundary.test_decisions_cross_into_the_callers_tables()
  local core = require("katamount.core")
  local st = assert(core.rule_state({}))
  assert(st:load("katamount.spec_into", [[
    local rt = require("katamount.runtime")
    rt.export({ decide = function(jobs)
      local out = {}
      for i, j in ipairs(jobs) do
        if j.kind == "small" then
          out[i] = { class = "shared", reasons = { "r" .. i }, n = j.n }
        elseif j.kind == "wide" then
          local t = {}
          for k = 1, 17 do t["k" .. k] = k end
          out[i] = t
        elseif j.kind == "huge" then
          local t = {}
          for k = 1, 200001 do t[k] = "why" end
          out[i] = { class = "x", reasons = t }
        else
          out[i] = "not a table"
        end
      end
      return out
    end })
  ]]))
  local mine = { source = "/a", n = 0 }
  local wide, huge, scalar = { source = "/w" }, { source = "/h" }, { source = "/s" }
  local targets = { mine, wide, huge, scalar, "not a table" }
  local jobs = { { kind = "small", n = 7 }, { kind = "wide" }, { kind = "huge" }, { kind = "scalar" },
    { kind = "small", n = 8 } }
  local out = assert(st:call_each_into(targets, "decide", jobs))
  -- merged: the caller's own table, its entries kept, the decision's set
  lu.assertIs(out[1], mine)
  lu.assertEquals(mine, { source = "/a", n = 7, class = "shared", reasons = { "r1" } })
  -- 17 entries: a table of its own; the caller's untouched
  lu.assertNotIs(out[2], wide)
  lu.assertEquals(out[2].k17, 17)
  lu.assertEquals(wide, { source = "/w" })
  -- too large to cross: {error=}, the caller's untouched
  lu.assertNotIs(out[3], huge)
  lu.assertStrContains(out[3].error, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  lu.assertEquals(huge, { source = "/h" })
  -- not a table, or no table to set them on: as call_each has them cross
  lu.assertEquals(out[4], "not a table")
  lu.assertEquals(scalar, { source = "/s" })
  lu.assertEquals(out[5], { class = "shared", reasons = { "r5" }, n = 8 })
  lu.assertEquals(targets[5], "not a table")
  -- the targets must be a table
  lu.assertErrorMsgContains("bad argument #1 to 'call_each_into' (table expected",
    function() return st:call_each_into(nil, "decide", jobs) end)
  st:close()
end

-- What every decision of a plan shares crosses once: when it cannot (a
-- spec with 200,001 annotations), each decision fails naming it.
function T.TestBoundary.test_settings_too_large_to_cross_fail_the_plan_naming_them()
  local e = assert(katamount.new(unhurried()))
  local annotations = {}
  for i = 1, 200001 do annotations["a" .. i] = "v" end
  local plan, errors = e:plan({ root = { path = H.tmpdir("iso") }, annotations = annotations,
    mounts = { bind("/tmp", "/a") } })
  lu.assertEquals(#errors, 2)
  for _, d in ipairs({ plan.mounts[1], plan.rootfs }) do
    lu.assertStrContains(d.error, "the plan's settings (ctx, the spec's annotations and hugepage limits):"
      .. " rule boundary: more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  end
  -- and the engine goes on
  lu.assertEquals(e:plan({ root = { path = H.tmpdir("iso") }, mounts = { bind("/tmp", "/a") } })
    .mounts[1].class, "shared")
end

-- A rule set's lists cross to the host list by list, element by element
-- (engine.lua's `finished`): 28,000 rules (more than one crossing's 200,000
-- entries once described) load, and decide.
function T.TestBoundary.test_a_rule_set_larger_than_one_crossing_loads()
  local files = {}
  for f = 1, 4 do
    local lines = {}
    for i = 1, 7000 do
      lines[i] = ('rule { name = "r%d_%d", order = %d, class = "shared", action = "share",'
        .. ' when = function() return false, "never" end }'):format(f, i, 2000 + i)
    end
    files[("5%d-many.lua"):format(f)] = table.concat(lines, "\n")
  end
  local e = assert(katamount.new(unhurried({ rules_path = { rules_dir(files) } })))
  local rules = e:rules()
  lu.assertTrue(#rules > 28000, #rules)
  local names = {}
  for _, r in ipairs(rules) do names[r.name] = r end
  lu.assertEquals(names.r4_7000.order, 9000)
  lu.assertNotNil(names.system)
  lu.assertEquals(e:classify(bind("/tmp", "/a")).class, "shared")
  lu.assertEquals(e:classify(bind("/proc", "/proc")).class, "system")
  lu.assertTrue(e:is_secret("/var/lib/kubelet/pods/p/volumes/kubernetes.io~secret/s") == true)
end

-- A rule file setting a param too large to cross (line 3) beside a small one
-- (line 4).
local HUGE_PARAM = [[
local t = {}
for i = 1, 200001 do t[i] = "x" end
params.huge = t
params.small = { "a", "b" }
]]

-- The host reads one param of the rules itself (direct_volumes_root), and
-- asks for it alone: a param too large to cross does not fail the load;
-- `e:params()` gives every other param and names the one left out.
function T.TestBoundary.test_a_param_too_large_to_cross_does_not_fail_the_load()
  local d = rules_dir({ ["50-huge.lua"] = HUGE_PARAM })
  local e = assert(katamount.new(unhurried({ rules_path = { d } })))
  lu.assertEquals(e:classify(bind("/tmp", "/a")).class, "shared")
  local params, left_out = e:params()
  lu.assertNil(params.huge)
  lu.assertEquals(params.small, { "a", "b" })
  lu.assertEquals(params.shared_fs, "virtio-fs")
  lu.assertStrContains(left_out.huge, "more than KM_BOUNDARY_ITEMS_MAX (200000) table entries")
  lu.assertEquals(next(left_out, "huge"), nil)
  lu.assertEquals(#assert(e:rules()) > 0, true)
  -- params that cross together give no second table
  local e2 = assert(katamount.new())
  local all, none = e2:params()
  lu.assertEquals(all.shared_fs, "virtio-fs")
  lu.assertNil(none)
end

-- `katamount rules` lists such params: the one too large says why in its
-- value cell and on stderr, the others are shown, the exit is 0; `--json`
-- gives it an `error` and no `value`.
function T.TestBoundary.test_the_command_lists_params_beside_one_too_large_to_cross()
  local d = rules_dir({ ["50-huge.lua"] = HUGE_PARAM })
  local r = H.km("rules --rules " .. H.q(d), "COLUMNS=400")
  lu.assertEquals(r.code, 0, r.err)
  lu.assertStrMatches(r.out, '.*\nhuge +%(not shown: rule boundary: more than '
    .. 'KM_BOUNDARY_ITEMS_MAX %(200000%) table entries.*')
  lu.assertStrMatches(r.out, '.*\nsmall +%["a","b"%] +.*50%-huge%.lua:4\n.*')
  lu.assertStrMatches(r.out, '.*\nshared_fs +"virtio%-fs" .*')
  lu.assertStrContains(r.err, "katamount: warning: param 'huge' not shown: rule boundary: more than")
  lu.assertNotStrContains(r.err, "traceback")
  local j = H.km("rules --json --rules " .. H.q(d))
  lu.assertEquals(j.code, 0, j.err)
  local doc = require("cjson").decode(j.out)
  local by = {}
  for _, p in ipairs(doc.params) do by[p.name] = p end
  lu.assertNil(by.huge.value)
  lu.assertStrContains(by.huge.error, "KM_BOUNDARY_ITEMS_MAX")
  lu.assertEquals(by.huge.line, 3)
  lu.assertEquals(by.small.value, { "a", "b" })
end

-- A crossing element by element remembers the strings it copied (one copy
-- of a key met in every mount or decision, c/boundary.c): each decision
-- still carries its own mount's strings, across more distinct strings
-- than the boundary remembers (KM_COPY_STRINGS, 64) and strings equal in
-- content but made apart (long and short).
function T.TestBoundary.test_strings_remembered_by_a_crossing_stay_each_decisions_own()
  local e = assert(katamount.new(unhurried()))
  local root = H.tmpdir("isostr")
  local mounts, dirs = {}, {}
  for i = 1, 300 do
    local dir = root .. "/" .. ("s"):rep(i % 50 + 1) .. i
    dirs[i] = H.q(dir)
    mounts[i] = bind(dir, "/d/" .. i .. ("x"):rep(i % 60), { i % 2 == 0 and "ro" or "rw", "o" .. i })
  end
  H.sh("mkdir -p " .. table.concat(dirs, " "))
  local plan, errors = e:plan({ root = { path = root }, mounts = mounts })
  lu.assertEquals(#errors, 0, errors[1])
  for i, d in ipairs(plan.mounts) do
    lu.assertEquals(d.source, mounts[i].source, "mount " .. i)
    lu.assertEquals(d.destination, mounts[i].destination, "mount " .. i)
    lu.assertEquals(d.options, mounts[i].options, "mount " .. i)
    lu.assertEquals(d.class, "shared", "mount " .. i)
    lu.assertEquals(d.host.source, mounts[i].source, "mount " .. i)
    lu.assertEquals(d.host.read_only, i % 2 == 0, "mount " .. i)
    lu.assertEquals(d.guest_mount.destination, mounts[i].destination, "mount " .. i)
  end
end

-- Decisions that are each small cross whatever their number: 2,000 mounts
-- explained (a trace of every rule tried each, about 250,000 entries in all,
-- more than one crossing's KM_BOUNDARY_ITEMS_MAX) are all decided.
function T.TestBoundary.test_a_plan_of_many_explained_decisions_crosses_whole()
  local e = assert(katamount.new(unhurried()))
  local mounts = {}
  for i = 1, 2000 do mounts[i] = bind("/tmp", "/d" .. i, { "ro" }) end
  local plan, errors = e:plan({ root = { path = H.tmpdir("iso") }, mounts = mounts }, { explain = true })
  lu.assertEquals(#errors, 0, errors[1])
  lu.assertEquals(#plan.mounts, 2000)
  local entries = 0
  for i, d in ipairs(plan.mounts) do
    lu.assertEquals(d.class, "shared", "mount " .. i)
    entries = entries + #d.trace * 6
  end
  lu.assertTrue(entries > 200000, entries)
  lu.assertEquals(plan.mounts[2000].destination, "/d2000")
end

-- The command with such rules: `rules`, `plan` and `classify` end (run
-- under `timeout`).
function T.TestBoundary.test_the_command_does_not_hang_on_metamethods()
  local d = rules_dir({ ["50-evil.lua"] = EVIL })
  local cfg = H.tmpdir("isocfg") .. "/config.json"
  H.write(cfg, '{"root":{"path":"/tmp"},"mounts":[{"source":"/tmp","destination":"/evil",'
    .. '"type":"bind","options":["rbind"]}]}')
  for _, args in ipairs({
    "rules --rules " .. H.q(d),
    "rules --json --rules " .. H.q(d),
    "plan " .. H.q(cfg) .. " --json --explain --rules " .. H.q(d),
    "classify --source /tmp --destination /evil --type bind --rules " .. H.q(d),
  }) do
    local out, ok = H.run(("cd %s && env -u KATAMOUNT_RULES_PATH KATAMOUNT_BUILD=%s %s"
      .. "timeout 60 lua5.4 bin/katamount %s 2>&1; echo \"rc=$?\""):format(H.q(H.root), H.q(BUILD),
      ASAN, args))
    lu.assertTrue(ok, out)
    lu.assertNotStrContains(out, "rc=124", args)
    lu.assertNotStrContains(out, "traceback", args)
  end
end

-- pairs(params) hands out the params view, never the engine's raw table:
-- every write is recorded where it happened.
function T.TestBoundary.test_pairs_of_params_does_not_expose_the_raw_table()
  local d = rules_dir({ ["50-pairs.lua"] = [[
    params.a = 1
    local f, s = pairs(params)
    params.same = rawequal(s, params)
    s.sneaky = true
    local n = 0
    for k in f, s, nil do n = n + 1 end
    params.seen = n
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  local p, where = e:params(), e:param_sources()
  lu.assertTrue(p.same)
  lu.assertTrue(p.sneaky)
  lu.assertEquals(where.sneaky, d .. "/50-pairs.lua:4")
  lu.assertTrue(p.seen > 3)
end

-- A rule that never matches rewrites the facts, the mount, ctx and the
-- params: each write fails or stays its own, and the rules after it (in
-- this decision, the next ones, the next plan) decide on what is true.
function T.TestBoundary.test_a_poisoned_fact_has_no_effect_on_later_rules()
  local d = rules_dir({ ["50-poison.lua"] = [[
    local kept = params.system_prefixes       -- the list as loading left it
    local function wrote(f, ...) return tostring((pcall(f, ...))) end
    rule { name = "poison", order = -1, class = "x", action = "y",
      when = function(m, ctx)
        local st = core.stat(m.source)
        local writes = {
          wrote(function() st.type = "block" end),
          wrote(function() m:stat().rdev_major = 8 end),
          wrote(function() m:mount_entry().fstype = "tmpfs" end),
          wrote(table.insert, m:stat(), "x"),
          wrote(function() params.system_prefixes = { "/nowhere" } end),
          wrote(table.insert, params.system_prefixes, "/var"),
          wrote(function() ctx.annotations.poisoned = "yes" end),
          wrote(function() ctx.hugepage_limits[1] = "poisoned" end),
        }
        kept[1] = "/nowhere"                  -- a table kept from the load
        m.source = "/proc"
        m.options[1] = "poisoned"
        ctx.disable_block_device_use = "poisoned"
        return false, table.concat(writes, " ")
      end }
    rule { name = "witness", order = -0.5, class = "w", action = "w",
      when = function(m, ctx)
        return false, { m.source, m.options[1], m:stat().type, core.stat(m.source).type,
          tostring(ctx.disable_block_device_use), tostring(ctx.annotations.poisoned),
          table.concat(params.system_prefixes, ","), tostring(ctx.hugepage_limits[1]) }
      end }
  ]] })
  local e = assert(katamount.new({ rules_path = { d } }))
  H.need_mounts()
  local var = H.mount_tmpfs(H.tmpdir("iso") .. "/var")
  local function traced(d1)
    local why = {}
    for _, t in ipairs(d1.trace) do why[t.name] = t.why end
    return why
  end
  local got = assert(e:classify(bind(var, "/var"), { explain = true, annotations = {},
    hugepage_limits = { "2M" } }))
  lu.assertEquals(got.class, "shared")
  local why = traced(got)
  lu.assertEquals(why.poison, "false false false false false false false false")
  lu.assertEquals(why.witness, table.concat({ var, "rbind", "directory", "directory", "false", "nil",
    "/proc,/sys", "2M" }, "; "))
  -- every later decision of a plan, and the next plan, alike; /proc is still
  -- the host's own
  for _ = 1, 2 do
    local plan, errs = e:plan({ root = { path = "/tmp" }, annotations = { a = "b" },
      mounts = { bind(var, "/var"), bind(var, "/v2"), bind("/proc", "/p") } },
      { explain = true, hugepage_limits = { "2M" } })
    lu.assertEquals(errs, {})
    lu.assertEquals({ plan.mounts[1].class, plan.mounts[2].class, plan.mounts[3].class },
      { "shared", "shared", "system" })
    for i = 1, 2 do
      lu.assertStrContains(traced(plan.mounts[i]).witness, "false; nil; /proc,/sys")
    end
  end
  lu.assertEquals(e:params().system_prefixes, { "/proc", "/sys" })
  -- a list set by the host (the command's --set) is read-only alike
  assert(e:set_params({ system_prefixes = { "/proc", "/sys", "/dev/x" } }, "--set"))
  why = traced(assert(e:classify(bind(var, "/var"), { explain = true, annotations = {},
    hugepage_limits = { "2M" } })))
  lu.assertEquals(why.poison, "false false false false false false false false")
  lu.assertStrContains(why.witness, "false; nil; /proc,/sys,/dev/x; 2M")
  lu.assertEquals(e:params().system_prefixes, { "/proc", "/sys", "/dev/x" })
end

return T
