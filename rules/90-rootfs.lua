-- 90-rootfs.lua -- the container's root filesystem (scope "rootfs").
--
-- The root filesystem is
--   an overlay of layers      when its options name layers
--                             (io.katacontainers.fs-opt.layer=SOURCE,TYPE[,OPTION...])
--   hot-plugged as a disk     when it sits on a block device of the host
--                             (unless disable_block_device_use)
--   shared with the guest     otherwise, also when the path is missing or
--                             no mount point of its own is found
-- Rules here see m.layers, the layers parsed from the root's options.

rule {
  name = "rootfs-overlay", order = 100, scope = "rootfs",
  class = "rootfs", action = "overlay",
  when = function(m)
    if #m.layers > 0 then return true, ("an overlay of %d layer(s)"):format(#m.layers) end
    return false, "no layers"
  end,
}

rule {
  name = "rootfs-block", order = 200, scope = "rootfs",
  class = "rootfs", action = "hotplug-block",
  when = function(m, ctx)
    if ctx.disable_block_device_use then
      return false, "block devices are disabled (disable_block_device_use)"
    end
    local dev, err = m:device()
    if not dev then return false, "no device of its own: " .. tostring(err) end
    if is_block_device(dev.major, dev.minor) then
      return true, ("on block device %d:%d (mounted at '%s')"):format(dev.major, dev.minor, dev.mount_point)
    end
    return false, ("device %d:%d is not a block device"):format(dev.major, dev.minor)
  end,
}

rule {
  name = "rootfs-share", order = 300, scope = "rootfs",
  class = "rootfs", action = "share",
  when = function()
    return true, "shared with the guest"
  end,
}
