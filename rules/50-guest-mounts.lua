-- 50-guest-mounts.lua -- mounts the guest makes itself (decision table rows
-- 6 and 7).
--
-- Anything that is not a bind mount (proc, tmpfs, devpts, mqueue, ...) is
-- passed to the agent, which mounts it in the guest as the spec says; a
-- bind mount on /dev/shm becomes the guest's own /dev/shm.

rule {
  name = "passthrough", order = 600,
  class = "passthrough", action = "guest-mount",
  when = function(m)
    if is_bind_mount(m.type, m.options) then return false, "a bind mount" end
    return true, "not a bind mount (type '" .. m.type .. "'): the agent mounts it as the spec says"
  end,
}

rule {
  name = "shm", order = 700,
  class = "shm", action = "guest-shm",
  when = function(m)
    if core.clean(m.destination) == "/dev/shm" then
      return true, "a bind mount on /dev/shm: the guest's own shared memory"
    end
    return false, "the destination is not /dev/shm"
  end,
}
