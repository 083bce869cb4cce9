-- 10-layers.lua -- layers of a kata overlay root filesystem (decision table
-- row 0, tried before every other row).
--
-- A mount with the option io.katacontainers.fs-opt.is-layer is a layer: it
-- is taken out of the container's mounts and mounted in the guest before
-- the root filesystem, an overlay of its layers. The root filesystem's own
-- options io.katacontainers.fs-opt.layer=SOURCE,TYPE[,OPTION...] name such
-- layers too (see 90-rootfs.lua). A layer whose options hold
-- params.block_device_file_option is a file hot-plugged as a block device.

param { name = "layer_option", type = "string", default = "io.katacontainers.fs-opt.is-layer",
  doc = "the option that marks a mount as a layer of the root filesystem" }

rule {
  name = "layer", order = 0,
  class = "layer", action = "overlay-layer",
  when = function(m)
    if not has_option(m.options, params.layer_option) then
      return false, "no " .. params.layer_option .. " option"
    end
    if has_option(m.options, params.block_device_file_option) then
      return true, "a layer of the overlay root filesystem, a file hot-plugged as a block device"
    end
    return true, "a layer of the overlay root filesystem"
  end,
}
