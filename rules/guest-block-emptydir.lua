-- guest-block-emptydir.lua -- a Kubernetes emptyDir on disk in
-- emptydir_mode "block-encrypted" or "block-plain" (class "block-emptydir")
-- as kata's Go runtime builds it: container.go setupEphemeralDisk makes a
-- sparse <emptyDir>/disk.img and a mountInfo.json for it (volume-type
-- "blk", fstype ext4, metadata createFilesystem true, encryptionKey
-- "ephemeral" when encrypted, options ["discard"] when plain, fsGroup the
-- emptyDir's group when not root), which createBlockDevices then reads as
-- a direct-assigned volume: hotplugged_volume (guest-00-common.lua) with
-- driver options encryption_key=ephemeral and create_filesystem. The host
-- step says the runtime creates the file (create = "disk.img").

guest {
  class = "block-emptydir",
  build = function(m, ctx)
    local st, err = m:stat()
    if not st then error("the emptyDir cannot be stat'ed: " .. tostring(err), 0) end
    local mode = emptydir_mode_of(ctx)
    local driver_options, options = { "create_filesystem" }, {}
    if mode == "block-encrypted" then
      driver_options = { "encryption_key=ephemeral", "create_filesystem" }
    elseif mode == "block-plain" then
      options = { "discard" }
    end
    return hotplugged_volume(m, ctx, { path = guest_join(m.source, "disk.img"), fstype = "ext4",
      options = options, driver_options = driver_options, fs_group = st.gid ~= 0 and st.gid or nil,
      file = true, read_only = false, create = "disk.img" })
  end,
}
