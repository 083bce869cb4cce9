-- guest-local.lua -- a disk emptyDir made in the guest (class "local") as
-- kata's kata_agent.go handleLocalStorage builds it: the agent makes a
-- directory (driver, source and fstype "local", options
-- params.local_dir_options and "fsgid=<gid>" when the volume's group is not
-- root) at <guest_shared_dir>/<sandbox>/<rootfs_suffix>/local/<basename>,
-- under the sandbox's first container, and the container's mount (type
-- "local", as kata's SetEphemeralStorageType made it) points there.
--
-- Tune: params.local_dir_options, params.rootfs_suffix.

param { name = "local_dir_options", type = "list", default = { "mode=0777" },
  doc = "the options of a guest-local emptyDir directory (kata's localDirOptions)" }
param { name = "rootfs_suffix", type = "string", default = "rootfs",
  doc = "the directory of a container's root under its shared directory (kata's rootfsSuffix)" }

guest {
  class = "local",
  build = function(m, ctx)
    local st, err = m:stat()
    if not st then error("the emptyDir cannot be stat'ed: " .. tostring(err), 0) end
    local options = copy_list(ctx.local_dir_options)
    if st.gid ~= 0 then options[#options + 1] = "fsgid=" .. st.gid end
    local path = guest_join(ctx.guest_shared_dir, kata_id(ctx, "sandbox_id"), ctx.rootfs_suffix, "local",
      base_name(m.source))
    return {
      storages = { { driver = "local", source = "local", fstype = "local", mount_point = path,
        options = options } },
      guest_mount = { source = path, type = "local" },  -- the mount's destination and options
      host = { action = "none" },
    }
  end,
}
