-- 00-settings.lua -- the runtime's settings, and the option helpers every
-- other rule file uses.
--
-- Each setting below is a default: the runtime passes its own values per
-- call (its `ctx`), and those win. Change a default in a file of your own
-- rules directory (a later file wins), with a value of the declared type:
--
--   params.disable_guest_empty_dir = true

param { name = "disable_guest_empty_dir", type = "boolean", default = false,
  doc = "true: Kubernetes emptyDirs on disk are shared with the guest instead of made inside it" }
param { name = "disable_block_device_use", type = "boolean", default = false,
  doc = "true: never hot-plug block devices" }
param { name = "fs_sharing_supported", type = "boolean", default = true,
  doc = "false: the hypervisor cannot share files, so configmaps and secrets are not watched" }
param { name = "block_device_file_option", type = "string",
  default = "io.katacontainers.fs-opt.block_device=file",
  doc = "the option that marks a regular file as a block device image (hot-plugged as a disk)" }

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
