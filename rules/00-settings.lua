-- 00-settings.lua -- the runtime's settings, and the option helpers every
-- other rule file uses.
--
-- Each setting below is a default: the runtime passes its own values per
-- call (its `ctx`), and those win. Change a default in a file of your own
-- rules directory (a later file wins), with a value of the declared type:
--
--   params.disable_guest_empty_dir = true
--
-- kata's own defaults today (disable_guest_empty_dir = true, ...) are in
-- examples/rules/, a directory to add to KATAMOUNT_RULES_PATH.

param { name = "disable_guest_empty_dir", type = "boolean", default = false,
  doc = "true: Kubernetes emptyDirs on disk are shared with the guest instead of made inside it" }
param { name = "disable_block_device_use", type = "boolean", default = false,
  doc = "true: never hot-plug block devices" }
param { name = "shared_fs", type = "string", default = "virtio-fs",
  values = { "virtio-fs", "virtio-fs-nydus", "virtio-9p", "none" },
  doc = "kata's shared_fs: the shared file system; none: bind mounts are copied into the guest" }
param { name = "fs_sharing_supported", type = "boolean", default = true,
  doc = "deprecated: false means shared_fs = \"none\"" }
param { name = "emptydir_mode", type = "string", default = "shared-fs",
  values = { "shared-fs", "block-encrypted", "block-plain" },
  doc = "kata's emptydir_mode: block-encrypted, block-plain hot-plug a disk.img made in a disk emptyDir" }
param { name = "block_device_file_option", type = "string",
  default = "io.katacontainers.fs-opt.block_device=file",
  doc = "the option that marks a regular file as a block device image (hot-plugged as a disk)" }
param { name = "direct_volumes_root", type = "string",
  default = "/run/kata-containers/shared/direct-volumes",
  doc = "where kata-runtime direct-volume keeps each volume's mountInfo.json (read by the engine)" }

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

-- has_option(options, option): true when the list holds exactly `option`
-- (up to its first nil, as ipairs walks it; the core's, in C).
predicate("has_option", core.has_option)

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
