-- 40-block.lua -- block devices hot-plugged into the guest (decision table
-- row 5).
--
-- A bind mount whose source is a block device node, or a mount of any type
-- whose source is a regular file with the option
-- params.block_device_file_option (a tardev "tar" volume, an "ext4" image),
-- is hot-plugged as a disk, unless the runtime disables block devices
-- (disable_block_device_use). This follows kata's createBlockDevices
-- (src/runtime/virtcontainers/container.go): only "bind" mounts and mounts
-- marked as block files are looked at.
--
-- A direct-assigned volume (kata-runtime direct-volume add: a
-- mountInfo.json under params.direct_volumes_root, read by the engine and
-- given to rules as m.direct_volume) is decided first, with the volume's
-- device, file system type and options in place of the mount's, as
-- createBlockDevices does: a block device node or a regular file is
-- hot-plugged; any other device is mounted by the agent as that type.
-- runtime-rs also knows the volume types "vfiovol" (a VFIO device passed
-- through) and "spdkvol"/"spoolvol" (a vhost-user-blk device from SPDK);
-- the Go runtime has no such types.
--
-- Tune: params.sysfs_root, where the host's sysfs is mounted (a test may
-- point it at a fake tree).

param { name = "sysfs_root", type = "string", default = "/sys",
  doc = "where the host's sysfs is mounted (block devices are looked up there)" }

-- is_block_device(major, minor): the host knows a block device by that
-- number (/sys/dev/block/MAJOR:MINOR).
predicate("is_block_device", function(major, minor)
  local dev, err = core.block_device(major, minor, params.sysfs_root)
  if dev == nil then error(err, 0) end
  return dev ~= false
end)

-- is_device_mapper(major, minor): that block device is a device-mapper one.
predicate("is_device_mapper", function(major, minor)
  local dev, err = core.block_device(major, minor, params.sysfs_root)
  if dev == nil then error(err, 0) end
  return dev ~= false and dev.dm == true
end)

-- hotplugs_as_block(source, type, options, disabled): whether kata's
-- createBlockDevices hot-plugs this mount, and why (or why not): a bind
-- mount of a block device node, or a regular file marked
-- params.block_device_file_option whatever the type, block devices enabled.
predicate("hotplugs_as_block", function(source, mount_type, options, disabled)
  if disabled then
    return false, "block devices are disabled (disable_block_device_use)"
  end
  local block_file = has_option(options, params.block_device_file_option)
  if not block_file and not is_bind_mount(mount_type, options) then
    return false, "not a bind mount, nor marked " .. params.block_device_file_option
  end
  local st = core.stat(source)
  if not st then return false, "the source cannot be stat'ed" end
  if st.type == "block" then
    return true, ("the source is a block device node (%d:%d)"):format(st.rdev_major, st.rdev_minor)
  end
  if st.type == "file" and block_file then
    return true, "a regular file marked " .. params.block_device_file_option
  end
  return false, "neither a block device node nor a file marked as one"
end)

-- direct_volume_of(m, ctx): the mountInfo.json fields when kata reads them
-- for this mount (block devices enabled; a bind mount or a marked file),
-- else nil and why not.
local function direct_volume_of(m, ctx)
  local dv = m.direct_volume
  if dv == nil then return nil, "not a direct-assigned volume (no mountInfo.json)" end
  if ctx.disable_block_device_use then
    return nil, "a direct-assigned volume, but block devices are disabled: kata does not read"
      .. " its mountInfo.json"
  end
  if not is_bind_mount(m.type, m.options) and not has_option(m.options, params.block_device_file_option) then
    return nil, "a direct-assigned volume, but neither a bind mount nor a marked block file"
  end
  return dv
end

local function replaced(dv)
  local why = ("a direct-assigned volume (%s): source '%s', type '%s', options [%s]")
    :format(dv.volume_type ~= "" and dv.volume_type or "no volume-type", dv.device, dv.fstype,
      table.concat(dv.options, ","))
  if dv.fs_group then why = why .. (", fsGroup %d"):format(dv.fs_group) end
  return why
end

rule {
  name = "direct-vfio", order = 440,
  class = "direct-volume", action = "vfio",
  needs = "direct_volume",             -- tried only on a mount with a mountInfo.json
  when = function(m, ctx)
    local dv, why = direct_volume_of(m, ctx)
    if not dv then return false, why end
    if dv.volume_type ~= "vfiovol" then return false, "not a vfiovol" end
    return true, { replaced(dv), "runtime-rs VfioVolume: the device is passed through with VFIO" }
  end,
}

rule {
  name = "direct-spdk", order = 445,
  class = "direct-volume", action = "vhost-user-blk",
  needs = "direct_volume",             -- tried only on a mount with a mountInfo.json
  when = function(m, ctx)
    local dv, why = direct_volume_of(m, ctx)
    if not dv then return false, why end
    if dv.volume_type ~= "spdkvol" and dv.volume_type ~= "spoolvol" then
      return false, "not an spdkvol or spoolvol"
    end
    return true, { replaced(dv), "runtime-rs SPDKVolume: a vhost-user-blk device served by SPDK" }
  end,
}

rule {
  name = "direct-block", order = 450,
  class = "direct-volume", action = "hotplug-block",
  needs = "direct_volume",             -- tried only on a mount with a mountInfo.json
  when = function(m, ctx)
    local dv, why = direct_volume_of(m, ctx)
    if not dv then return false, why end
    local st = core.stat(dv.device)
    if st and st.type == "block" then
      return true, { replaced(dv), ("the device is a block device node (%d:%d): hot-plugged")
        :format(st.rdev_major, st.rdev_minor) }
    end
    if st and st.type == "file" then
      return true, { replaced(dv), "the device is a regular file: hot-plugged as a disk" }
    end
    return false, "the device is neither a block device node nor a regular file"
  end,
}

rule {
  name = "direct-mount", order = 455,
  class = "direct-volume", action = "guest-mount",
  needs = "direct_volume",             -- tried only on a mount with a mountInfo.json
  when = function(m, ctx)
    local dv, why = direct_volume_of(m, ctx)
    if not dv then return false, why end
    local st = core.stat(dv.device)
    return true, { replaced(dv), ("the device is %s: not hot-plugged; the agent mounts it as"
      .. " type '%s'"):format(st and ("a " .. st.type) or "missing on the host", dv.fstype) }
  end,
}

rule {
  name = "block", order = 500,
  class = "block", action = "hotplug-block",
  when = function(m, ctx)
    return hotplugs_as_block(m.source, m.type, m.options, ctx.disable_block_device_use)
  end,
}
