-- guest-unchanged.lua -- the mounts kata passes to the agent as the spec
-- gives them, with no storage and nothing on the host: system mounts and
-- host devices (the guest has its own /proc, /sys and /dev, and kata's
-- mountSharedDirMounts skips them without removing them from the spec), and
-- mounts that are not bind mounts (proc, tmpfs, devpts, ...: the agent
-- mounts them as the spec says).

for _, class in ipairs({ "system", "host-device", "passthrough" }) do
  guest {
    class = class,
    build = function(m)
      return { guest_mount = unchanged(m), host = { action = "none" } }
    end,
  }
end
