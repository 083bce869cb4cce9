-- guest-ephemeral.lua -- a tmpfs emptyDir (class "ephemeral") as kata's
-- kata_agent.go handleEphemeralStorage builds it: the agent makes a tmpfs
-- at <guest_ephemeral_dir>/<basename of the source> (driver "ephemeral",
-- source and fstype "tmpfs", "fsgid=<gid>" when the volume's group is not
-- root: the pod's fsGroup), and the container's mount becomes a bind of it.
--
-- Tune: params.guest_ephemeral_dir.

param { name = "guest_ephemeral_dir", type = "string", default = "/run/kata-containers/sandbox/ephemeral",
  doc = "where the guest makes tmpfs and hugetlbfs emptyDirs (kata's defaultEphemeralPath)" }

guest {
  class = "ephemeral",
  build = function(m, ctx)
    local st, err = m:stat()
    if not st then error("the emptyDir cannot be stat'ed: " .. tostring(err), 0) end
    local options = {}
    if st.gid ~= 0 then options[1] = "fsgid=" .. st.gid end
    local path = guest_join(ctx.guest_ephemeral_dir, base_name(m.source))
    return {
      storages = { { driver = "ephemeral", source = "tmpfs", fstype = "tmpfs", mount_point = path,
        options = options } },
      guest_mount = { source = path, type = "bind" },   -- the mount's destination and options
      host = { action = "none" },
    }
  end,
}
