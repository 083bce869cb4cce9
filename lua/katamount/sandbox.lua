--- The rule sandbox: allow-listed environments and the instruction budget.
--
-- Each rule file runs in an environment of its own built by `env`: an
-- allow-list (never a blocklist) of the safe parts of the standard library,
-- plus the rule API the engine hands in. Sandboxed code runs only inside a
-- `session` (which also hides `string.dump` from string methods, see below),
-- and each callback inside `call`, which charges the instructions it runs
-- to its own budget through a count hook (armed once, not per call): past
-- the budget the hook raises, and the sandbox's `pcall`/`xpcall` cannot
-- swallow that.
--
-- Known limits: the count hook does not see time spent inside one C call, so
-- a pathological pattern (`("a"):rep(40):find("a*a*a*a*a*b")`) can still run
-- long, and doubling a string by concatenation can allocate much memory in
-- few instructions (`string.rep` is capped). Rule files are written by the
-- operator (the loader refuses operator files others can write); the sandbox keeps
-- their mistakes from reaching the host, it is not a jail for hostile code.
-- @module katamount.sandbox
local M = {}

local debug_gethook, debug_sethook, debug_getinfo = debug.gethook, debug.sethook, debug.getinfo
local debug_getmetatable = debug.getmetatable
local type, error, pcall, xpcall, select = type, error, pcall, xpcall, select
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local pairs, tostring, tonumber = pairs, tostring, tonumber
local format, rep, sub, gsub = string.format, string.rep, string.sub, string.gsub

--- Default instruction budget of one rule call or one file load.
M.DEFAULT_BUDGET = 1000000

--- Longest string `string.rep` may build inside the sandbox (bytes).
M.REP_MAX = 1024 * 1024

-- The state shared by every engine (there is one Lua state and one string
-- metatable): session depth, the hook and string __index saved on entry,
-- the running call's budget and whether it ran out.
-- The running call, as upvalues (the hot path): its budget, the
-- instructions charged to it so far (`used`, nil while no sandboxed code
-- runs: one upvalue both says whether to charge and counts, so that the
-- engine sets one value, not two, around each rule), whether it ran out,
-- its chunk name; the tick the hook is armed with (`armed`, nil when not
-- armed).
local state = { depth = 0 }
local budget_now, used, exhausted, chunk_now, tick, armed = 0, nil, false, nil, 0, nil

local string_mt = debug_getmetatable("")

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function safe_rep(s, n, sep)
  local ts = type(s)
  if (ts == "string" or ts == "number") and type(n) == "number" and n > 1 then
    local size = #tostring(s)
    if type(sep) == "string" or type(sep) == "number" then size = size + #tostring(sep) end
    if n * size > M.REP_MAX then
      error(format("string.rep: result longer than %d bytes", M.REP_MAX), 2)
    end
  end
  return rep(s, n, sep)
end

-- The string library as the sandbox sees it: no dump, a bounded rep.
local safe_string = {}
for _, name in pairs({ "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
  "match", "reverse", "sub", "upper", "pack", "packsize", "unpack" }) do
  safe_string[name] = string[name]
end
safe_string.rep = safe_rep
-- String methods (`s:upper()`) go through the one shared string metatable,
-- whose __index is the real `string` table: during a session it is switched
-- to this frozen copy so that `("").dump` is nil and nothing can be written
-- through it.
local frozen_string = setmetatable({}, {
  __index = safe_string,
  __newindex = function() error("the string library is read-only", 2) end,
  __metatable = false,
})

local safe_math = copy(math)
safe_math.randomseed = nil          -- global RNG state: not the rules' to reseed

local safe_os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }

-- Re-raise a budget error that sandboxed code tried to catch.
local function rethrow(ok, ...)
  if not ok and exhausted then error((...), 0) end
  return ok, ...
end

local function safe_pcall(f, ...)
  return rethrow(pcall(f, ...))
end

-- A message handler runs before the error unwinds; for an error raised by
-- the budget hook that is still inside the hook, where Lua runs no hooks:
-- a looping handler would never be stopped. So once the budget is spent
-- the rule's handler is not called at all.
local function safe_xpcall(f, handler, ...)
  return rethrow(xpcall(f, function(e)
    if exhausted then return e end
    return handler(e)
  end, ...))
end

-- setmetatable without __gc: a finalizer would run later, outside any
-- budget, in whatever host code triggers the collection.
local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc is not allowed in rules", 2)
  end
  return setmetatable(t, mt)
end

-- getmetatable of tables only: the metatables of strings (shared by every
-- string) and of the core's userdata (shared with the engine) stay out of
-- reach, so no rule can change what a method means for the host.
local function safe_getmetatable(v)
  if type(v) ~= "table" then return nil end
  return getmetatable(v)
end

--- A fresh environment for one rule file.
-- @tparam table api names added to the environment (`params`, `predicate`,
--   `rule`, `core`, `mount_entry`, ...); tables among them are copied
--   shallowly except `params`, which the files share on purpose
-- @tparam table predicates the rule set's predicates, visible by name
--   (through `__index`, so a later definition is the one called)
-- @treturn table the environment (its metatable is protected)
function M.env(api, predicates)
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    pcall = safe_pcall, xpcall = safe_xpcall, select = select, tonumber = tonumber,
    tostring = tostring, type = type, rawequal = rawequal, rawlen = rawlen, rawget = rawget,
    setmetatable = safe_setmetatable, getmetatable = safe_getmetatable, _VERSION = _VERSION,
    string = copy(safe_string), table = copy(table), math = copy(safe_math),
    utf8 = copy(utf8), os = copy(safe_os),
  }
  for k, v in pairs(api) do
    if type(v) == "table" and k ~= "params" then v = copy(v) end
    env[k] = v
  end
  return setmetatable(env, { __index = predicates, __metatable = false })
end

--- Instructions between two runs of the count hook (at most; at most an
-- eighth of the budget).
M.TICK = 1000

-- Armed by the first call (`call`, `first`) after the session starts or
-- after `disarm`, and left armed across the calls that follow: re-arming
-- the hook for each rule call would cost more than the rule. It runs every
-- `tick` instructions and charges them to the running call (`used`, reset
-- by each call); past the budget it raises, and again at every tick after
-- that, so a rule's pcall cannot swallow it. It raises only while sandboxed
-- code runs, never in the engine's own code between two calls. A call is
-- charged whole ticks, so it is stopped after at least `budget - tick` (7/8
-- of the budget) and at most `budget` instructions.
-- The engine's own functions that run while `used` is still counting (the
-- message handlers, and the caller just after the protected call returned):
-- the budget error is never raised in them, only in sandboxed code.
local engine_frames = {}

local function hook()
  local u = used
  if u ~= nil then
    u = u + tick
    used = u
    if u >= budget_now then
      exhausted = true
      if engine_frames[debug_getinfo(2, "f").func] then return end
      error(format("instruction budget exceeded (%d instructions)", budget_now), 2)
    end
  end
end

-- Arm the hook for `budget` (once per session and tick size).
local function arm(budget)
  local t = budget // 8
  if t > M.TICK then t = M.TICK elseif t < 1 then t = 1 end
  if armed ~= t then
    tick, armed = t, t
    debug_sethook(hook, "", t)
  end
end

--- Lua names a chunk in a message by at most LUA_IDSIZE (60) bytes, so a
-- longer path comes out as "..." and its tail: give each such position of
-- `file` its whole path back (an operator's rules directory may be deep).
-- @tparam string msg an error message
-- @tparam string file the chunk's path (its name without the "@")
-- @treturn string the message with whole paths
function M.full_positions(msg, file)
  return (gsub(msg, "%.%.%.([^\n]-):(%d+):", function(tail, line)
    if #tail < #file and sub(file, -#tail) == tail then return file .. ":" .. line .. ":" end
    return nil
  end))
end
local full_positions = M.full_positions

-- Position of the innermost frame of the chunk being loaded, for errors
-- raised without one (error(x, 0), error of a non-string).
local function locate(msg)
  local chunk = chunk_now
  if chunk == nil then return msg end
  local file = sub(chunk, 2)
  if sub(msg, 1, #file + 1) == file .. ":" then return msg end
  for level = 2, 64 do
    local info = debug_getinfo(level, "Sl")
    if info == nil then break end
    if info.source == chunk and info.currentline and info.currentline > 0 then
      return file .. ":" .. info.currentline .. ": " .. msg
    end
  end
  return file .. ": " .. msg
end

-- This file, as positions in error messages name it: a rule's `when` that
-- raises with level 2 would otherwise be blamed on `run_rules` below.
local own_prefix = debug_getinfo(1, "S").short_src .. ":"

local function handler(e)
  if type(e) ~= "string" then
    -- never call a metamethod of a value sandboxed code raised
    e = "(error object is a " .. type(e) .. " value)"
  elseif own_prefix and sub(e, 1, #own_prefix) == own_prefix then
    -- error(msg, 2) in a rule's own `when` names the engine's caller
    e = gsub(sub(e, #own_prefix + 1), "^%d+: ", "", 1)
  end
  if chunk_now ~= nil then e = full_positions(e, sub(chunk_now, 2)) end
  return locate(e)
end

local function leave(ok, ...)
  if state.depth == 1 then
    string_mt.__index = state.saved_index
    local saved_hook = state.saved_hook
    if type(saved_hook) == "function" then
      debug_sethook(saved_hook, state.saved_mask, state.saved_count)
    else
      debug_sethook()
    end
    state.saved_hook, state.saved_mask, state.saved_count, state.saved_index = nil, nil, nil, nil
    armed = nil
    exhausted = false
    used = nil
    chunk_now = nil
  end
  state.depth = state.depth - 1
  if not ok then error((...), 0) end
  return ...
end

--- Run `fn(...)` in a session: sandboxed code may run. Nests; restores the
-- host's hook and string metatable on the way out, whatever happens.
-- Errors raised by `fn` itself propagate (after the restore).
-- @tparam function fn
-- @return what `fn` returns
function M.session(fn, ...)
  state.depth = state.depth + 1
  if state.depth == 1 then
    state.saved_hook, state.saved_mask, state.saved_count = debug_gethook()
    state.saved_index = string_mt.__index
    string_mt.__index = frozen_string
  end
  return leave(pcall(fn, ...))
end

local function done(ok, ...)
  used = nil
  return ok, ...
end

-- A call under `budget` begins: the hook armed for it, nothing charged.
local function start(budget)
  if armed == nil or budget ~= budget_now then arm(budget) end
  exhausted = false
  budget_now = budget
end

--- Call sandboxed `fn(...)` under an instruction budget (inside a session).
-- An error raised without a position (`error(x, 0)`, a non-string error)
-- gets the innermost line of `chunkname`'s file that is on the stack.
-- @tparam integer budget instructions allowed
-- @tparam ?string chunkname `"@" .. path` of the file `fn` comes from
-- @tparam function fn
-- @treturn boolean true when `fn` returned, false when it raised
-- @return `fn`'s results, or the error message (a string)
function M.call(budget, chunkname, fn, ...)
  start(budget)
  chunk_now = chunkname
  used = 0
  return done(xpcall(fn, handler, ...))
end

-- The rule running under `first`, for the position and the message of a
-- failure (its chunk is looked up only when it fails).
local current = nil

local function first_handler(e)
  chunk_now = current and current.chunk
  return handler(e)
end

-- Each rule's `when(a, b)` in order, until one returns true. Runs inside
-- one protected call: a rule that raises fails the whole evaluation, as one
-- protected call per rule would, and each rule is charged to a budget of
-- its own (`used` is reset before each).
local function run_rules(rules, a, b)
  for i = 1, #rules do
    local r = rules[i]
    current = r
    used = 0
    local matched, why = r.when(a, b)
    used = nil
    if matched then return r, why end
  end
  return nil
end

-- The same, `on_result(r, matched, why)` seeing every rule's answer outside
-- the budget (`used` nil): explaining.
local function run_rules_traced(rules, a, b, on_result)
  for i = 1, #rules do
    local r = rules[i]
    current = r
    used = 0
    local matched, why = r.when(a, b)
    used = nil
    on_result(r, matched, why)
    if matched then return r, why end
  end
  return nil
end

--- Evaluate rules in order (inside a session): the first whose
-- `when(a, b)` returns true. One protected call for the whole list, each
-- rule under its own budget of `budget` instructions.
-- @tparam integer budget
-- @tparam {table,...} rules `{when=, chunk=}` each
-- @param a
-- @param b
-- @tparam ?function on_result `on_result(r, matched, why)` after each rule
-- @treturn[1] boolean true
-- @treturn[1] ?table the rule that matched (nil: none did)
-- @treturn[1] the reason it gave
-- @treturn[2] boolean false
-- @treturn[2] table the rule that raised
-- @treturn[2] string its message
function M.first(budget, rules, a, b, on_result)
  start(budget)
  current = nil
  local ok, r, why
  if on_result then
    ok, r, why = xpcall(run_rules_traced, first_handler, rules, a, b, on_result)
  else
    ok, r, why = xpcall(run_rules, first_handler, rules, a, b)
  end
  used = nil
  if not ok then return false, current, r end
  return true, r, why
end

--- Disarm the hook until the next call (inside a session): the engine's
-- own code between two decisions then runs without the count hook's cost.
function M.disarm()
  if armed ~= nil then
    armed = nil
    debug_sethook()
  end
end

for _, f in ipairs({ locate, handler, first_handler, done, M.call, M.first }) do
  engine_frames[f] = true
end

-- exported for tests
M._state = state
M._safe_string = safe_string

return M
