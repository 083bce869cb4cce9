-- guest-rootfs.lua -- the container's root filesystem (class "rootfs") as
-- kata's fs_share_linux.go ShareRootFilesystem makes it. The decision's
-- guest_mount is the root as the agent receives it: its source is the
-- guest's root.path.
--   overlay        the "overlayfs" storage (source "none", the root's type
--                  and options) at <guest_container_dir>/<container>/rootfs
--   hotplug-block  a block storage at <guest_shared_dir>/<container>
--                  ("nouuid" for xfs), the root below it at <rootfs_suffix>
--   share          the host binds the root to
--                  <host_shared_dir>/<sandbox>/mounts/<container>/<rootfs_suffix>;
--                  the guest sees it at <guest_shared_dir>/<container>/<rootfs_suffix>
--
-- Tune: params.guest_container_dir.

param { name = "guest_container_dir", type = "string", default = "/run/kata-containers",
  doc = "the guest directory of each container's overlay root (kata's /run/kata-containers/<id>)" }

local function root(m, path)
  return { source = path, destination = "/", type = m.type, options = copy_list(m.options) }
end

guest {
  class = "rootfs", action = "overlay",
  build = function(m, ctx)
    local path = guest_join(ctx.guest_container_dir, kata_id(ctx, "container_id"), "rootfs")
    return {
      storages = { { driver = "overlayfs", source = "none", fstype = m.type, mount_point = path,
        options = copy_list(m.options) } },
      guest_mount = root(m, path),
      host = { action = "none" },
    }
  end,
}

guest {
  class = "rootfs", action = "hotplug-block",
  build = function(m, ctx)
    local cid = kata_id(ctx, "container_id")
    local fstype = m.type
    if fstype == "" then
      local dev = m:device()
      local entry = dev and dev.mount_point ~= "" and mount_entry(dev.mount_point) or nil
      fstype = entry and entry.fstype or ""
    end
    local vol = block_storage(m, ctx, m.source)
    vol.mount_point, vol.fstype = guest_join(ctx.guest_shared_dir, cid), fstype
    vol.options = fstype == "xfs" and { "nouuid" } or {}
    return {
      storages = { vol },
      guest_mount = root(m, guest_join(ctx.guest_shared_dir, cid, ctx.rootfs_suffix)),
      host = { action = "hotplug", path = m.source, read_only = has_option(m.options, "ro") },
    }
  end,
}

guest {
  class = "rootfs", action = "share",
  build = function(m, ctx)
    local cid = kata_id(ctx, "container_id")
    local target = (m.destination ~= "/" and m.destination ~= "") and m.destination or m.source
    return {
      guest_mount = root(m, guest_join(ctx.guest_shared_dir, cid, ctx.rootfs_suffix)),
      host = { action = "share", source = target,
        path = guest_join(ctx.host_shared_dir, kata_id(ctx, "sandbox_id"), "mounts", cid, ctx.rootfs_suffix),
        read_only = false },
    }
  end,
}
