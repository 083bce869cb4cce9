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
-- Storages in that order: the layers, the rw layer, the overlay. A list of
-- mounts (runtime-rs' multi-layer erofs) is translated as runtime-rs does
-- (below).
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

-- runtime-rs' erofs multi-layer root (a list of mounts: an erofs, an
-- optional ext4 rw layer, an overlay; rootfs/erofs_rootfs.rs
-- ErofsMultiLayerRootfs::new) in its fsmerge form: one erofs mount whose
-- file is hot-plugged read-only as is. The rw layer first (fstype ext4, its
-- options without "loop" plus X-kata.overlay-upper), then the erofs
-- (fstype erofs, its options without "loop", device= and X-kata.*, plus
-- X-kata.overlay-lower and the overlay's X-containerd.mkdir.path= as
-- X-kata.mkdir.path=), each with X-kata.multi-layer=true, both at the
-- root's guest path <guest_shared_dir>/passthrough/<container>/rootfs
-- (do_get_guest_path): the agent assembles the overlay. Layers that
-- runtime-rs merges into a VMDK or a GPT disk it builds on the host
-- (device= options, several erofs mounts) fail: not translated.
local MKDIR = "X-containerd.mkdir.path="

local function multi_layer(m, ctx)
  local cid = kata_id(ctx, "container_id")
  local path = guest_join(ctx.guest_shared_dir, "passthrough", cid, "rootfs")
  local rw, erofs, mkdirs, devices = nil, nil, {}, {}
  local n_erofs = 0
  for _, p in ipairs(m.parts) do
    local t = p.type:lower()
    if t == "erofs" then n_erofs = n_erofs + 1 end
    if p.type == "overlay" or p.type == "format/overlay" or p.type == "format/mkdir/overlay" then
      for _, o in ipairs(p.options) do
        if o:sub(1, #MKDIR) == MKDIR then mkdirs[#mkdirs + 1] = "X-kata.mkdir.path=" .. o:sub(#MKDIR + 1) end
      end
    end
  end
  if n_erofs > 1 then
    error(("%d erofs mounts: runtime-rs builds a GPT disk of them on the host (GPT+VMDK mode):"
      .. " not translated"):format(n_erofs), 0)
  end
  for _, p in ipairs(m.parts) do
    local t = p.type:lower()
    if t == "ext4" or t == "erofs" then
      local options = {}
      for _, o in ipairs(p.options) do
        if t == "erofs" and o:sub(1, 7) == "device=" then
          error("an erofs mount with device= options: runtime-rs merges the files into a VMDK on the"
            .. " host (fsmerge mode): not translated", 0)
        end
        if o ~= "loop" and (t == "ext4" or o:sub(1, 7) ~= "X-kata.") then options[#options + 1] = o end
      end
      options[#options + 1] = t == "ext4" and "X-kata.overlay-upper" or "X-kata.overlay-lower"
      options[#options + 1] = "X-kata.multi-layer=true"
      local s = block_storage(m, ctx, p.source)
      s.fstype, s.options, s.mount_point = t, options, path
      local st = core.stat(p.source)
      devices[#devices + 1] = { path = p.source, read_only = t == "erofs",
        file = st ~= nil and st.type == "file" }
      if t == "ext4" then rw = s else erofs = s end
    end
  end
  for _, o in ipairs(mkdirs) do erofs.options[#erofs.options + 1] = o end
  local storages = {}
  if rw ~= nil then storages[1] = rw end
  storages[#storages + 1] = erofs
  return { storages = storages, guest_mount = guest_root(m, path),
    host = { action = "hotplug", devices = devices } }
end

guest {
  class = "rootfs", action = "erofs-layers",
  build = function(m, ctx)
    if m.parts ~= nil and #m.parts >= 2 then return multi_layer(m, ctx) end
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
