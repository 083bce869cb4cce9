-- guest-watchable.lua -- a small configmap or secret (class "watchable") as
-- kata's container.go mountSharedDirMounts makes it: shared as any bind
-- mount (guest-shared.lua), then the agent keeps a watchable copy of it
-- (driver "watchable-bind", source the shared guest path, fstype "bind",
-- the mount's options) at <guest_shared_dir>/watchable/<name>, and the
-- container's mount points there.

guest {
  class = "watchable",
  build = function(m, ctx)
    local shared, host = share(m, ctx)
    if shared == nil then return { why = host, host = { action = "none" } } end
    local path = guest_join(ctx.guest_shared_dir, "watchable", base_name(shared))
    return {
      storages = { { driver = "watchable-bind", source = shared, fstype = "bind", mount_point = path,
        options = copy_list(m.options) } },
      guest_mount = { source = path },    -- the mount's destination, type and options
      host = host,
    }
  end,
}
