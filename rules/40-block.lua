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
-- Tune: params.sysfs_root, where the host's sysfs is mounted (a test may
-- point it at a fake tree).

params.sysfs_root = "/sys"

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

rule {
  name = "block", order = 500,
  class = "block", action = "hotplug-block",
  when = function(m, ctx)
    return hotplugs_as_block(m.source, m.type, m.options, ctx.disable_block_device_use)
  end,
}
