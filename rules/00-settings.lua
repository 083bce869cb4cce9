-- 00-settings.lua -- the runtime's settings, and the option helpers every
-- other rule file uses.
--
-- Each setting below is a default: the runtime passes its own values per
-- call (its `ctx`), and those win. Change a default here, or better in a
-- file of your own rules directory (a later file wins):
--
--   disable_guest_empty_dir   true: Kubernetes emptyDirs on disk are shared
--                             with the guest instead of made inside it
--   disable_block_device_use  true: never hot-plug block devices
--   shared_fs                 the shared file system kata is configured
--                             with (its shared_fs): "virtio-fs",
--                             "virtio-fs-nydus", "virtio-9p", or "none"
--                             (no sharing: files are copied into the guest)
--   fs_sharing_supported      deprecated: false means shared_fs = "none"
--   emptydir_mode             how a disk emptyDir reaches the guest (kata's
--                             emptydir_mode): "shared-fs", or
--                             "block-encrypted" / "block-plain" (a sparse
--                             disk.img in the emptyDir, hot-plugged)
--   block_device_file_option  the option that marks a regular file as a
--                             block device image (hot-plugged as a disk)
--   direct_volumes_root       where kata-runtime direct-volume keeps each
--                             volume's mountInfo.json (read by the engine,
--                             outside the rules; ctx.direct_volumes_root
--                             wins)
--
-- kata's own defaults today (disable_guest_empty_dir = true, ...) are in
-- examples/rules/, a directory to add to KATAMOUNT_RULES_PATH.

params.disable_guest_empty_dir = false
params.disable_block_device_use = false
params.shared_fs = "virtio-fs"
params.fs_sharing_supported = true
params.emptydir_mode = "shared-fs"
params.block_device_file_option = "io.katacontainers.fs-opt.block_device=file"
params.direct_volumes_root = "/run/kata-containers/shared/direct-volumes"

-- The values kata accepts (pkg/katautils/config.go sharedFS, emptyDirMode).
local SHARED_FS = { ["virtio-fs"] = true, ["virtio-fs-nydus"] = true, ["virtio-9p"] = true,
  none = true }
local EMPTYDIR_MODES = { ["shared-fs"] = true, ["block-encrypted"] = true, ["block-plain"] = true }

-- shared_fs_kind(ctx): the shared file system in effect. The deprecated
-- fs_sharing_supported = false means "none"; anything kata refuses raises.
predicate("shared_fs_kind", function(ctx)
  if ctx.fs_sharing_supported == false then return "none" end
  local kind = ctx.shared_fs
  if not SHARED_FS[kind] then
    error(("invalid shared_fs %s (kata accepts virtio-fs, virtio-fs-nydus, virtio-9p, none)")
      :format(type(kind) == "string" and ("'" .. kind .. "'") or tostring(kind)), 0)
  end
  return kind
end)

-- emptydir_mode_of(ctx): the emptydir_mode in effect; anything else raises.
predicate("emptydir_mode_of", function(ctx)
  local mode = ctx.emptydir_mode
  if not EMPTYDIR_MODES[mode] then
    error(("invalid emptydir_mode %s (kata accepts shared-fs, block-encrypted, block-plain)")
      :format(type(mode) == "string" and ("'" .. mode .. "'") or tostring(mode)), 0)
  end
  return mode
end)

-- has_option(options, option): true when the list holds exactly `option`.
-- (An indexed loop, as ipairs: up to the first nil, without a call per option.)
predicate("has_option", function(options, option)
  if options == nil then return false end
  local i = 1
  local o = options[1]
  while o ~= nil do
    if o == option then return true end
    i = i + 1
    o = options[i]
  end
  return false
end)

-- has_option_prefix(options, prefix): true when an option starts with `prefix`.
predicate("has_option_prefix", function(options, prefix)
  for _, o in ipairs(options or {}) do
    if type(o) == "string" and o:sub(1, #prefix) == prefix then return true end
  end
  return false
end)

-- is_bind_mount(type, options): an OCI bind mount is type "bind" or has a
-- "bind" or "rbind" option (the type may then be "none" or missing).
predicate("is_bind_mount", function(mount_type, options)
  return mount_type == "bind" or has_option(options, "bind") or has_option(options, "rbind")
end)
