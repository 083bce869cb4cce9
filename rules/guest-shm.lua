-- guest-shm.lua -- the container's /dev/shm (class "shm") as kata's
-- kata_agent.go handleShm rewrites it: an "rbind" of the sandbox's shm
-- (<guest_sandbox_dir>/shm) when the sandbox has one (ctx.sandbox_shm_size
-- above 0), else a tmpfs of its own, "noexec,nosuid,nodev,mode=1777" and
-- size=params.shm_size (kata's DefaultShmSize, 64 MiB). No storage: the
-- sandbox's shm is made with the sandbox.
--
-- Tune: params.shm_size, params.guest_sandbox_dir.

param { name = "shm_size", type = "integer", default = 64 * 1024 * 1024,
  doc = "bytes of a container's own /dev/shm tmpfs when the sandbox has none (kata's DefaultShmSize)" }
param { name = "sandbox_shm_size", type = "integer", default = 0,
  doc = "bytes of the sandbox's shm (0: none; the runtime passes its own)" }
param { name = "guest_sandbox_dir", type = "string", default = "/run/kata-containers/sandbox/",
  doc = "the sandbox's guest directory (kata's defaultKataGuestSandboxDir)" }

guest {
  class = "shm",
  build = function(m, ctx)
    if ctx.sandbox_shm_size > 0 then
      return {
        guest_mount = { source = guest_join(ctx.guest_sandbox_dir, "shm"), destination = m.destination,
          type = "bind", options = { "rbind" } },
      }
    end
    return {
      guest_mount = { source = "shm", destination = m.destination, type = "tmpfs",
        options = { "noexec", "nosuid", "nodev", "mode=1777", "size=" .. ctx.shm_size } },
    }
  end,
}
