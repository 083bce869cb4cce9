-- guest-unchanged.lua -- the mounts kata passes to the agent as the spec
-- gives them, with no storage and nothing on the host: system mounts and
-- host devices (the guest has its own /proc, /sys and /dev, and kata's
-- mountSharedDirMounts skips them without removing them from the spec), and
-- mounts that are not bind mounts (proc, tmpfs, devpts, ...: the agent
-- mounts them as the spec says).

-- (`unchanged = true`: what build would return with unchanged(m), no
-- storage and host { action = "none" }, made by the engine without a build)
for _, class in ipairs({ "system", "host-device", "passthrough" }) do
  guest { class = class, unchanged = true }
end
