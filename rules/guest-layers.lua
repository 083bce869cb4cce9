-- guest-layers.lua -- a layer of an overlay root filesystem (class "layer")
-- as kata's kata_agent.go handleBlkOCIMounts and removeIgnoredOCIMount make
-- it: a hot-plugged layer (a block device, or a file marked
-- params.block_device_file_option) is a block storage mounted at the
-- layer's own mount point, before the root filesystem; every layer is
-- removed from the container's mounts. Kata makes no storage for a layer it
-- does not hot-plug.

guest {
  class = "layer",
  build = function(m, ctx)
    local st = m:stat()
    local block = st ~= nil and not ctx.disable_block_device_use and (st.type == "block"
      or (st.type == "file" and has_option(m.options, params.block_device_file_option)))
    local why = "a layer: removed from the container's mounts, mounted before the root filesystem"
    if not block then
      return { storages = {}, why = why .. " (not hot-plugged: no storage)", host = { action = "none" } }
    end
    return {
      storages = { block_storage(m, ctx, m.source) },
      why = why,
      host = { action = "hotplug", path = m.source, file = st.type == "file",
        read_only = has_option(m.options, "ro") },
    }
  end,
}
