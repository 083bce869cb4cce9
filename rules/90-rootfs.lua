-- 90-rootfs.lua -- the container's root filesystem (scope "rootfs").
--
-- Rules here see, besides the root's source, type and options:
--   m.mounted  the runtime mounted it at m.target (kata's shim mounts every
--              rootfs it does not hand over as is); kata's hotplugDrive
--              then judges the target, and the source otherwise
--   m.target   where it is mounted (without ctx.rootfs: spec.root.path)
--   m.parts    the mounts of a rootfs given as a list (two or more)
--   m.layers   the layers of its io.katacontainers.fs-opt.layer= options,
--              each with the class and action decided for it
--
-- The kinds, tried in this order (kata's ShareRootFilesystem,
-- src/runtime/virtcontainers/fs_share_linux.go, and runtime-rs'
-- RootFsResource::handler_rootfs, crates/resource/src/rootfs/mod.rs):
--   guest-pull     an io.katacontainers.volume= option (a base64 JSON
--                  KataVirtualVolume): the guest pulls the image itself
--   nydus          type fuse.nydus-overlayfs (or fuse.<dir>/nydus-overlayfs*):
--                  nydusd serves it, no host mount and no hot-plug
--   erofs-layers   the containerd erofs snapshotter: an overlay whose
--                  lowerdir= are mounted layer.erofs files (Go), or a list of
--                  mounts holding an erofs and an overlay (runtime-rs):
--                  each layer file is hot-plugged read-only
--   overlay        io.katacontainers.fs-opt.layer= options: the guest
--                  mounts an overlay of the layers (Go runtime only)
--   hotplug-block  a regular file with option "loop" (containerd's blockfile
--                  snapshotter), or a path on a block device of the host
--                  (unless disable_block_device_use)
--   share          otherwise: shared with the guest
-- Except for the first three, the path judged (the target when mounted, the
-- source otherwise) must exist: kata's ResolvePath and hotplugDrive's stat
-- fail the create, and so does this decision.
--
-- Tune: params.virtual_volume_option, params.blockfile_option,
-- params.erofs_snapshotter, params.virtual_volume_types.

param { name = "virtual_volume_option", type = "string", default = "io.katacontainers.volume=",
  doc = "the root filesystem option carrying a base64 JSON KataVirtualVolume (guest pull)" }
param { name = "blockfile_option", type = "string", default = "loop",
  doc = "the option of a regular-file root filesystem of containerd's blockfile snapshotter" }
param { name = "erofs_snapshotter", type = "string", default = "io.containerd.snapshotter.v1.erofs",
  doc = "the path element of containerd's erofs snapshotter in an overlay's lowerdir/upperdir" }
param { name = "virtual_volume_types", type = "list", default = { "direct_block", "image_raw_block",
  "layer_raw_block", "image_nydus_block", "layer_nydus_block", "image_nydus_fs", "layer_nydus_fs",
  "image_guest_pull" },
  doc = "the volume_type values of a KataVirtualVolume kata accepts" }

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_VALUE = {}
for i = 1, #B64 do B64_VALUE[B64:byte(i)] = i - 1 end

-- base64_decode(s): Go's base64.StdEncoding.DecodeString: padded, no other
-- byte; nil when bad.
predicate("base64_decode", function(s)
  if #s % 4 ~= 0 then return nil end
  local out, acc, bits = {}, 0, 0
  local n = #s
  local pad = 0
  if n > 0 and s:byte(n) == 61 then pad = pad + 1 end
  if n > 1 and s:byte(n - 1) == 61 then pad = pad + 1 end
  for i = 1, n - pad do
    local v = B64_VALUE[s:byte(i)]
    if v == nil then return nil end
    acc = (acc << 6) | v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      out[#out + 1] = string.char((acc >> bits) & 0xff)
      acc = acc & ((1 << bits) - 1)
    end
  end
  return table.concat(out)
end)

-- virtual_volume(options): the KataVirtualVolume of the first
-- io.katacontainers.volume= option, checked as kata's ParseKataVirtualVolume
-- does (base64, a JSON object, a known volume_type): its volume_type, or
-- nil when there is no such option; a bad one raises (kata fails the create).
predicate("virtual_volume", function(options)
  local prefix = params.virtual_volume_option
  for _, o in ipairs(options or {}) do
    if o:sub(1, #prefix) == prefix then
      local json = base64_decode(o:sub(#prefix + 1))
      if json == nil then error(("'%s...': not base64 (KataVirtualVolume base64 decoding)"):format(
        o:sub(1, #prefix + 16)), 0) end
      if not json:match("^%s*{") then
        error("the " .. prefix .. " value is not a JSON object (KataVirtualVolume json unmarshal)", 0)
      end
      local vtype = json:match('"volume_type"%s*:%s*"([%w_]*)"')
      for _, t in ipairs(params.virtual_volume_types) do
        if t == vtype then return vtype end
      end
      error(("the %s value has no known volume_type (got %s): KataVirtualVolume is not correct"):format(
        prefix, vtype and ("'" .. vtype .. "'") or "none"), 0)
    end
  end
  return nil
end)

-- is_nydus_rootfs(type): kata's IsNydusRootFSType: "fuse." then a path whose
-- last element starts with "nydus-overlayfs" (runtime-rs takes only
-- "fuse.nydus-overlayfs" itself).
predicate("is_nydus_rootfs", function(mount_type)
  if type(mount_type) ~= "string" or mount_type:sub(1, 5) ~= "fuse." then return false end
  local rest = core.clean(mount_type:sub(6))
  local base = rest:match("([^/]*)$")
  return base:sub(1, #"nydus-overlayfs") == "nydus-overlayfs"
end)

-- erofs_dirs(options): the lowerdir= directories (split at ':') and the
-- upperdir= of an overlay's options (kata's parseErofsRootFsOptions).
predicate("erofs_dirs", function(options)
  local lower, upper = {}, nil
  for _, o in ipairs(options or {}) do
    if o:sub(1, 9) == "lowerdir=" then
      for d in (o:sub(10) .. ":"):gmatch("([^:]*):") do lower[#lower + 1] = d end
    elseif o:sub(1, 9) == "upperdir=" then
      upper = o:sub(10)
    end
  end
  return lower, upper
end)

-- is_erofs_rootfs(type, options): kata's IsErofsRootFS: an overlay one of
-- whose lowerdir= or upperdir= names the erofs snapshotter or is on erofs.
predicate("is_erofs_rootfs", function(mount_type, options)
  if mount_type ~= "overlay" then return false end
  local lower, upper = erofs_dirs(options)
  if upper then lower[#lower + 1] = upper end
  for _, d in ipairs(lower) do
    if d:find(params.erofs_snapshotter, 1, true) then return true end
    if core.fs_type(d) == "erofs" then return true end
  end
  return false
end)

-- is_erofs_multi_layer(parts): runtime-rs' is_erofs_multi_layer: two or
-- more mounts, one of type erofs and one overlay-like
-- ("overlay", "format/overlay", "format/mkdir/overlay").
predicate("is_erofs_multi_layer", function(parts)
  if parts == nil or #parts < 2 then return false end
  local erofs, overlay = false, false
  for _, p in ipairs(parts) do
    if p.type:lower() == "erofs" then erofs = true end
    if p.type == "overlay" or p.type:match("/overlay$") then overlay = true end
  end
  return erofs and overlay
end)

-- rootfs_path(m): the path kata judges (the target when mounted, else the
-- source), which must exist: kata's ResolvePath (pkg/katautils/create.go) and
-- hotplugDrive's getDeviceForPath fail the create on a missing one.
predicate("rootfs_path", function(m)
  local path, what = m.source, "source"
  if m.mounted then path, what = m.target, "target" end
  if m.mounted and (path == nil or path == "") then
    error("a mounted root filesystem needs its target (where the runtime mounted it)", 0)
  end
  if path == nil or path == "" then
    error("the root filesystem's " .. what .. " is empty (kata: \"Path cannot be empty\")", 0)
  end
  local st, err = core.stat(path)
  if st == nil then
    local hint = ""
    if not m.mounted and m.type ~= "" and m.type ~= "bind" and path:sub(1, 1) ~= "/" then
      hint = " (kata's shim mounts such a root filesystem itself: pass mounted = true and its target)"
    end
    error(("the root filesystem's %s does not exist: %s"
      .. " (kata's ResolvePath and hotplugDrive fail the create)%s"):format(what, tostring(err), hint), 0)
  end
  return path, st
end)

rule {
  name = "rootfs-guest-pull", order = 50, scope = "rootfs",
  class = "rootfs", action = "guest-pull",
  when = function(m)
    local vtype = virtual_volume(m.options)
    if vtype == nil then return false, "no " .. params.virtual_volume_option .. " option" end
    return true, "a kata virtual volume (" .. vtype .. "): the guest pulls the image, nothing is shared"
  end,
}

rule {
  name = "rootfs-nydus", order = 60, scope = "rootfs",
  class = "rootfs", action = "nydus",
  when = function(m)
    if not is_nydus_rootfs(m.type) then return false, "not a nydus overlay" end
    return true, "a nydus image (type '" .. m.type .. "'): nydusd serves it, no host mount, no hot-plug"
  end,
}

rule {
  name = "rootfs-erofs", order = 70, scope = "rootfs",
  class = "rootfs", action = "erofs-layers",
  when = function(m)
    if is_erofs_multi_layer(m.parts) then
      return true, ("%d mounts with erofs layers and an overlay (runtime-rs ErofsMultiLayerRootfs):"
        .. " each layer hot-plugged read-only"):format(#m.parts)
    end
    if not is_erofs_rootfs(m.type, m.options) then return false, "not an erofs snapshotter overlay" end
    -- kata's createErofsDevices: each lowerdir is an erofs mount of a layer.erofs file
    local lower = erofs_dirs(m.options)
    for _, d in ipairs(lower) do
      local e = mount_entry(d)
      if e == nil or e.fstype ~= "erofs" then error("erofs mount not found for " .. d, 0) end
      local base = e.source:match("([^/]*)$")
      if e.source:sub(1, 9) ~= "/dev/loop" and base ~= "layer.erofs" then
        error(("unsupported mount source %s for %s"):format(e.source, d), 0)
      end
    end
    return true, ("the erofs snapshotter's overlay of %d layer(s): each layer.erofs hot-plugged read-only")
      :format(#lower)
  end,
}

rule {
  name = "rootfs-overlay", order = 100, scope = "rootfs",
  class = "rootfs", action = "overlay",
  when = function(m)
    if not has_option_prefix(m.options, "io.katacontainers.fs-opt.layer=") then return false, "no layers" end
    rootfs_path(m)
    local n, hot = #m.layers, 0
    for _, l in ipairs(m.layers) do
      if l.action == "overlay-layer" then hot = hot + 1 end
    end
    return true, ("an overlay of its layers in the guest: %d layer option(s), %d layer(s) hot-plugged"
      .. " and mounted before it"):format(n, hot)
  end,
}

rule {
  name = "rootfs-blockfile", order = 150, scope = "rootfs",
  class = "rootfs", action = "hotplug-block",
  when = function(m, ctx)
    if m.mounted or not has_option(m.options, params.blockfile_option) then
      return false, "not an unmounted file with option '" .. params.blockfile_option .. "'"
    end
    if ctx.disable_block_device_use then
      return false, "block devices are disabled (disable_block_device_use)"
    end
    local _, st = rootfs_path(m)
    if st.type ~= "file" then return false, "the source is no regular file" end
    return true, "a regular file with option '" .. params.blockfile_option
      .. "' (containerd's blockfile snapshotter): the file hot-plugged as a disk"
  end,
}

rule {
  name = "rootfs-block", order = 200, scope = "rootfs",
  class = "rootfs", action = "hotplug-block",
  when = function(m, ctx)
    local path = rootfs_path(m)
    if ctx.disable_block_device_use then
      return false, "block devices are disabled (disable_block_device_use)"
    end
    local dev, err = device_for_path(path)
    if not dev then return false, "no device of its own: " .. tostring(err) end
    if is_block_device(dev.major, dev.minor) then
      return true, ("%s on block device %d:%d (mounted at '%s')"):format(
        m.mounted and "the target is" or "the source is", dev.major, dev.minor, dev.mount_point)
    end
    return false, ("device %d:%d is not a block device"):format(dev.major, dev.minor)
  end,
}

rule {
  name = "rootfs-share", order = 300, scope = "rootfs",
  class = "rootfs", action = "share",
  when = function(m)
    rootfs_path(m)
    return true, "shared with the guest"
  end,
}
