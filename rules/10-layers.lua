-- 10-layers.lua -- layers of a kata overlay root filesystem (decision table
-- rows 0 and 2, tried before every other row).
--
-- kata's shim turns each root filesystem option
-- io.katacontainers.fs-opt.layer=SOURCE,TYPE[,OPTION...] into an ordinary
-- container mount at /run/kata-containers/sandbox/layers/<basename of SOURCE>
-- with exactly its own options (copyLayersToMounts, containerd-shim-v2/
-- create.go); the plan decides those as every other mount. Only a mount
-- with the option params.layer_option (io.katacontainers.fs-opt.is-layer) is
-- a layer: kata removes it from the container's mounts (kata_agent.go
-- removeIgnoredOCIMount) and mounts it before the root filesystem, but only
-- when it reached the guest as a block device (handleBlkOCIMounts keeps the
-- layer storages of hot-plugged mounts: createBlockDevices, see
-- 40-block.lua). Any other is-layer mount is dropped without a word from
-- kata: the "layer-dropped" row says so.

param { name = "layer_option", type = "string", default = "io.katacontainers.fs-opt.is-layer",
  doc = "the option that marks a mount as a layer of the root filesystem" }

-- "no <layer_option> option", made again only when the param changes
local no_option_for, no_option = nil, nil
local function no_layer_option()
  if params.layer_option ~= no_option_for then
    no_option_for = params.layer_option
    no_option = "no " .. no_option_for .. " option"
  end
  return no_option
end

rule {
  name = "layer", order = 0,
  class = "layer", action = "overlay-layer",
  needs = "layer_option",              -- tried only on a mount with params.layer_option
  when = function(m, ctx)
    if not has_option(m.options, params.layer_option) then return false, no_layer_option() end
    local ok, why = hotplugs_as_block(m.source, m.type, m.options, ctx.disable_block_device_use)
    if not ok then return false, "a layer that is not hot-plugged: " .. why end
    return true, "a layer of the overlay root filesystem, hot-plugged: " .. why
  end,
}

rule {
  name = "layer-dropped", order = 2,
  class = "layer", action = "drop",
  needs = "layer_option",              -- tried only on a mount with params.layer_option
  when = function(m, ctx)
    if not has_option(m.options, params.layer_option) then return false, no_layer_option() end
    local _, why = hotplugs_as_block(m.source, m.type, m.options, ctx.disable_block_device_use)
    return true, "a layer that never reaches the guest as a block device (" .. why
      .. "): kata removes it from the container's mounts and mounts nothing"
  end,
}
