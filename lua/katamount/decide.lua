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
local directvolume = require("katamount.directvolume")
local core = require("katamount.core")

local M = {}

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local format, find = string.format, string.find
local unpack = table.unpack

--- The option that marks an OCI mount as a layer of a kata overlay rootfs.
M.IS_LAYER = "io.katacontainers.fs-opt.is-layer"

-- Options copied at once (a table constructor sizes the list: no
-- regrowth); past 32 entries, one by one (unpack would put them all on the
-- stack).
local function copy_options(options)
  local n = #options
  if n <= 32 then return { unpack(options, 1, n) } end
  local out = {}
  for i = 1, n do out[i] = options[i] end
  return out
end

-- Fields shaped as the decision they become: the constructor sizes the
-- table for the decision's keys too (nil now), so that `decision` fills it
-- in place rather than building a second table or growing this one.
local function shaped(source, destination, mtype, options)
  return { source = source, destination = destination, type = mtype, options = options,
    class = nil, action = nil, rule = nil, reasons = nil,
    storages = nil, guest_mount = nil, guest_reason = nil, host = nil, translation = nil, scope = nil }
end

--- Check and normalise one OCI mount: `{source=, destination=, type=, options=}`
-- (the core's `mount_fields`, in C: a missing source, destination or type is
-- `""`, missing options `{}`; the options copied up to the first nil, a list
-- behind `__index` read once per element as `ipairs` reads it; the table
-- sized for the decision filled in it later).
-- @function fields
-- @treturn[1] table fields (fresh; options copied)
-- @return[2] nil, message
M.fields = core.mount_fields

-- The translation named `name` as a decision carries it: `{name=, file=,
-- line=}` (a fresh table), from the engine's list of its rule files'
-- translations (the rule state sends the name alone).
local function translation_of(engine, name)
  local rs = engine.ruleset
  local index = engine.translation_index
  if index == nil or index.ruleset ~= rs then
    index = { ruleset = rs, by_name = {} }
    for _, t in ipairs(rs.translations or {}) do index.by_name[t.name] = t end
    engine.translation_index = index
  end
  local t = index.by_name[name]
  if t == nil then return { name = name } end
  return { name = t.name, file = t.file, line = t.line }
end

-- The decision: the mount's fields (`f`, from `shaped`) with what the rule
-- decided (`res`, out of the rule state), completed in place. A plan's
-- decisions crossed into their fields already (`call_each_into`: `res` is
-- `f`); classify's, and one of more entries than cross in place, crossed
-- as a table of their own.
local function decision(engine, res, f)
  if res ~= f then
    f.class, f.action, f.rule, f.reasons, f.trace = res.class, res.action, res.rule, res.reasons,
      res.trace
    f.guest_unchanged, f.translation, f.guest_mount = res.guest_unchanged, res.translation,
      res.guest_mount
    f.storages, f.guest_reason, f.host = res.storages, res.guest_reason, res.host
  end
  f.scope = nil
  -- one reason crosses as a string
  local reasons = f.reasons
  if type(reasons) == "string" then f.reasons = { reasons } end
  -- the guest side (a translation rule's, absent for a class without one)
  if f.guest_unchanged then
    -- a translation `unchanged = true`: the mount as given, made here
    f.guest_unchanged = nil
    f.storages, f.host = {}, { action = "none" }
    f.guest_mount = { source = f.source, destination = f.destination, type = f.type,
      options = copy_options(f.options) }
    f.translation = translation_of(engine, f.translation)
  elseif f.translation then
    local gm = f.guest_mount
    if gm ~= nil then
      -- what a build leaves out of its guest mount is the container mount's
      -- own (made here: it need not cross from the rule state)
      if gm.destination == nil then gm.destination = f.destination end
      if gm.type == nil then gm.type = f.type end
      if gm.options == nil then gm.options = copy_options(f.options) end
    end
    if f.storages == nil then f.storages = {} end
    f.translation = translation_of(engine, f.translation)
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

-- A job for the rule state: the checked fields (source, destination,
-- type, options: only what crosses) and the scope, in one table (the rule
-- state makes it the mount its rules see).
local function job(f, scope)
  return { source = f.source, destination = f.destination, type = f.type, options = f.options,
    scope = scope }
end

--- The option that marks a regular file as a block device image.
M.BLOCK_FILE = "io.katacontainers.fs-opt.block_device=file"

-- Whether kata looks for a mountInfo.json of this mount: createBlockDevices
-- reads it for bind mounts and mounts marked as block files only.
local function may_be_direct(f)
  if f.type == "bind" then return true end
  for _, o in ipairs(f.options) do
    if o == "bind" or o == "rbind" or o == M.BLOCK_FILE then return true end
  end
  return false
end

-- The direct volumes directory: ctx's, else the rules' param (read at load).
local function direct_root(engine, ctx)
  local root = ctx and ctx.direct_volumes_root
  if root == nil then root = engine.direct_volumes_root or directvolume.DEFAULT_ROOT end
  if type(root) ~= "string" or root == "" then
    return nil, "direct_volumes_root must be a non-empty string, got " .. type(root)
  end
  return root
end

-- Whether the direct volumes directory `root` is missing (no volume can
-- be direct then), asked once per plan (a plan has one root: its ctx and
-- engine): `seen.missing` remembers the answer.
local function no_direct_root(root, seen)
  if seen == nil then return false end
  if seen.missing == nil then
    local _, _, errno = core.stat(root)
    seen.missing = errno == 2 or errno == 20           -- ENOENT, ENOTDIR
  end
  return seen.missing
end

-- A mount job, with the mountInfo.json of a direct-assigned volume when
-- the mount has one; nil, message when that file is bad. `seen` (a plan's)
-- remembers whether the direct volumes directory exists.
-- A mount without one is its own job: its fields `f` themselves, with the
-- scope (the boundary copies what is set: source, destination, type,
-- options, scope; `decision` takes the scope off again), no table made.
local function mount_job(engine, f, ctx, seen)
  if not (seen and seen.missing) and may_be_direct(f) then
    local root, rerr = direct_root(engine, ctx)
    if not root then return nil, rerr end
    if not no_direct_root(root, seen) then
      local info, err = directvolume.read(root, f.source)
      if info == nil then return nil, err end
      if info then
        local j = job(f, "mount")
        j.direct_volume = info
        return j
      end
    end
  end
  f.scope = "mount"
  return f
end

-- The decision of a direct-assigned volume carries what replaced the mount.
local function with_direct(d, j)
  local info = j and j.direct_volume
  if info and d.class == "direct-volume" then
    local opts = {}
    for i, o in ipairs(info.options) do opts[i] = o end
    d.direct_volume = { path = info.path, volume_type = info.volume_type, device = info.device,
      fstype = info.fstype, options = opts, fs_group = info.fs_group, readonly = info.readonly }
  end
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
  local j, jerr = mount_job(engine, f, ctx)
  if not j then return nil, jerr end
  local res, cerr = engine.rstate:call("classify", j, settings(ctx), ctx and ctx.explain or false)
  if not res then return nil, cerr end
  if res.error then return nil, res.error end
  return with_direct(decision(engine, res, f), j)
end

-- The spec's annotations whose key and value are strings (plain copies).
local function annotations_of(spec)
  local out = {}
  if type(spec.annotations) == "table" then
    for k, v in pairs(spec.annotations) do
      if type(k) == "string" and type(v) == "string" then out[k] = v end
    end
  end
  return out
end

-- The plan's settings: ctx's, the container's annotations
-- (spec.annotations) unless ctx gives annotations, and the pod's hugepage
-- limits (spec.linux.resources.hugepageLimits) unless ctx gives
-- hugepage_limits.
local function plan_settings(spec, ctx)
  local c = settings(ctx)
  if c.annotations == nil then c.annotations = annotations_of(spec) end
  if c.hugepage_limits ~= nil then return c end
  local linux = spec.linux
  local res = type(linux) == "table" and linux.resources or nil
  local limits = type(res) == "table" and res.hugepageLimits or nil
  if type(limits) ~= "table" then return c end
  local out = {}
  for i, l in ipairs(limits) do
    -- plain copies: what a rule sees is what the spec said, or false
    if type(l) == "table" then
      local size, limit = l.pageSize, l.limit
      out[i] = { pageSize = type(size) == "string" and size or tostring(size),
        limit = type(limit) == "number" and limit or -1 }
    else
      out[i] = false
    end
  end
  c.hugepage_limits = out
  return c
end

-- One mount of ctx.rootfs, checked (a list's element names its place).
local function root_mount(root, where)
  if type(root) ~= "table" then return nil, where .. " must be a table, got " .. type(root) end
  local f, err = M.fields({ source = root.source, destination = "/", type = root.type,
    options = root.options })
  if not f then return nil, where .. ": " .. err end
  return f
end

-- The root filesystem as the runtime received it, as a job's fields plus
-- how kata reaches it: `mounted` (the shim mounted it at `target`: kata's
-- hotplugDrive then judges the target, not the source) and `parts` (the
-- mounts of a rootfs given as a list). Without ctx.rootfs it is what kata's
-- oci.ContainerConfig makes of spec.root.path: mounted, its target the path.
-- A list of one mount is that mount (both runtimes take one alike); a longer
-- one is mounted by the Go shim (checkAndMount mounts every part at the
-- target) unless runtime-rs takes it as erofs layers (rules decide that).
local function root_fields(spec, ctx)
  local root = ctx and ctx.rootfs
  if root ~= nil then
    if type(root) ~= "table" then return nil, "ctx.rootfs must be a table, got " .. type(root) end
    local target, mounted = root.target, root.mounted
    if target ~= nil and type(target) ~= "string" then
      return nil, "rootfs: target must be a string, got " .. type(target)
    end
    if mounted ~= nil and type(mounted) ~= "boolean" then
      return nil, "rootfs: mounted must be a boolean, got " .. type(mounted)
    end
    local f, err
    local parts = {}
    if root[1] ~= nil then
      for i, part in ipairs(root) do
        local p, perr = root_mount(part, "rootfs mount " .. i)
        if not p then return nil, perr end
        parts[i] = { source = p.source, type = p.type, options = p.options }
      end
      if #parts == 1 then
        f = shaped(parts[1].source, "/", parts[1].type, copy_options(parts[1].options))
        target = target or root[1].target
        if mounted == nil then mounted = root[1].mounted end
      else
        f = shaped("", "/", "", {})
        mounted = true
      end
    else
      f, err = root_mount(root, "rootfs")
      if not f then return nil, err end
    end
    f.destination = target or "/"
    return f, { mounted = mounted == true, target = target, parts = parts }
  end
  local path = type(spec.root) == "table" and spec.root.path or nil
  if type(path) ~= "string" then
    return nil, "no root filesystem: neither ctx.rootfs nor spec.root.path is given"
  end
  return shaped(path, "/", "", {}), { mounted = true, target = path, parts = {} }
end

-- The plan's slots in output order, each either failed already or waiting
-- for a job of the rule state; the rule state decides every job in one
-- call, and the slots are filled from its answers.
local function plan(engine, spec, ctx)
  local out = { mounts = {}, layers = {} }
  local errors = {}
  -- The slots in output order: the mounts (slot i is mount i), the layers
  -- (`layer_options`: the option of each), the root filesystem. Slot n: its
  -- fields, and its error (it failed already) or a job; the jobs in slot
  -- order, each with the fields its decision fills in (`targets`). (Few
  -- lists: each grows, and is rehashed, as the slots come.)
  local fs, errs, jobs, targets, layer_options = {}, {}, {}, {}, {}
  local n, njobs = 0, 0
  local function add(f, j, err)
    n = n + 1
    fs[n] = f
    if err ~= nil or j == nil then
      errs[n] = err or "no job was made for it"
    else
      njobs = njobs + 1
      jobs[njobs], targets[njobs] = j, f
    end
  end
  local mounts = spec.mounts
  if mounts ~= nil and type(mounts) ~= "table" then
    errors[#errors + 1] = "spec.mounts must be a list, got " .. type(mounts)
    mounts = nil
  end
  local seen = {}
  -- (ipairs' walk, as a loop: up to the first nil)
  local i, mount = 1, mounts and mounts[1]
  while mount ~= nil do
    local f, err
    if type(mount) ~= "table" then
      err = "mount must be a table, got " .. type(mount)
      f = { source = "", destination = "", type = "", options = {} }
    else
      f, err = M.fields(mount)
      if not f then f = { source = "", destination = "", type = "", options = {} } end
    end
    local j
    if not err then j, err = mount_job(engine, f, ctx, seen) end
    add(f, j, err)
    i = i + 1
    mount = mounts[i]
  end
  local nmounts = n

  local root, how = root_fields(spec, ctx)
  if root then
    -- Each io.katacontainers.fs-opt.layer= option of the root is a container
    -- mount with exactly its own options (kata's copyLayersToMounts), decided
    -- as every other mount.
    for _, o in ipairs(root.options) do
      if o:sub(1, #layers.PREFIX) == layers.PREFIX then
        local layer, lerr = layers.parse(o)
        if layer then
          local f = shaped(layer.source, layer.destination, layer.type, copy_options(layer.options))
          local j = job(f, "mount")
          j.layer_info = { source = layer.source, destination = layer.destination, type = layer.type,
            options = copy_options(layer.options) }
          layer_options[#layer_options + 1] = o
          add(f, j)
        else
          layer_options[#layer_options + 1] = o
          add({ source = "", destination = "", type = "" }, nil, lerr)
        end
      end
    end
    local j = job(root, "rootfs")
    j.mounted, j.target, j.parts = how.mounted, how.target, how.parts
    add(root, j)
  end
  local nslots = nmounts + #layer_options

  local results, cerr = nil, nil
  if njobs > 0 then
    local st = engine.rstate
    st:plan_begin()
    -- each job crosses in, and each decision out into its mount's fields,
    -- within the boundary's bounds of its own: one oversized mount or
    -- decision fails alone
    results, cerr = st:call_each_into(targets, "plan", jobs, plan_settings(spec, ctx),
      ctx and ctx.explain or false)
    st:plan_end()
    -- what else crosses is shared by every decision: the settings
    if results == nil and type(cerr) == "string" and find(cerr, "^rule boundary: ") then
      cerr = "the plan's settings (ctx, the spec's annotations and hugepage limits): " .. cerr
    end
  end
  local jn = 0
  for k = 1, n do
    local f, err = fs[k], errs[k]
    local d
    if err then
      d = failed(f, err)
    else
      jn = jn + 1
      local res = results and results[jn] or { error = cerr }
      if res.error then
        d = failed(f, res.error, res.trace)
      else
        d = decision(engine, res, f)
        if jobs[jn].direct_volume then with_direct(d, jobs[jn]) end
      end
    end
    if k <= nmounts then
      if d.error then
        errors[#errors + 1] = format("mount %d (%s): %s", k, tostring(f.destination), d.error)
      end
      out.mounts[k] = d
    elseif k <= nslots then
      d.option = layer_options[k - nmounts]
      if d.error then errors[#errors + 1] = "layer: " .. d.error end
      out.layers[#out.layers + 1] = d
    else
      if d.error then errors[#errors + 1] = "rootfs: " .. d.error end
      out.rootfs = d
    end
  end
  if not root then
    out.rootfs = { error = how, source = "", destination = "/", type = "", options = {} }
    errors[#errors + 1] = "rootfs: " .. how
  end
  return out, errors
end

--- Decide every mount of a decoded OCI spec, its root filesystem and its layers.
-- @tparam table engine
-- @tparam table spec the decoded config.json (`mounts`, `root.path`)
-- @tparam ?table ctx settings, `rootfs = {source=, target=, type=, options=, mounted=}`
--   (or a list of such mounts, `target=`/`mounted=` beside them), `explain`
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
