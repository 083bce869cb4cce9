-- guest-shared.lua -- a bind mount shared with the guest (class "shared")
-- as kata's fs_share_linux.go ShareFile and container.go
-- mountSharedDirMounts make it. With file-system sharing, the host binds
-- the source (read-only when the mount is) to
-- <host_shared_dir>/<sandbox>/mounts/<name>, and the container's mount
-- points at <guest_shared_dir>/<name>, its type and options (ro) kept.
-- Without it (shared_fs "none", or fs_sharing_supported false), the runtime
-- copies the file or tree to the same guest path (a disk emptyDir once per
-- sandbox), watching configmaps, secrets, projected and downward-api
-- volumes; a source that is neither a file, a directory nor a symlink is
-- not copied and the mount is removed, as kata ignores it.
-- <name> is share_file_name's (guest-00-common.lua).

-- share(m, ctx): the guest path, and the host step, of a shared mount.
predicate("share", function(m, ctx)
  if fs_sharing(ctx) then
    local name = share_file_name(m, ctx, false)
    return guest_join(ctx.guest_shared_dir, name), { action = "share", source = m.source,
      path = guest_join(ctx.host_shared_dir, kata_id(ctx, "sandbox_id"), "mounts", name),
      read_only = has_option(m.options, "ro") }
  end
  local st = core.lstat(m.source)
  if st and st.type ~= "file" and st.type ~= "directory" and st.type ~= "link" then
    return nil, "neither a file, a directory nor a symlink: not copied without file-system sharing"
  end
  local name = share_file_name(m, ctx, is_host_empty_dir(m.source))
  local path = guest_join(ctx.guest_shared_dir, name)
  return path, { action = "copy", source = m.source, path = path,
    watch = is_config_map(m.source) or is_secret(m.source) or is_projected(m.source)
      or is_downward_api(m.source) }
end)

local function shared_build(m, ctx, d)
    local path, host = share(m, ctx)
    if path == nil then return { guest_mount = nil, why = host, host = { action = "none" } } end
    -- a copy is watched when the decision says so (kata's configVolRegex)
    if d.class == "copy" then host.watch = d.action == "copy-watch" end
    return {
      guest_mount = { source = path },    -- the mount's destination, type and options
      host = host,
    }
end

guest { class = "shared", build = shared_build }
-- without a shared file system (shared_fs "none"), the volume rules decide
-- "copy" (a file or tree copied, kubelet volumes watched) or "dropped" (kata
-- ignores what it cannot copy): the same translation says which
guest { class = "copy", build = shared_build }
guest { class = "dropped", build = function()
  return { guest_mount = nil, host = { action = "none" },
    why = "neither a file, a directory nor a symlink: not copied without file-system sharing" }
end }
