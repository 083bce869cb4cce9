-- guest-rootfs-nydus.lua -- a nydus image as the root filesystem (class
-- "rootfs", action "nydus") as kata's fs_share_linux.go
-- shareRootFilesystemWithNydus makes it: nydusd (the shared file system
-- daemon, shared_fs "virtio-fs-nydus") mounts the image's RAFS at
-- /rafs/<container>/lowerdir, the host binds the snapshot directory
-- read-only to <host_shared_dir>/<sandbox>/mounts/<container>/snapshotdir,
-- and the agent mounts an overlay (driver "overlayfs", source and fstype
-- "overlay") at <guest_shared_dir>/<container>/<rootfs_suffix>: upperdir
-- and workdir in the shared snapshot directory, lowerdir the image in
-- <guest_nydus_image_dir>/<container>/lowerdir, index=off. The image's
-- source, nydusd config and snapshot directory come from the root's
-- extraoption= option (base64 JSON, nydusd.go parseExtraOption).
--
-- Tune: params.guest_nydus_image_dir.

param { name = "guest_nydus_image_dir", type = "string", default = "/run/kata-containers/shared/rafs",
  doc = "where the guest sees nydus images (kata's kataGuestNydusImageDir)" }

local EXTRA_OPTION = "extraoption="

-- parseExtraOption: the last extraoption= option, base64 JSON with
-- non-empty source, config and snapshotdir strings
local function extra_option(options)
  local value = nil
  for _, o in ipairs(options) do
    if o:sub(1, #EXTRA_OPTION) == EXTRA_OPTION then value = o:sub(#EXTRA_OPTION + 1) end
  end
  if value == nil or value == "" then error("no extraoption found", 0) end
  local text = base64_decode(value)
  if text == nil then error("extraoption: base64 decoding err", 0) end
  local ok, t = pcall(json_decode, text)
  if not ok or type(t) ~= "table" then error("extraoption: json unmarshal err", 0) end
  for _, k in ipairs({ "source", "config", "snapshotdir" }) do
    if type(t[k]) ~= "string" or t[k] == "" then error("extra option is not correct: no " .. k, 0) end
  end
  return t
end

guest {
  class = "rootfs", action = "nydus",
  build = function(m, ctx)
    local cid = kata_id(ctx, "container_id")
    local extra = extra_option(m.options)
    -- only nydusd mounts a RAFS (virtiofsd's Mount is unimplemented)
    if shared_fs_kind(ctx) ~= "virtio-fs-nydus" then
      error(("a nydus root filesystem needs shared_fs virtio-fs-nydus, not %s (%s's Mount is unimplemented)")
        :format(shared_fs_kind(ctx), shared_fs_kind(ctx) == "none" and "no daemon" or "virtiofsd"), 0)
    end
    local path = guest_join(ctx.guest_shared_dir, cid, ctx.rootfs_suffix)
    local snapshot = guest_join(ctx.guest_shared_dir, cid, "snapshotdir")
    return {
      storages = { { driver = "overlayfs", source = "overlay", fstype = "overlay", mount_point = path,
        options = { "upperdir=" .. guest_join(snapshot, "fs"), "workdir=" .. guest_join(snapshot, "work"),
          "lowerdir=" .. guest_join(ctx.guest_nydus_image_dir, cid, "lowerdir"), "index=off" } } },
      guest_mount = guest_root(m, path),
      host = { action = "nydus", source = extra.snapshotdir, read_only = true,
        path = guest_join(ctx.host_shared_dir, kata_id(ctx, "sandbox_id"), "mounts", cid, "snapshotdir"),
        rafs = { mount_point = guest_join("/rafs", cid, "lowerdir"), source = extra.source,
          config = extra.config } },
    }
  end,
}
