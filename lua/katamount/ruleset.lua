--- One engine's rule set, inside its rule state (c/rulestate.c).
--
-- The engine's own (trusted) code, loaded into the rule state by
-- `katamount.engine`: the rule API (`params`, `predicate`, `rule`), the
-- loading of rule files (their text crosses in, they are compiled and run
-- here), the memoised facts and the decisions. The host calls the entries
-- exported at the end (`st:call(name, ...)`) with plain data and gets plain
-- data back: decisions, reasons, traces, predicate answers, param values.
-- @module katamount.ruleset
local rt = require("katamount.runtime")
local core = require("katamount.core")
local facts = require("katamount.facts")
local sandbox = require("katamount.sandbox")

local type, error, pairs, ipairs, tostring, next = type, error, pairs, ipairs, tostring, next
local setmetatable, rawget, rawlen, load = setmetatable, rawget, rawlen, load
local math_type = math.type
local format, sub, find, gsub = string.format, string.sub, string.find, string.gsub
local concat, sort, pack, unpack = table.concat, table.sort, table.pack, table.unpack
local debug_getinfo = debug.getinfo

local E = {}

-- The facts' state: the memo of the running plan/decision, the mount table.
local state = { memo = nil, mtab = nil }
local helpers = nil

local rs = { params = {}, param_where = {}, predicates = {}, predicate_info = {}, rules = {},
  mount_rules = {}, rootfs_rules = {}, files = {}, loading = false }
-- ctx as rules see it: the caller's settings over these params
rs.ctx_mt = { __index = rs.params, __metatable = false }

-- what rule files see as `params`: reads go to rs.params, each assignment
-- records its file:line; iterating never hands out rs.params itself
local params_view
do
  local function where_set()
    local info = debug_getinfo(3, "Sl")
    if info == nil then return "?:0" end
    local file = sub(info.source, 1, 1) == "@" and sub(info.source, 2) or info.short_src
    return file .. ":" .. info.currentline
  end
  local params = rs.params
  local function params_next(_, k) return next(params, k) end
  params_view = setmetatable({}, {
    __index = params,
    __newindex = function(_, k, v)
      rs.param_where[k] = where_set()
      params[k] = v
    end,
    __pairs = function(t) return params_next, t, nil end,
    __len = function() return #params end,
    __metatable = false,
  })
end

-- Counting wrappers of the core (tests: `new{_spy = true}`).
local spied = {}
local function spy_core(real)
  local c = {}
  for k, v in pairs(real) do c[k] = v end
  for name, f in pairs(real) do
    if type(f) == "function" then
      c[name] = function(a, ...)
        local rest = pack(...)
        local parts = {}
        for i = 1, rest.n do parts[i] = tostring(rest[i]) end
        local key = name .. " " .. tostring(a) .. " " .. concat(parts, " ")
        spied[key] = (spied[key] or 0) + 1
        return f(a, ...)
      end
    end
  end
  return c
end

--- Bind the facts: `{mountinfo=, _spy=}`.
-- @treturn string how mount entries are looked up (`"statmount"` or `"table"`)
function E.configure(opts)
  local c = core
  if opts._spy then c = spy_core(core) end
  helpers = facts.new(state, c, opts.mountinfo, nil, sandbox.freeze)
  return helpers.mount_lookup
end

--- The core calls counted since the last call (`_spy` engines).
function E.spied()
  local out = spied
  spied = {}
  return out
end

local function where()
  -- level 1: this function, 2: predicate()/rule(), 3: the rule file
  local info = debug_getinfo(3, "Sl")
  if info == nil then return "?", 0 end
  local file = sub(info.source, 1, 1) == "@" and sub(info.source, 2) or info.short_src
  return file, info.currentline
end

local SCOPES = { mount = true, rootfs = true }

local function predicate(name, fn)
  if not rs.loading then error("predicate: rules are defined only while their file loads", 2) end
  if type(name) ~= "string" or not find(name, "^[%a_][%w_]*$") then
    error("predicate: the name must be an identifier, got " .. tostring(name), 2)
  end
  if type(fn) ~= "function" then
    error("predicate '" .. name .. "': expects a function, got " .. type(fn), 2)
  end
  local file, line = where()
  rs.predicates[name] = fn
  rs.predicate_info[name] = { file = file, line = line }
end

local function rule(spec)
  if not rs.loading then error("rule: rules are defined only while their file loads", 2) end
  if type(spec) ~= "table" then
    error("rule: expects a table { name = ..., order = ..., when = ..., class = ..., action = ... }", 2)
  end
  local name = spec.name
  if type(name) ~= "string" or name == "" then
    error("rule: name must be a non-empty string, got " .. tostring(name), 2)
  end
  if spec.disabled == true then
    rs.rules[name] = nil
    return
  end
  local order, scope, when = spec.order, spec.scope or "mount", spec.when
  if math_type(order) == nil or order ~= order then
    error("rule '" .. name .. "': order must be a number", 2)
  end
  if type(scope) ~= "string" or not SCOPES[scope] then
    error("rule '" .. name .. "': scope must be \"mount\" or \"rootfs\", got " .. tostring(scope), 2)
  end
  if type(when) ~= "function" then
    error("rule '" .. name .. "': when must be a function", 2)
  end
  local class, action, why = spec.class, spec.action, spec.why
  for _, field in ipairs({ "class", "action" }) do
    local v = spec[field]
    if type(v) ~= "string" or v == "" then
      error("rule '" .. name .. "': " .. field .. " must be a non-empty string", 2)
    end
  end
  if why ~= nil and type(why) ~= "string" then
    error("rule '" .. name .. "': why must be a string", 2)
  end
  local file, line = where()
  rs.rules[name] = {
    name = name, order = order, scope = scope, when = when, class = class,
    action = action, why = why, file = file, line = line,
  }
end

-- Lua names a chunk in a message by at most LUA_IDSIZE (60) bytes, so a
-- longer path comes out as "..." and its tail: give each such position of
-- `file` its whole path back (an operator's rules directory may be deep).
-- (Errors raised while a file or rule runs get theirs in the C handler.)
local function full_positions(msg, file)
  return (gsub(msg, "%.%.%.([^\n]-):(%d+):", function(tail, line)
    if #tail < #file and sub(file, -#tail) == tail then return file .. ":" .. line .. ":" end
    return nil
  end))
end

--- Compile and run one rule file (its text crossed in).
-- @tparam string path
-- @tparam string text
-- @treturn[1] boolean true
-- @return[2] nil, `path:line: message`
function E.load_file(path, text)
  rs.loading = true
  local env = sandbox.env({
    params = params_view, predicate = predicate, rule = rule, core = helpers.core,
    mount_entry = helpers.mount_entry, device_for_path = helpers.device_for_path,
    count_files = helpers.count_files,
  }, rs.predicates)
  local chunk, lerr = load(text, "@" .. path, "t", env)
  if not chunk then
    rs.loading = false
    return nil, full_positions(sandbox.message(lerr), path)
  end
  local ok, err = sandbox.load_file(chunk, path)
  rs.loading = false
  if not ok then return nil, err end
  rs.files[#rs.files + 1] = path
  return true
end

local function by_order(a, b)
  if a.order ~= b.order then return a.order < b.order end
  return a.name < b.name
end

--- Every file loaded: the rules sorted; what the host keeps of them.
-- @treturn table `{rules = {{name=, order=, scope=, class=, action=, file=,
--   line=, why=}...}, predicates = {name = true}, files = {...}}`
function E.finish()
  for _, r in pairs(rs.rules) do
    local list = r.scope == "rootfs" and rs.rootfs_rules or rs.mount_rules
    list[#list + 1] = r
  end
  sort(rs.mount_rules, by_order)
  sort(rs.rootfs_rules, by_order)
  local out = { rules = {}, predicates = {}, files = rs.files }
  for _, list in ipairs({ rs.mount_rules, rs.rootfs_rules }) do
    for _, r in ipairs(list) do
      out.rules[#out.rules + 1] = { name = r.name, order = r.order, scope = r.scope, class = r.class,
        action = r.action, file = r.file, line = r.line, why = r.why }
    end
  end
  for name in pairs(rs.predicates) do out.predicates[name] = true end
  return out
end

--- The params (plain copies: functions dropped, metatables not kept).
function E.params()
  return sandbox.plain(rs.params)
end

--- Where each param was last set.
function E.param_sources()
  return sandbox.plain(rs.param_where)
end

local function call_done(name, info, ok, ...)
  state.memo = nil
  if not ok then
    return false, format("predicate '%s' (%s:%d): %s", name, info.file, info.line, (...))
  end
  local r = pack(...)
  for i = 1, r.n do r[i] = sandbox.plain(r[i]) end
  return true, unpack(r, 1, r.n)
end

--- Call predicate `name` under the budget, with facts memoised for the call.
-- @return true and its answers (plain copies), or false, message
function E.call(name, ...)
  local fn = rs.predicates[name]
  if fn == nil then return false, "predicate '" .. tostring(name) .. "' is not defined" end
  state.memo = {}
  sandbox.begin()
  return call_done(name, rs.predicate_info[name], sandbox.call(fn, ...))
end

-- The reason(s) a rule gave, as a fresh list of strings (never touching
-- metamethods of what rule code returned).
local function reasons_of(why, matched, r)
  local t = type(why)
  if t == "string" then return { why } end
  if t == "table" then
    local out = {}
    for i = 1, rawlen(why) do
      local v = rawget(why, i)
      if type(v) == "string" then out[#out + 1] = v end
    end
    if #out > 0 then return out end
  end
  if matched then return { r.why or ("rule '" .. r.name .. "' matched") } end
  return { "no match" }
end

-- Decide one job `{fields=, scope=, mounted=, target=, parts=}` with settings
-- `c` (already over the params); `good`: the layers decided so far (rootfs).
local function decide(job, c, explain, good)
  rt.restart()
  sandbox.begin()
  local f = job.fields
  local base = { source = f.source, destination = f.destination, type = f.type,
    options = sandbox.overlay(f.options or {}), scope = job.scope }
  if job.scope == "rootfs" then
    base.layers = sandbox.freeze(good or {})
    base.mounted = job.mounted == true
    base.target = job.target
    base.parts = sandbox.freeze(job.parts or {})
  end
  local m = sandbox.overlay(helpers.mount(base))
  local ctx = sandbox.overlay(c)
  local rules = job.scope == "rootfs" and rs.rootfs_rules or rs.mount_rules
  local trace, on_result = nil, nil
  if explain then
    trace = {}
    on_result = function(r, matched, why)
      trace[#trace + 1] = { name = r.name, order = r.order, matched = not not matched,
        why = concat(reasons_of(why, matched, r), "; "), file = r.file, line = r.line }
    end
  end
  local ok, r, why = sandbox.first(rules, m, ctx, on_result)
  if not ok then
    if r == nil then return { error = why, trace = trace } end
    return { error = format("rule '%s' (%s:%d): %s", r.name, r.file, r.line, why), trace = trace }
  end
  if r == nil then return { error = "no rule matched", trace = trace } end
  return { class = r.class, action = r.action, rule = r.name, reasons = reasons_of(why, true, r),
    trace = trace }
end

--- Decide one mount: `job` `{fields=, scope=}`, the caller's settings.
-- @treturn table `{class=, action=, rule=, reasons=, trace=}` or `{error=, trace=}`
function E.classify(job, ctx, explain)
  state.memo = {}
  local res = decide(job, setmetatable(ctx, rs.ctx_mt), explain)
  state.memo = nil
  return res
end

--- Decide the jobs of a plan in order, one memo for all; the rootfs job
-- (`scope = "rootfs"`) sees the layers whose job (`layer_info=`) was decided,
-- each with the class and action decided for it.
-- @treturn {table,...} one result per job (as `classify`'s)
function E.plan(jobs, ctx, explain)
  state.memo = {}
  local c = setmetatable(ctx, rs.ctx_mt)
  local out, good = {}, {}
  for i, job in ipairs(jobs) do
    local res = decide(job, c, explain, good)
    if job.layer_info and res.error == nil then
      local l = job.layer_info
      good[#good + 1] = { source = l.source, destination = l.destination, type = l.type,
        options = l.options, class = res.class, action = res.action }
    end
    out[i] = res
  end
  state.memo = nil
  return out
end

rt.export(E)

return E
