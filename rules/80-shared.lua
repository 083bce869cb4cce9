-- 80-shared.lua -- bind mounts shared with the guest, or copied into it
-- when there is no shared file system (decision table rows 10 and 11, the
-- last ones), and Docker volumes.
--
-- With a shared file system (shared_fs "virtio-fs", "virtio-fs-nydus" or
-- "virtio-9p") every bind mount no earlier rule took is shared with the
-- guest. With shared_fs = "none" kata's ShareFile
-- (virtcontainers/fs_share_linux.go) copies it into the guest instead: a
-- regular file, a directory (its whole tree) or a symbolic link is copied;
-- below a kubelet configmap, secret, projected or downward-api volume
-- (/pods/<uid>/volumes/kubernetes.io~<kind>, its configVolRegex) the copy
-- is also watched and copied again when the kubelet updates it; anything
-- else (a socket, a FIFO, a device outside /dev) cannot be copied, and the
-- mount is dropped from the container's spec. A source that does not exist
-- fails the container in kata: here it fails the decision.
--
-- Tune: params.docker_volumes_dir.

param { name = "docker_volumes_dir", type = "string", default = "/var/lib/docker/volumes",
  doc = "where Docker keeps its named volumes (is_docker_volume)" }

-- is_docker_volume(path): a Docker named volume, <volumes dir>/<name>/_data.
-- Unlike the Go original (a plain string prefix), the path is cleaned and
-- must be below the volumes directory, not merely start with its name.
predicate("is_docker_volume", function(path)
  local clean, dir = core.clean(path), core.clean(params.docker_volumes_dir)
  return clean:sub(1, #dir + 1) == dir .. "/" and clean:match("[^/]*$") == "_data"
end)

-- kata's configVolRegexString, unanchored as its MatchString:
-- /pods/[a-fA-F0-9-]{36}/volumes/kubernetes\.io~(configmap|secret|projected|downward-api)
local POD_VOLUMES = "/pods/" .. ("[%x%-]"):rep(36) .. "/volumes/kubernetes%.io~()"
local CONFIG_KINDS = { "configmap", "secret", "projected", "downward-api" }

-- is_kubelet_config_volume(path): the cleaned path is (or is below) a
-- kubelet configmap, secret, projected or downward-api volume, as kata's
-- copy-and-watch path recognises one.
predicate("is_kubelet_config_volume", function(path)
  local clean = core.clean(path)
  local init = 1
  while true do
    local _, last, kind_at = clean:find(POD_VOLUMES, init)
    if not last then return false end
    for _, kind in ipairs(CONFIG_KINDS) do
      if clean:sub(kind_at, kind_at + #kind - 1) == kind then return true end
    end
    init = last + 1
  end
end)

-- copyable(m): what kata's ShareFile finds at the source without sharing
-- (lstat: a link is copied as a link): "file", "directory", "link", or the
-- other type; a missing source raises (kata fails the container).
local function copyable(m)
  local st, err = m:lstat()
  if not st then error("no shared file system and the source cannot be copied: " .. tostring(err), 0) end
  return st.type
end

local COPIED = { file = "a regular file", directory = "a directory (its whole tree)",
  link = "a symbolic link (copied as a link, not what it points to)" }

rule {
  name = "copy-watch", order = 940,
  class = "copy", action = "copy-watch",
  needs = "no_shared_fs",              -- tried only when shared_fs is "none"
  when = function(m, ctx)
    if not is_bind_mount(m.type, m.options) then return false, "not a bind mount" end
    if shared_fs_kind(ctx) ~= "none" then return false, "a shared file system" end
    if not is_kubelet_config_volume(m.source) then
      return false, "not a kubelet configmap, secret, projected or downward-api volume"
    end
    local what = COPIED[copyable(m)]
    if not what then return false, "neither a regular file, a directory nor a link" end
    return true, "no shared file system: a kubelet configmap, secret, projected or downward-api"
      .. " volume, " .. what .. ", copied into the guest and copied again on every update"
  end,
}

rule {
  name = "copy", order = 950,
  class = "copy", action = "copy",
  needs = "no_shared_fs",              -- tried only when shared_fs is "none"
  when = function(m, ctx)
    if not is_bind_mount(m.type, m.options) then return false, "not a bind mount" end
    if shared_fs_kind(ctx) ~= "none" then return false, "a shared file system" end
    local what = COPIED[copyable(m)]
    if not what then return false, "neither a regular file, a directory nor a link" end
    if is_host_empty_dir(m.source) then
      return true, "no shared file system: an emptyDir on disk, copied once for the whole pod"
        .. " (every container of the pod shares the copy)"
    end
    return true, "no shared file system: " .. what .. ", copied into the guest (not kept in sync)"
  end,
}

rule {
  name = "dropped", order = 960,
  class = "dropped", action = "drop",
  needs = "no_shared_fs",              -- tried only when shared_fs is "none"
  when = function(m, ctx)
    if not is_bind_mount(m.type, m.options) then return false, "not a bind mount" end
    if shared_fs_kind(ctx) ~= "none" then return false, "a shared file system" end
    return true, ("no shared file system, and the source is a %s, which cannot be copied:"
      .. " the mount is dropped from the container's spec"):format(copyable(m))
  end,
}

rule {
  name = "shared", order = 1000,
  class = "shared", action = "share",
  when = function(m, ctx)
    if not is_bind_mount(m.type, m.options) then return false, "not a bind mount" end
    local why = "a bind mount: shared with the guest (" .. shared_fs_kind(ctx) .. ")"
    -- a configmap or secret the agent will not watch: say which limit
    -- (unwatched_reason is 70-watchable.lua's)
    if (is_config_map(m.source) or is_secret(m.source)) and is_watchable_mount(m.source) then
      local unwatched = unwatched_reason(m.source)
      if unwatched then return true, { why, unwatched } end
    end
    return true, why
  end,
}
