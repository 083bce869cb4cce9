--- Decisions: classify one mount, plan a whole OCI spec.
--
-- A decision is the first rule (lowest `order`) of the right scope whose
-- `when(m, ctx)` returns true. `when` may return a second value, the reason
-- (a string, or a list of strings), which goes to the decision's `reasons`
-- and to the trace. Each `when` runs under the instruction budget; a rule
-- that raises or runs away fails that one decision, naming the rule and
-- where it is defined.
-- @module katamount.decide
local layers = require("katamount.layers")

local M = {}

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local getmetatable = getmetatable
local format = string.format
local unpack = table.unpack

--- The option that marks an OCI mount as a layer of a kata overlay rootfs.
M.IS_LAYER = "io.katacontainers.fs-opt.is-layer"

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
-- decided (`res`, out of the rule state), filled in place.
local function decision(res, f)
  f.class, f.action, f.rule, f.reasons = res.class, res.action, res.rule, res.reasons
  if res.trace then f.trace = res.trace end
  -- the guest side (a translation rule's, absent for a class without one)
  if res.translation then
    f.storages, f.guest_mount, f.guest_reason = res.storages, res.guest_mount, res.guest_reason
    f.host, f.translation = res.host, res.translation
  end
  return f
end

local function failed(f, message, trace)
  local d = { error = message, source = f.source, destination = f.destination, type = f.type,
    options = f.options or {} }
  if trace then d.trace = trace end
  return d
end

-- ctx as it crosses into the rule state: the caller's settings (a shallow
-- copy; the rule state puts them over the rules' params).
local function settings(ctx)
  local c = {}
  if ctx ~= nil then
    for k, v in pairs(ctx) do c[k] = v end
  end
  return c
end

-- spec.linux.resources.hugepageLimits (OCI: `{pageSize=, limit=}` each), or nil.
local function hugepage_limits(spec)
  local linux = spec.linux
  local res = type(linux) == "table" and linux.resources or nil
  local limits = type(res) == "table" and res.hugepageLimits or nil
  if type(limits) ~= "table" then return nil end
  return limits
end

-- A job for the rule state: the checked fields (source, destination,
-- type, options: only what crosses).
local function job(f, scope)
  return { fields = f, scope = scope }
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
  local res, cerr = engine.rstate:call("classify", job(f, "mount"), settings(ctx),
    ctx and ctx.explain or false)
  if not res then return nil, cerr end
  if res.error then return nil, res.error end
  return decision(res, f)
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

-- The plan's slots in output order, each either failed already (`d`) or
-- waiting for job `j` of the rule state; the rule state decides every job
-- in one call, and the slots are filled from its answers.
local function plan(engine, spec, ctx)
  local out = { mounts = {}, layers = {} }
  local errors = {}
  local slots, jobs = {}, {}
  local function add(slot, j)
    if j then
      jobs[#jobs + 1] = j
      slot.j = #jobs
    end
    slots[#slots + 1] = slot
  end
  local mounts = spec.mounts
  if mounts ~= nil and type(mounts) ~= "table" then
    errors[#errors + 1] = "spec.mounts must be a list, got " .. type(mounts)
    mounts = nil
  end
  for i, mount in ipairs(mounts or {}) do
    local f, err
    if type(mount) ~= "table" then
      err = "mount must be a table, got " .. type(mount)
      f = { source = "", destination = "", type = "", options = {} }
    else
      f, err = M.fields(mount)
      if not f then f = { source = "", destination = "", type = "", options = {} } end
    end
    if err then
      add({ kind = "mount", i = i, f = f, err = err })
    else
      add({ kind = "mount", i = i, f = f }, job(f, "mount"))
    end
  end

  local root, mounted = root_fields(spec, ctx)
  if root then
    -- Each io.katacontainers.fs-opt.layer= option of the root is a layer,
    -- decided as a mount marked with the is-layer option.
    for _, o in ipairs(root.options) do
      if o:sub(1, #layers.PREFIX) == layers.PREFIX then
        local layer, lerr = layers.parse(o)
        if layer then
          local lopts = copy_options(layer.options)
          lopts[#lopts + 1] = M.IS_LAYER
          local f = shaped(layer.source, layer.mount_point, layer.type, lopts)
          local j = job(f, "mount")
          j.layer, j.layer_info = true, layer
          add({ kind = "layer", f = f, option = o, layer = layer }, j)
        else
          add({ kind = "layer", f = { source = "", destination = "", type = "" }, option = o, err = lerr })
        end
      end
    end
    local j = job(root, "rootfs")
    j.mounted = mounted
    add({ kind = "rootfs", f = root }, j)
  end

  local results, cerr = nil, nil
  if #jobs > 0 then
    local st = engine.rstate
    local c = settings(ctx)
    -- the pod's hugepage limits (kata's handleHugepages reads them from the spec)
    if c.hugepage_limits == nil then c.hugepage_limits = hugepage_limits(spec) end
    st:plan_begin()
    results, cerr = st:call("plan", jobs, c, ctx and ctx.explain or false)
    st:plan_end()
  end
  for _, slot in ipairs(slots) do
    local res = slot.j and (results and results[slot.j] or { error = cerr }) or nil
    local d
    if slot.err then
      d = failed(slot.f, slot.err)
    elseif res.error then
      d = failed(slot.f, res.error, res.trace)
    else
      d = decision(res, slot.f)
      if slot.kind == "layer" then d.mount_point = slot.layer.mount_point end
    end
    if slot.kind == "mount" then
      if d.error then
        errors[#errors + 1] = format("mount %d (%s): %s", slot.i, tostring(slot.f.destination), d.error)
      end
      out.mounts[slot.i] = d
    elseif slot.kind == "layer" then
      d.option = slot.option
      if d.error then errors[#errors + 1] = "layer: " .. d.error end
      out.layers[#out.layers + 1] = d
    else
      if d.error then errors[#errors + 1] = "rootfs: " .. d.error end
      out.rootfs = d
    end
  end
  if not root then
    out.rootfs = { error = mounted, source = "", destination = "/", type = "", options = {} }
    errors[#errors + 1] = "rootfs: " .. mounted
  end
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
  return plan(engine, spec, ctx)
end

return M
