-- 70-watchable.lua -- configmaps and secrets watched for changes (decision
-- table row 9).
--
-- A Kubernetes configmap or secret of at most params.watchable_max_files
-- files (and at least one) is shared and watched, so that updates reach the
-- guest (kata's isWatchableMount, virtcontainers/mount.go); a bigger one is
-- shared like any bind mount. Needs a shared file system (shared_fs other
-- than "none"). Counting stops as soon as it passes the limit, whatever the
-- directory's size.
--
-- The agent then refuses to watch a mount of more than
-- params.watchable_max_entries entries (files, symbolic links and
-- directories, the mount's own included) or params.watchable_max_bytes
-- bytes (files and links): it bind-mounts it instead (src/agent/src/
-- watcher.rs, MAX_ENTRIES_PER_STORAGE and MAX_SIZE_PER_WATCHABLE_MOUNT).
-- Such a mount is shared, not watched, and the reason names the limit.
--
-- Tune: params.watchable_max_files, params.watchable_max_entries,
-- params.watchable_max_bytes.

param { name = "watchable_max_files", type = "integer", default = 8,
  doc = "a configmap or secret with at most this many files is copied and watched, not shared" }
param { name = "watchable_max_entries", type = "integer", default = 16, min = 1, max = 4096,
  doc = "the agent's MAX_ENTRIES_PER_STORAGE: past it a watched mount is bind-mounted instead" }
param { name = "watchable_max_bytes", type = "integer", default = 1024 * 1024, min = 0,
  doc = "the agent's MAX_SIZE_PER_WATCHABLE_MOUNT: past it a watched mount is bind-mounted instead" }

predicate("is_watchable_mount", function(path)
  if not (is_secret(path) or is_config_map(path)) then return false end
  -- As in the Go original, a count that fails is no count (not watchable).
  local n = count_files(path, params.watchable_max_files)
  return n ~= nil and n > 0
end)

-- agent_watch_limit(path): nil when the agent watches the tree at `path`,
-- else which limit it passes ("entries" or "bytes") and the count so far.
-- The core's tree_size walks it as the agent does (entries: the directory,
-- its files, links and directories; bytes: all but directories), never
-- following a link, and stops at the first limit passed.
predicate("agent_watch_limit", function(path)
  local entries, bytes, passed = core.tree_size(path, params.watchable_max_entries,
    params.watchable_max_bytes)
  if entries == nil then error(bytes, 0) end
  if passed == "entries" then return "entries", entries end
  if passed == "bytes" then return "bytes", bytes end
  return nil
end)

-- unwatched_reason(path): why the agent will not watch the configmap or
-- secret at `path` (it passes one of the agent's limits), or nil.
predicate("unwatched_reason", function(path)
  local limit, n = agent_watch_limit(path)
  if limit == "entries" then
    return ("more than %d entries (files, links and directories): past the agent's"
      .. " MAX_ENTRIES_PER_STORAGE (%d), so it is bind-mounted, not watched")
      :format(params.watchable_max_entries, params.watchable_max_entries)
  elseif limit == "bytes" then
    return ("%d bytes or more: past the agent's MAX_SIZE_PER_WATCHABLE_MOUNT (%d bytes),"
      .. " so it is bind-mounted, not watched"):format(n, params.watchable_max_bytes)
  end
  return nil
end)

rule {
  name = "watchable", order = 900,
  class = "watchable", action = "share-watchable",
  when = function(m, ctx)
    if not (is_config_map(m.source) or is_secret(m.source)) then
      return false, "not a configmap or secret"
    end
    if shared_fs_kind(ctx) == "none" then return false, "no shared file system (shared_fs = none)" end
    if not is_watchable_mount(m.source) then
      return false, ("empty, or more than %d files"):format(params.watchable_max_files)
    end
    local why = unwatched_reason(m.source)
    if why then return false, why end
    return true, ("a configmap or secret of 1 to %d files, at most %d entries and %d bytes:"
      .. " shared and watched"):format(params.watchable_max_files, params.watchable_max_entries,
      params.watchable_max_bytes)
  end,
}
