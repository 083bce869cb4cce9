--- The rule sandbox, run inside an engine's rule state (c/rulestate.c).
--
-- This module is the engine's own (trusted) code, loaded into the rule
-- state by `katamount.engine`; the host never runs it. It builds each rule
-- file's environment, an allow-list (never a blocklist) of the state's
-- bounded libraries plus the rule API, and runs rule code: `runtime.call`
-- and `runtime.first` give each rule a whole instruction budget, the state's count
-- hook stops it past the budget or the call's deadline, and the state's
-- allocator past its memory limit; `pcall`/`xpcall` in rules cannot
-- swallow any of those. The state's own string metatable serves string
-- methods (no swapping): its library has no `dump` and bounded functions.
--
-- Facts handed to rules are frozen (`freeze_owned`: read-only views) and the
-- mount and ctx of a decision are overlays (`new_overlay`): what a rule
-- writes on them is its own, gone before the next rule runs.
-- @module katamount.sandbox
local rt = require("katamount.runtime")

local M = {}

local type, error, pcall, xpcall, next, select = type, error, pcall, xpcall, next, select
local setmetatable, getmetatable, rawget, rawset, rawlen = setmetatable, getmetatable, rawget, rawset,
  rawlen
local pairs, tostring, sub = pairs, tostring, string.sub
local tripped = rt.tripped
local write, written = rt.write, rt.written

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local safe_math = copy(math)
safe_math.randomseed = nil          -- the state's RNG: not the rules' to reseed

--- Deepest table nesting `freeze_owned` freezes and `plain` copies.
M.DEPTH_MAX = 32

-- Frozen views: a proxy whose metatable's __newindex is ro_write shows
-- its metatable's __index (found with debug.getmetatable: no weak table).
local debug_getmetatable = debug.getmetatable

local function ro_write() error("facts are read-only", 2) end

-- The table a frozen view shows, or nil when `t` is none.
local function inner_of(t)
  local mt = debug_getmetatable(t)
  if mt ~= nil and rawget(mt, "__newindex") == ro_write then return rawget(mt, "__index") end
  return nil
end

local function ro_len(t) return #inner_of(t) end
local function ro_next(t, k) return next(inner_of(t), k) end
local function ro_pairs(t) return ro_next, t, nil end

--- A read-only view of a table nothing else refers to (a core call's
-- fresh answer, a table the boundary just copied in): `v` itself becomes
-- the view's hidden table, its nested tables frozen in place, without a
-- copy (runtime.freezer's, in C). Writing raises; `pairs`, `#`, `next`,
-- `rawget` and `rawlen` in rules see through it.
-- @function freeze_owned
-- @param v
-- @return the view (or `v` when it is not a table)
M.freeze_owned = rt.freezer(ro_write, ro_len, ro_pairs, M.DEPTH_MAX)

-- Overlays (below): reads fall through to a base table, writes stay on the
-- overlay. Their state is declared here for plain_at: the overlays made,
-- and each one's metatable.
local overlays, overlay_mt = {}, {}

-- The table an overlay shows through, or nil when `t` is none.
local function overlay_base(t)
  local mt = overlay_mt[t]
  return mt ~= nil and mt.__index or nil
end

local function plain_at(v, depth)
  local t = type(v)
  if t == "function" or t == "userdata" or t == "thread" then return nil end
  if t ~= "table" then return v end
  if depth > M.DEPTH_MAX then return nil end
  local out = {}
  -- an overlay (m, m.options, ctx): its base's entries, then its own
  local base = overlay_base(v)
  if base ~= nil then
    for k, x in next, inner_of(base) or base do
      local tk = type(k)
      if tk == "string" or tk == "number" or tk == "boolean" then out[k] = plain_at(x, depth + 1) end
    end
  end
  for k, x in next, inner_of(v) or v do
    local tk = type(k)
    if tk == "string" or tk == "number" or tk == "boolean" then out[k] = plain_at(x, depth + 1) end
  end
  return out
end

--- A plain copy of `v` for the host: tables read raw (no metamethod runs,
-- no metatable kept), frozen views unwrapped, functions dropped.
-- @param v
-- @return the copy
function M.plain(v) return plain_at(v, 0) end

-- The deepest level (the top table's is 0) the boundary copies: its
-- KM_BOUNDARY_DEPTH_MAX (32) tables nested.
local PLAIN_LEVELS = 31
M.PLAIN_LEVELS = PLAIN_LEVELS

--- Whether `v` is plain data already: no metatable at any level, keys and
-- leaves strings, numbers or booleans, at most as deep as the boundary
-- copies (runtime.is_plain).
-- @param v
-- @treturn boolean
function M.is_plain(v) return rt.is_plain(v, PLAIN_LEVELS) end

--- `v` itself when it is plain data already (what a translation builds:
-- checked, not copied), else `plain(v)`. What crosses to the host is
-- copied there by the boundary in any case.
-- @param v
-- @return `v` or its plain copy
function M.as_plain(v)
  if rt.is_plain(v, PLAIN_LEVELS) then return v end
  return plain_at(v, 0)
end

-- next/rawget/rawlen that see through frozen views.
local function safe_next(t, k)
  local i = inner_of(t)
  if i ~= nil then return next(i, k) end
  return next(t, k)
end
local function safe_rawget(t, k)
  local i = inner_of(t)
  if i ~= nil then return rawget(i, k) end
  return rawget(t, k)
end
local function safe_rawlen(t)
  local i = inner_of(t)
  if i ~= nil then return rawlen(i) end
  return rawlen(t)
end

-- Overlays: reads fall through to a base table, writes stay on the
-- overlay (runtime.write, which marks it written), which is cleared before
-- the next rule runs. The engine makes each overlay a decision uses once
-- and re-points it at each decision's table (no allocation, no call per
-- decision).

local function ov_len(t)
  local n = #overlay_base(t)
  while t[n + 1] ~= nil do n = n + 1 end
  return n
end
local function ov_pairs(t)
  local merged = {}
  for k, v in next, overlay_base(t) do merged[k] = v end
  for k, v in next, t do merged[k] = v end
  return next, merged, nil
end

local function clear_overlays()
  for i = 1, #overlays do
    local p = overlays[i]
    for k in next, p do rawset(p, k, nil) end
  end
  written(false)
end

local EMPTY = setmetatable({}, { __newindex = ro_write, __metatable = false })

--- A new overlay, for the engine to re-point at each decision's table by
-- setting its metatable's `__index` (one store: no call, no allocation per
-- decision). Rules never reach the metatable (`__metatable` is false).
-- It shows an empty table until it is pointed.
-- @treturn table the overlay
-- @treturn table its metatable
function M.new_overlay()
  local mt = { __index = EMPTY, __newindex = write, __len = ov_len, __pairs = ov_pairs,
    __metatable = false }
  local p = setmetatable({}, mt)
  overlays[#overlays + 1], overlay_mt[p] = p, mt
  return p, mt
end

--- A decision begins: what a rule wrote on the overlays is cleared.
function M.begin()
  if written() then clear_overlays() end
end

--- Clear what rules wrote on the overlays (the engine's decision begins
-- with it when `runtime.restart()` says an overlay was written).
-- @function clear
M.clear = clear_overlays

--- The message of a failed protected call: what stopped the rule (memory,
-- budget, deadline) when the error itself does not say (runtime.message).
-- @function message
-- @param e the error value
-- @treturn string
M.message = rt.message

-- Raise again what stopped the rule, when a rule's pcall caught it.
local function rethrow(ok, ...)
  if not ok then
    local t = tripped()
    if t then error(t, 0) end
  end
  return ok, ...
end

local function safe_pcall(f, ...)
  return rethrow(pcall(f, ...))
end

-- A message handler of a rule runs inside the hook when the budget stops
-- the rule (no hook runs there): once stopped, the rule's handler is not
-- called at all.
local function safe_xpcall(f, h, ...)
  return rethrow(xpcall(f, function(e)
    if tripped() then return e end
    return h(e)
  end, ...))
end

-- setmetatable without __gc: a finalizer would run later, outside any
-- rule's budget.
local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc is not allowed in rules", 2)
  end
  return setmetatable(t, mt)
end

-- getmetatable of tables only: the string metatable and the core's
-- userdata metatables stay out of reach.
local function safe_getmetatable(v)
  if type(v) ~= "table" then return nil end
  return getmetatable(v)
end

--- A fresh environment for one rule file.
-- @tparam table api names added to the environment (`params`, `predicate`,
--   `rule`, `core`, ...); tables among them are copied shallowly except
--   `params`, which the files share on purpose
-- @tparam table predicates the rule set's predicates, visible by name
-- @treturn table the environment (its metatable is protected)
function M.env(api, predicates)
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = safe_next, pairs = pairs,
    pcall = safe_pcall, xpcall = safe_xpcall, select = select, tonumber = tonumber,
    tostring = tostring, type = type, rawequal = rawequal, rawlen = safe_rawlen, rawget = safe_rawget,
    setmetatable = safe_setmetatable, getmetatable = safe_getmetatable, _VERSION = _VERSION,
    string = copy(string), table = copy(table), math = copy(safe_math),
    utf8 = copy(utf8), os = copy(os),
  }
  for k, v in pairs(api) do
    if type(v) == "table" and k ~= "params" then v = copy(v) end
    env[k] = v
  end
  return setmetatable(env, { __index = predicates, __metatable = false })
end

--- Call rule code `fn(...)` under a whole budget (runtime.call, in C).
-- @function call
-- @tparam function fn
-- @treturn boolean true when `fn` returned, false when it raised or was stopped
-- @return `fn`'s results, or the message (a string, `file:line: ...`)
M.call = rt.call

--- Run a rule file's chunk: `true`, or `false, "path:line: message"`.
-- @tparam function chunk
-- @tparam string path
function M.load_file(chunk, path)
  rt.restart()
  rt.lines(true)
  local ok, err = M.call(chunk)
  local line = rt.line()
  rt.lines(false)
  if ok then return true end
  if sub(err, 1, #path + 1) ~= path .. ":" then
    err = path .. ":" .. (line > 0 and line .. ": " or " ") .. err
  end
  return false, err
end

return M
