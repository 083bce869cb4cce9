-- guest-rootfs-erofs.lua -- a root filesystem of containerd's erofs
-- snapshotter (class "rootfs", action "erofs-layers") as kata's Go runtime
-- makes it (container.go createErofsDevices, fs_share_linux.go
-- shareRootFilesystemWithErofs): each lowerdir= of the overlay is an erofs
-- mount of a layer.erofs file, hot-plugged read-only and mounted by the
-- agent (fstype "erofs", option "ro") at
-- <guest_virtual_volume_dir>/<base64url of its guest address>; an upperdir=
-- whose directory is the mount point of a rwlayer.img is hot-plugged too
-- (fstype "ext4"; the host remounts it read-only) and holds the overlay's
-- upper and work directories, else they are
-- <guest_container_dir>/<container>/fs and work. Then an overlay storage
-- (driver "overlayfs", source and fstype "overlay", the driver option
-- io.katacontainers.volume.overlayfs.create_directory= for each of them)
-- at <guest_container_dir>/<container>/<rootfs_suffix>, the root there.
-- Storages in that order: the layers, the rw layer, the overlay.
--
-- Tune: params.guest_virtual_volume_dir.

param { name = "guest_virtual_volume_dir", type = "string", default = "/run/kata-containers/virtual-volumes",
  doc = "where the guest mounts the erofs root's layers (kata's defaultKataGuestVirtualVolumedir)" }

local CREATE_DIRECTORY = "io.katacontainers.volume.overlayfs.create_directory="

-- the host file behind a mount: its source (a /dev/loopN stands for its
-- backing file: the rule state does not read sysfs files)
local function backing(entry, want, what)
  local base = entry.source:match("([^/]*)$")
  if entry.source:sub(1, 9) ~= "/dev/loop" and base ~= want then
    error(("unsupported %s %s for %s"):format(what, entry.source, entry.mount_point), 0)
  end
  return entry.source
end

local function device(m, ctx, path, fstype, options, read_only, devices)
  local s = block_storage(m, ctx, path)
  s.fstype, s.options = fstype, options
  s.mount_point = guest_join(ctx.guest_virtual_volume_dir, base64_url(s.source))
  local st = core.stat(path)
  devices[#devices + 1] = { path = path, read_only = read_only, file = st ~= nil and st.type == "file" }
  return s
end

guest {
  class = "rootfs", action = "erofs-layers",
  build = function(m, ctx)
    if m.parts ~= nil and #m.parts >= 2 then
      error("a list of mounts with erofs layers is runtime-rs' multi-layer erofs root"
        .. " (ErofsMultiLayerRootfs): no translation yet", 0)
    end
    local cid = kata_id(ctx, "container_id")
    local lower, upper = erofs_dirs(m.options)
    local storages, devices = {}, {}
    local lowers = {}
    for _, d in ipairs(lower) do
      local e = mount_entry(d)
      if e == nil or e.fstype ~= "erofs" then error("erofs mount not found for " .. d, 0) end
      local s = device(m, ctx, backing(e, "layer.erofs", "mount source"), "erofs", { "ro" }, true, devices)
      storages[#storages + 1] = s
      lowers[#lowers + 1] = s.mount_point
    end
    local rw, remount = nil, nil
    if upper ~= nil and upper ~= "" then
      local dir = guest_join(upper, "..")
      local e = mount_entry(dir)
      if e ~= nil then
        rw = device(m, ctx, backing(e, "rwlayer.img", "upper blockfile"), "ext4", {}, false, devices)
        remount = e.mount_point
      end
    end
    local up, work
    if rw ~= nil then
      up, work = guest_join(rw.mount_point, "upper"), guest_join(rw.mount_point, "work")
    else
      up = guest_join(ctx.guest_container_dir, cid, "fs")
      work = guest_join(ctx.guest_container_dir, cid, "work")
    end
    local options = {}
    if #lowers > 0 then options[1] = "lowerdir=" .. table.concat(lowers, ":") end
    options[#options + 1] = "upperdir=" .. up
    options[#options + 1] = "workdir=" .. work
    if rw ~= nil then storages[#storages + 1] = rw end
    local path = guest_join(ctx.guest_container_dir, cid, ctx.rootfs_suffix)
    storages[#storages + 1] = { driver = "overlayfs", source = "overlay", fstype = "overlay",
      mount_point = path, driver_options = { CREATE_DIRECTORY .. up, CREATE_DIRECTORY .. work },
      options = options }
    return {
      storages = storages,
      guest_mount = guest_root(m, path),
      host = { action = "hotplug", devices = devices, remount_read_only = remount },
    }
  end,
}
