-- guest-00-common.lua -- what every guest-side translation (rules/guest-*.lua)
-- uses: the container and sandbox ids, the shared directories, and helpers
-- that follow kata's Go code (filepath.Join, filepath.Base, the shared file
-- name of fs_share_linux.go's shareFileName, the block storage of
-- kata_agent.go's handleDeviceBlockVolume and handleBlkOCIMounts).
--
-- A translation is declared with
--   guest { class = "ephemeral", action = "guest-tmpfs" (optional),
--           build = function(m, ctx, d) return { storages = {...},
--             guest_mount = {...} or nil, why = "...", host = {...} } end }
-- keyed by class and action (else class alone); a later file replaces it.
--
-- Tune: params.container_id and params.sandbox_id (the runtime passes its
-- own in ctx), params.guest_shared_dir, params.host_shared_dir,
-- params.block_device_driver, params.block_addresses.

param { name = "container_id", type = "string", default = "container-id",
  doc = "the container's id in guest paths (a placeholder: the runtime passes its own in ctx)" }
param { name = "sandbox_id", type = "string", default = "sandbox-id",
  doc = "the sandbox's id in guest paths (a placeholder: the runtime passes its own in ctx)" }
param { name = "guest_shared_dir", type = "string", default = "/run/kata-containers/shared/containers/",
  doc = "the guest directory where shared files appear (kata's defaultKataGuestSharedDir)" }
param { name = "host_shared_dir", type = "string", default = "/run/kata-containers/shared/sandboxes/",
  doc = "the host directory of each sandbox's shared mounts (kata's defaultKataHostSharedDir)" }
param { name = "guest_storage_dir", type = "string", default = "/run/kata-containers/sandbox/storage",
  doc = "where the guest mounts each hot-plugged block volume (kata's kataGuestSandboxStorageDir)" }
param { name = "block_device_driver", type = "string", default = "virtio-scsi",
  values = { "virtio-blk-pci", "virtio-scsi", "virtio-mmio", "virtio-blk-ccw" },
  doc = "the hypervisor's block device driver (kata's block_device_driver; its default virtio-scsi)" }
param { name = "block_addresses", type = "map", default = {},
  doc = "host path of a hot-plugged device -> its guest address (PCI path, SCSI address, ...)" }

-- kata's agent driver for each block_device_driver (handleBlockVolume)
local BLOCK_DRIVERS = { ["virtio-blk-pci"] = "blk", ["virtio-scsi"] = "scsi",
  ["virtio-mmio"] = "mmioblk", ["virtio-blk-ccw"] = "blk-ccw" }

-- guest_join(a, b, ...): filepath.Join, cleaned (two or three parts, the
-- common case, joined without a list).
predicate("guest_join", function(...)
  local n, a, b, c = select("#", ...), ...
  if n == 2 then return core.clean(a .. "/" .. b) end
  if n == 3 then return core.clean(a .. "/" .. b .. "/" .. c) end
  return core.clean(table.concat({ ... }, "/"))
end)

-- base_name(path): filepath.Base of the cleaned path. Unlike Go's Base
-- ("/a/.." -> ".."), a name that would leave the directory it is joined to
-- (".", "..", "/", "") raises.
-- last(path): what follows the last "/" (an anchored pattern: one attempt,
-- where an unanchored one would be tried at every position).
local function last(path)
  return path:match("^.*/(.-)$") or path
end

predicate("base_name", function(path)
  local base = last(core.clean(path))
  if base == "" or base == "." or base == ".." then
    error(("'%s' has no name to place in the guest"):format(path), 0)
  end
  return base
end)

-- kata_id(ctx, "container_id" | "sandbox_id"): the id, checked as kata's
-- shim checks ids (katautils' validCIDRegex, ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$),
-- so that an id never adds a directory to a guest path.
local checked_ids, n_checked = {}, 0   -- the ids found good so far (a few per engine)
predicate("kata_id", function(ctx, which)
  local id = ctx[which]
  if checked_ids[id] then return id end
  if type(id) ~= "string" or not id:find("^[%w][%w_.-]+$") then
    error(("%s must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, got %s"):format(which,
      type(id) == "string" and ("%q"):format(id:sub(1, 80)) or type(id)), 0)
  end
  -- remembered while few (a runtime passes one pair of ids per pod)
  if n_checked < 64 then
    n_checked = n_checked + 1
    checked_ids[id] = true
  end
  return id
end)

-- fs_sharing(ctx): the hypervisor shares files with the guest: the shared
-- file system in effect (shared_fs_kind, 00-settings.lua) is not "none".
predicate("fs_sharing", function(ctx)
  return shared_fs_kind(ctx) ~= "none"
end)

-- FNV-1a 64 of the strings (each followed by a NUL), as 16 hex digits:
-- the core's fnv1a64.
local fnv = core.fnv1a64

-- share_file_name(m, ctx, sandbox_scoped): kata's shareFileName,
-- <container>-<hex>-<base of destination>, or sandbox-<hex>-<base of source>
-- for a disk emptyDir copied once per sandbox. Kata draws the 16 hex digits
-- at random; here they are a hash of the ids, source and destination, so a
-- plan says the same thing twice (a runtime may draw its own).
predicate("share_file_name", function(m, ctx, sandbox_scoped)
  if sandbox_scoped then
    return ("sandbox-%s-%s"):format(fnv(kata_id(ctx, "sandbox_id"), m.source), base_name(m.source))
  end
  local cid = kata_id(ctx, "container_id")
  return ("%s-%s-%s"):format(cid, fnv(cid, m.source, m.destination), last(m.destination))
end)

-- base64_url(s): Go's base64.URLEncoding (padded), the core's base64url.
predicate("base64_url", function(s) return core.base64url(s) end)

-- block_storage(m, ctx, path): the storage of a hot-plugged block device
-- (kata_agent.go handleBlockVolume + handleDeviceBlockVolume): the driver
-- of params.block_device_driver, the device's guest address as source
-- (ctx.block_addresses[path]; until the runtime knows it, the host path),
-- the mount's type and options. Its mount_point is the mount's destination;
-- handleBlkOCIMounts moves volumes under guest_storage_dir.
predicate("block_storage", function(m, ctx, path)
  local driver = BLOCK_DRIVERS[ctx.block_device_driver]
  if driver == nil then
    error("unknown block device driver " .. tostring(ctx.block_device_driver), 0)
  end
  local addresses = ctx.block_addresses
  local source = type(addresses) == "table" and addresses[path] or nil
  local options = {}
  for i, o in ipairs(m.options) do options[i] = o end
  return { driver = driver, source = source or path, fstype = m.type, options = options,
    mount_point = m.destination }
end)

-- copy_list(list): a fresh list of the strings of `list`.
predicate("copy_list", function(list)
  local out = {}
  for i, o in ipairs(list or {}) do out[i] = o end
  return out
end)

-- unchanged(m): the mount as the agent receives it when nothing is rewritten.
predicate("unchanged", function(m)
  return { source = m.source, destination = m.destination, type = m.type, options = copy_list(m.options) }
end)
