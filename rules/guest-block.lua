-- guest-block.lua -- a block device, or a file marked
-- params.block_device_file_option, hot-plugged (class "block") as kata's
-- kata_agent.go handleDeviceBlockVolume and handleBlkOCIMounts make it:
-- the storage of block_storage (guest-00-common.lua) mounted once per
-- device at <guest_storage_dir>/<base64url of its guest address>, and the
-- container's mount points there (a file's options become "bind": the
-- device is mounted already).

guest {
  class = "block",
  build = function(m, ctx)
    local st = m:stat()
    local vol = block_storage(m, ctx, m.source)
    local path = guest_join(ctx.guest_storage_dir, base64_url(vol.source))
    vol.mount_point = path
    local options = copy_list(m.options)
    if has_option(m.options, params.block_device_file_option) then options = { "bind" } end
    return {
      storages = { vol },
      guest_mount = { source = path, destination = m.destination, type = m.type, options = options },
      host = { action = "hotplug", path = m.source, file = st ~= nil and st.type == "file",
        read_only = has_option(m.options, "ro") },
    }
  end,
}
