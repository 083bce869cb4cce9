-- guest-block.lua -- a block device, or a file marked
-- params.block_device_file_option, hot-plugged (class "block") as kata's
-- kata_agent.go handleDeviceBlockVolume and handleBlkOCIMounts make it:
-- hotplugged_volume (guest-00-common.lua) with the mount's own type and
-- options: the storage mounted once per device at
-- <guest_storage_dir>/<base64url of its guest address>, and the
-- container's mount points there (a file's options become "bind": the
-- device is mounted already).

guest {
  class = "block",
  build = function(m, ctx)
    local st = m:stat()
    return hotplugged_volume(m, ctx, { path = m.source, fstype = m.type, options = m.options,
      file = st ~= nil and st.type == "file", read_only = has_option(m.options, "ro") })
  end,
}
