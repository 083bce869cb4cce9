--- What a runtime sends the kata agent for a plan.
--
-- `document(plan)` turns a plan (`katamount.plan`) whose decisions carry
-- their guest side (`storages`, `guest_mount`, `host`: the translation rules
-- of `rules/guest-*.lua`) into one table in the agent protocol's field names:
-- the container's OCI mounts as the agent receives them, and the storages
-- it sets up. Plain Lua: it reads the plan and touches nothing else.
-- @module katamount.agent
local M = {}

local type, ipairs, pairs, format = type, ipairs, pairs, string.format

-- The storage fields of the agent protocol (agent.proto's Storage), in order.
M.STORAGE_FIELDS = { "driver", "driver_options", "source", "fstype", "options", "mount_point", "fs_group" }

local function copy_list(list)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = v end
  return out
end

-- A storage with the protocol's fields only.
local function storage(s)
  local out = {}
  for _, k in ipairs(M.STORAGE_FIELDS) do
    local v = s[k]
    if type(v) == "table" then
      local t = {}
      for kk, vv in pairs(v) do t[kk] = vv end
      v = t
    end
    out[k] = v
  end
  return out
end

local function mount(g)
  return { destination = g.destination, source = g.source, type = g.type, options = copy_list(g.options) }
end

local function add_storages(into, d)
  for _, s in ipairs(d.storages or {}) do into[#into + 1] = storage(s) end
end

--- The agent's view of a plan.
-- Storages come in the order the agent needs them: the layers', then the
-- root filesystem's, then each mount's in the spec's order (kata groups the
-- mounts' storages by kind; the agent depends only on the layers coming
-- before the overlay root).
-- @tparam table plan `{mounts = {...}, rootfs = ..., layers = {...}}` from `plan`
-- @treturn table `{root = {path=}, mounts = {{destination=, source=, type=, options=}...},
--   storages = {{driver=, driver_options=, source=, fstype=, options=, mount_point=,
--   fs_group=}...}, removed = {{destination=, source=, reason=}...},
--   untranslated = {{destination=, class=, action=}...}, errors = {...}}`
function M.document(plan)
  if type(plan) ~= "table" then
    error("bad argument #1 to 'document' (table expected, got " .. type(plan) .. ")", 2)
  end
  local doc = { mounts = {}, storages = {}, removed = {}, untranslated = {}, errors = {} }
  local function untranslated(d, what)
    if d.error then
      doc.errors[#doc.errors + 1] = format("%s: %s", what, d.error)
      return true
    end
    if d.translation == nil then
      doc.untranslated[#doc.untranslated + 1] = { destination = d.destination, source = d.source,
        class = d.class, action = d.action }
      return true
    end
    return false
  end
  for _, d in ipairs(plan.layers or {}) do
    if not untranslated(d, "layer " .. tostring(d.source)) then add_storages(doc.storages, d) end
  end
  local root = plan.rootfs
  if type(root) == "table" and not untranslated(root, "rootfs") then
    add_storages(doc.storages, root)
    if root.guest_mount then doc.root = { path = root.guest_mount.source } end
  end
  for _, d in ipairs(plan.mounts or {}) do
    if untranslated(d, "mount " .. tostring(d.destination)) then
      -- a mount nobody translated goes as the spec gives it
      if not d.error then doc.mounts[#doc.mounts + 1] = mount(d) end
    else
      add_storages(doc.storages, d)
      if d.guest_mount then
        doc.mounts[#doc.mounts + 1] = mount(d.guest_mount)
      else
        doc.removed[#doc.removed + 1] = { destination = d.destination, source = d.source,
          reason = d.guest_reason }
      end
    end
  end
  return doc
end

return M
