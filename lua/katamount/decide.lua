--- Decisions: classify one mount, plan a whole OCI spec.
--
-- A decision is the first rule (lowest `order`) of the right scope whose
-- `when(m, ctx)` returns true. `when` may return a second value, the reason
-- (a string, or a list of strings), which goes to the decision's `reasons`
-- and to the trace. Each `when` runs under the instruction budget; a rule
-- that raises or runs away fails that one decision, naming the rule and
-- where it is defined.
-- @module katamount.decide
local sandbox = require("katamount.sandbox")
local layers = require("katamount.layers")

local M = {}

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local setmetatable, getmetatable, rawget, rawlen = setmetatable, getmetatable, rawget, rawlen
local format = string.format
local sandbox_first, sandbox_session, sandbox_disarm = sandbox.first, sandbox.session, sandbox.disarm
local concat, unpack = table.concat, table.unpack

--- The option that marks an OCI mount as a layer of a kata overlay rootfs.
M.IS_LAYER = "io.katacontainers.fs-opt.is-layer"

-- The reason(s) a rule gave, as a fresh list of strings (never touching
-- metamethods of what sandboxed code returned).
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

--- Evaluate rules in order against one mount object, then disarm the
-- budget hook: what the engine does with the answer (reasons, messages, the
-- decision) runs without the count hook's cost.
-- @treturn[1] table the matched rule
-- @treturn[1] table its reasons
-- @treturn[1] ?table the trace (when explaining)
-- @return[2] nil, message, trace
local function evaluate(rules, m, ctx, explain, budget)
  local trace, on_result = nil, nil
  if explain then
    trace = {}
    on_result = function(r, matched, why)
      trace[#trace + 1] = { name = r.name, order = r.order, matched = not not matched,
        why = concat(reasons_of(why, matched, r), "; "), file = r.file, line = r.line }
    end
  end
  local ok, r, why = sandbox_first(budget, rules, m, ctx, on_result)
  -- the hook is armed again by the next mount's first rule
  sandbox_disarm()
  if not ok then
    return nil, format("rule '%s' (%s:%d): %s", r.name, r.file, r.line, why), trace
  end
  if r == nil then return nil, "no rule matched", trace end
  return r, reasons_of(why, true, r), trace
end

-- A list copied at once (a table constructor sizes it: no regrowth); past
-- 32 entries, one by one (unpack would put them all on the stack).
local function copy_list(list, n)
  if n <= 32 then return { unpack(list, 1, n) } end
  local out = {}
  for i = 1, n do out[i] = list[i] end
  return out
end

local function copy_options(options)
  return copy_list(options, #options)
end

-- Fields shaped as the decision they become: the constructor sizes the
-- table for the decision's keys too (nil now), so that `decision` fills it
-- in place rather than building a second table or growing this one.
local function shaped(source, destination, mtype, options)
  return { source = source, destination = destination, type = mtype, options = options,
    class = nil, action = nil, rule = nil, reasons = nil }
end

local function bad_option(i, o)
  return nil, format("mount option %d must be a string, got %s", i, type(o))
end

-- The options checked and copied, up to the first nil (as ipairs walks
-- them). A plain table is checked first, then copied at once; a table with
-- a metatable is read element by element once, as ipairs would (an __index
-- may answer differently a second time).
local function check_options(options)
  if getmetatable(options) == nil then
    local n, o = 0, options[1]
    while o ~= nil do
      n = n + 1
      if type(o) ~= "string" then return bad_option(n, o) end
      o = options[n + 1]
    end
    return copy_list(options, n)
  end
  local opts = {}
  for i, o in ipairs(options) do
    if type(o) ~= "string" then return bad_option(i, o) end
    opts[i] = o
  end
  return opts
end

--- Check and normalise one OCI mount: `{source=, destination=, type=, options=}`.
-- @treturn[1] table fields (fresh; options copied)
-- @return[2] nil, message
function M.fields(mount)
  local source, destination, mtype, options = mount.source, mount.destination, mount.type, mount.options
  if source == nil then source = "" end
  if destination == nil then destination = "" end
  if mtype == nil then mtype = "" end
  if options == nil then options = {} end
  if type(source) ~= "string" then return nil, "mount source must be a string, got " .. type(source) end
  if type(destination) ~= "string" then
    return nil, "mount destination must be a string, got " .. type(destination)
  end
  if type(mtype) ~= "string" then return nil, "mount type must be a string, got " .. type(mtype) end
  if type(options) ~= "table" then return nil, "mount options must be a list, got " .. type(options) end
  local opts, err = check_options(options)
  if not opts then return nil, err end
  return shaped(source, destination, mtype, opts)
end

-- The decision: the mount's fields (`f`, from `shaped`) with what the rule
-- decided, filled in place.
local function decision(r, reasons, f, trace)
  f.class, f.action, f.rule, f.reasons = r.class, r.action, r.name, reasons
  if trace then f.trace = trace end
  return f
end

local function failed(f, message, trace)
  local d = { error = message, source = f.source, destination = f.destination, type = f.type,
    options = f.options or {} }
  if trace then d.trace = trace end
  return d
end

-- ctx as rules see it: the caller's settings over the rules' params.
local function settings(rs, ctx)
  local c = {}
  if ctx ~= nil then
    for k, v in pairs(ctx) do c[k] = v end
  end
  return setmetatable(c, rs.ctx_mt)
end

-- Decide one mount of `scope` ("mount" or "rootfs") from checked fields.
-- `f` stays the engine's; rules get a copy they may scribble on.
local function decide(engine, rs, f, scope, extra, c, explain)
  local m = engine.helpers.mount({ source = f.source, destination = f.destination, type = f.type,
    options = copy_options(f.options), scope = scope })
  if extra then
    for k, v in pairs(extra) do m[k] = v end
  end
  local rules = scope == "rootfs" and rs.rootfs_rules or rs.mount_rules
  local r, reasons, trace = evaluate(rules, m, c, explain, engine.budget)
  if not r then return nil, reasons, trace end
  return decision(r, reasons, f, trace)
end

local function memo_done(state, ok, ...)
  state.memo = nil
  if not ok then error((...), 0) end
  return ...
end

-- Run fn under one memo (facts shared by the whole call) in a session.
local function with_memo(engine, fn, ...)
  local state = engine.state
  if state.memo ~= nil then return sandbox_session(fn, ...) end
  state.memo = {}
  return memo_done(state, pcall(sandbox_session, fn, ...))
end
M.with_memo = with_memo

local function classify(engine, rs, f, c, explain)
  local d, err = decide(engine, rs, f, "mount", nil, c, explain)
  if not d then return nil, err end
  return d
end

--- Decide one OCI mount.
-- @tparam table engine
-- @tparam table mount `{source=, destination=, type=, options={}}`
-- @tparam ?table ctx settings over the rules' params; `explain = true` adds `trace`
-- @treturn[1] table the decision
-- @return[2] nil, message
function M.classify(engine, mount, ctx)
  if type(mount) ~= "table" then
    error("bad argument #1 to 'classify' (table expected, got " .. type(mount) .. ")", 2)
  end
  if ctx ~= nil and type(ctx) ~= "table" then
    error("bad argument #2 to 'classify' (table expected, got " .. type(ctx) .. ")", 2)
  end
  local f, err = M.fields(mount)
  if not f then return nil, err end
  local rs = engine.ruleset
  return with_memo(engine, classify, engine, rs, f, settings(rs, ctx), ctx and ctx.explain)
end

-- The root filesystem as the runtime received it.
local function root_fields(spec, ctx)
  local root = ctx and ctx.rootfs
  if root ~= nil then
    if type(root) ~= "table" then return nil, "ctx.rootfs must be a table, got " .. type(root) end
    local f, err = M.fields({ source = root.source, destination = root.target or "/",
      type = root.type, options = root.options })
    if not f then return nil, "rootfs: " .. err end
    return f, root.mounted
  end
  local path = type(spec.root) == "table" and spec.root.path or nil
  if type(path) ~= "string" then
    return nil, "no root filesystem: neither ctx.rootfs nor spec.root.path is given"
  end
  return shaped(path, "/", "", {})
end

local function plan(engine, rs, spec, ctx, c, explain)
  local out = { mounts = {}, layers = {} }
  local errors = {}
  local mounts = spec.mounts
  if mounts ~= nil and type(mounts) ~= "table" then
    errors[#errors + 1] = "spec.mounts must be a list, got " .. type(mounts)
    mounts = nil
  end
  for i, mount in ipairs(mounts or {}) do
    local f, err, d, trace
    if type(mount) ~= "table" then
      err = "mount must be a table, got " .. type(mount)
      f = { source = "", destination = "", type = "", options = {} }
    else
      f, err = M.fields(mount)
      if not f then f = { source = "", destination = "", type = "", options = {} } end
    end
    if not err then
      d, err, trace = decide(engine, rs, f, "mount", nil, c, explain)
    end
    if not d then
      d = failed(f, err, trace)
      errors[#errors + 1] = format("mount %d (%s): %s", i, tostring(f.destination), err)
    end
    out.mounts[i] = d
  end

  local root, mounted = root_fields(spec, ctx)
  if not root then
    out.rootfs = { error = mounted, source = "", destination = "/", type = "", options = {} }
    errors[#errors + 1] = "rootfs: " .. mounted
    return out, errors
  end
  -- Each io.katacontainers.fs-opt.layer= option of the root is a layer,
  -- decided as a mount marked with the is-layer option.
  local good = {}
  for _, o in ipairs(root.options) do
    if o:sub(1, #layers.PREFIX) == layers.PREFIX then
      local layer, lerr = layers.parse(o)
      local d, trace
      if layer then
        local lopts = copy_options(layer.options)
        lopts[#lopts + 1] = M.IS_LAYER
        local f = shaped(layer.source, layer.mount_point, layer.type, lopts)
        d, lerr, trace = decide(engine, rs, f, "mount", { layer = true }, c, explain)
        if d then
          d.mount_point = layer.mount_point
          good[#good + 1] = layer
        else
          d = failed(f, lerr, trace)
        end
      else
        d = failed({ source = "", destination = "", type = "" }, lerr)
      end
      d.option = o
      if d.error then errors[#errors + 1] = "layer: " .. d.error end
      out.layers[#out.layers + 1] = d
    end
  end
  local d, rerr, trace = decide(engine, rs, root, "rootfs", { layers = good, mounted = mounted }, c,
    explain)
  if not d then
    d = failed(root, rerr, trace)
    errors[#errors + 1] = "rootfs: " .. rerr
  end
  out.rootfs = d
  return out, errors
end

--- Decide every mount of a decoded OCI spec, its root filesystem and its layers.
-- @tparam table engine
-- @tparam table spec the decoded config.json (`mounts`, `root.path`)
-- @tparam ?table ctx settings, `rootfs = {source=, target=, type=, options=, mounted=}`,
--   `explain`
-- @treturn table `{mounts = {decision...}, rootfs = decision, layers = {decision...}}`
-- @treturn {string,...} the errors (empty when every decision was made)
function M.plan(engine, spec, ctx)
  if type(spec) ~= "table" then
    error("bad argument #1 to 'plan' (table expected, got " .. type(spec) .. ")", 2)
  end
  if ctx ~= nil and type(ctx) ~= "table" then
    error("bad argument #2 to 'plan' (table expected, got " .. type(ctx) .. ")", 2)
  end
  local rs = engine.ruleset
  return with_memo(engine, plan, engine, rs, spec, ctx, settings(rs, ctx), ctx and ctx.explain)
end

return M
