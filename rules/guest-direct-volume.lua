-- guest-direct-volume.lua -- a direct-assigned volume (class
-- "direct-volume": kata-runtime direct-volume add, its mountInfo.json read by
-- the engine and given as m.direct_volume) as kata builds it:
--   hotplug-block   the Go runtime's container.go createBlockDevices then
--                   kata_agent.go handleDeviceBlockVolume/handleBlkOCIMounts:
--                   the volume's device hot-plugged, the storage with its
--                   fstype and options, fs_group from metadata fsGroup
--                   (fsGroupChangePolicy OnRootMismatch, else Always),
--                   driver options encryption_key=<metadata encryptionKey>
--                   and create_filesystem (metadata createFilesystem true);
--                   the container's mount keeps its type and options
--   guest-mount     the Go runtime: the device is neither a block device
--                   nor a file, so nothing is hot-plugged, and the spec's
--                   mount goes to the agent as it is (createBlockDevices
--                   changed only the runtime's own copy, whose type is no
--                   longer "bind", so mountSharedDirMounts skips it); a
--                   volume of fstype "bind" has its device shared
--                   (ShareFile), the spec's mount then taking the shared
--                   path as its source (replaceOCIMountSource)
--   vfio            runtime-rs direct_volumes/vfio_volume.rs VfioVolume
--   vhost-user-blk  runtime-rs direct_volumes/spdk_volume.rs SPDKVolume
-- The runtime-rs volumes are mounted at <guest_shared_dir>/passthrough/<name>
-- (utils.rs generate_shared_path), <name> share_file_name's, and the
-- container's mount is a bind of it (build_bind_mount_options).

local function direct(m)
  local dv = m.direct_volume
  if dv == nil then error("a direct-volume decision without its mountInfo.json", 0) end
  return dv
end

-- Go's strconv.ParseBool; nil for anything else (kata logs and ignores it).
local BOOLS = { ["1"] = true, t = true, T = true, TRUE = true, ["true"] = true, True = true,
  ["0"] = false, f = false, F = false, FALSE = false, ["false"] = false, False = false }

guest {
  class = "direct-volume", action = "hotplug-block",
  build = function(m, ctx)
    local dv = direct(m)
    local meta = dv.metadata or {}
    local driver_options = {}
    if (meta.encryptionKey or "") ~= "" then driver_options[1] = "encryption_key=" .. meta.encryptionKey end
    if BOOLS[meta.createFilesystem or ""] == true then
      driver_options[#driver_options + 1] = "create_filesystem"
    end
    local policy = nil
    if meta.fsGroup ~= nil and meta.fsGroupChangePolicy ~= nil then
      policy = meta.fsGroupChangePolicy == "OnRootMismatch" and "OnRootMismatch" or "Always"
    end
    local st = core.stat(dv.device)
    return hotplugged_volume(m, ctx, { path = dv.device, fstype = dv.fstype, options = dv.options,
      driver_options = driver_options, fs_group = dv.fs_group, fs_group_change_policy = policy,
      file = st ~= nil and st.type == "file", read_only = dv.readonly })
  end,
}

guest {
  class = "direct-volume", action = "guest-mount",
  build = function(m, ctx)
    local dv = direct(m)
    if dv.fstype == "bind" then
      -- mountSharedDirMounts shares the device (ShareFile); replaceOCIMountSource
      -- then changes only the spec mount's source
      local path, host = share({ source = dv.device, destination = m.destination, type = "bind",
        options = dv.options }, ctx)
      if path == nil then return { guest_mount = nil, why = host, host = { action = "none" } } end
      return { guest_mount = { source = path }, host = host }   -- the rest: the mount's own
    end
    return { guest_mount = unchanged(m), host = { action = "none" } }
  end,
}

-- runtime-rs utils.rs filter_block_storage_options: the volume's options (the
-- mount's when it has none) without bind and rbind, "ro" added when the
-- mount is read-only.
local function storage_options(m, dv)
  local out = {}
  for _, o in ipairs(#dv.options > 0 and dv.options or m.options) do
    if o ~= "bind" and o ~= "rbind" then out[#out + 1] = o end
  end
  if has_option(m.options, "ro") and not has_option(out, "ro") then out[#out + 1] = "ro" end
  return out
end

-- runtime-rs utils.rs build_bind_mount_options: the mount's options, then
-- the volume's, and "bind" unless one of them is bind or rbind.
local function bind_options(m, dv)
  local out = copy_list(m.options)
  for _, o in ipairs(dv.options) do out[#out + 1] = o end
  if not has_option(out, "bind") and not has_option(out, "rbind") then out[#out + 1] = "bind" end
  return out
end

-- the storage's fstype: the volume's unless the mount is a bind ("ext4",
-- DEFAULT_VOLUME_FS_TYPE); an OCI mount without a type is a bind
local function volume_fstype(m, dv)
  if m.type ~= "" and m.type ~= "bind" then return dv.fstype end
  return "ext4"
end

local function passthrough_path(m, ctx)
  return guest_join(ctx.guest_shared_dir, "passthrough", share_file_name(m, ctx, false))
end

local function guest_address(ctx, path)
  local addresses = ctx.block_addresses
  return type(addresses) == "table" and addresses[path] or path
end

guest {
  class = "direct-volume", action = "vfio",
  build = function(m, ctx)
    local dv = direct(m)
    local path = passthrough_path(m, ctx)
    -- VfioBusMode::driver_type for a block ("b") device: mmioblk, vfio-ap on ccw
    local driver = ctx.block_device_driver == "virtio-blk-ccw" and "vfio-ap" or "mmioblk"
    return {
      storages = { { driver = driver, source = guest_address(ctx, dv.device), fstype = volume_fstype(m, dv),
        options = storage_options(m, dv), mount_point = path } },
      guest_mount = { source = path, destination = m.destination, type = "bind",
        options = bind_options(m, dv) },
      host = { action = "vfio", path = dv.device, read_only = has_option(m.options, "ro") },
    }
  end,
}

-- device_manager.rs create_vhost_user_blk_device: the agent driver of the
-- block device driver; no other is supported
local VHOST_USER_DRIVERS = { ["virtio-blk-pci"] = "blk", ["virtio-mmio"] = "mmioblk" }

guest {
  class = "direct-volume", action = "vhost-user-blk",
  build = function(m, ctx)
    local dv = direct(m)
    local scheme = dv.volume_type == "spoolvol" and "spool://" or "spdk://"
    local device = dv.device
    if device:sub(1, #scheme) ~= scheme then device = scheme .. device end
    local socket = device:sub(#scheme + 1)
    local st = core.stat(socket)
    if st == nil or st.type ~= "socket" then
      error(("device %q is not valid (runtime-rs SPDKVolume: not a socket)"):format(device), 0)
    end
    local driver = VHOST_USER_DRIVERS[ctx.block_device_driver]
    if driver == nil then
      error("unsupported driver type " .. tostring(ctx.block_device_driver) .. " for vhost-user-blk", 0)
    end
    local path = passthrough_path(m, ctx)
    local s = { driver = driver, source = guest_address(ctx, socket), fstype = volume_fstype(m, dv),
      options = storage_options(m, dv), mount_point = path }
    if m.destination:sub(1, 4) == "/dev" then
      s.fstype = "bind"
      for _, o in ipairs(m.options) do s.options[#s.options + 1] = o end
    end
    return {
      storages = { s },
      guest_mount = { source = path, destination = m.destination, type = "bind",
        options = bind_options(m, dv) },
      host = { action = "vhost-user-blk", path = device, read_only = has_option(m.options, "ro") },
    }
  end,
}
