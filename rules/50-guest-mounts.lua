-- 50-guest-mounts.lua -- mounts the guest makes itself (decision table rows
-- 6 and 7).
--
-- The container's /dev/shm becomes the guest's own shared memory, whatever
-- its type: every mount whose destination is exactly "/dev/shm" (byte for
-- byte, as kata compares it: "/dev/shm/" is an ordinary mount), unless kata
-- makes it an ephemeral volume first (type "ephemeral", or a tmpfs emptyDir).
-- This follows kata's handleShm (src/runtime/virtcontainers/kata_agent.go,
-- run before every other kind of volume) and runtime-rs' is_shm_volume, so
-- the row is tried right after the layers. Anything else that is not a bind
-- mount (proc, tmpfs, devpts, mqueue, ...) is passed to the agent, which
-- mounts it in the guest as the spec says.

rule {
  name = "passthrough", order = 600,
  class = "passthrough", action = "guest-mount",
  when = function(m)
    if is_bind_mount(m.type, m.options) then return false, "a bind mount" end
    return true, "not a bind mount (type '" .. m.type .. "'): the agent mounts it as the spec says"
  end,
}

rule {
  name = "shm", order = 50,
  class = "shm", action = "guest-shm",
  when = function(m)
    if m.destination ~= "/dev/shm" then return false, "the destination is not /dev/shm" end
    if m.type == "ephemeral" then return false, "an ephemeral volume on /dev/shm" end
    -- kata's SetEphemeralStorageType (pkg/katautils/create.go) makes a tmpfs
    -- emptyDir an "ephemeral" mount before handleShm sees it
    if is_ephemeral_storage(m.source) then
      return false, "a tmpfs emptyDir on /dev/shm: kata makes it an ephemeral volume"
    end
    return true, "the container's /dev/shm (type '" .. m.type .. "'): the guest's own shared memory"
  end,
}
