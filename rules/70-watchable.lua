-- 70-watchable.lua -- configmaps and secrets watched for changes (decision
-- table row 9).
--
-- A Kubernetes configmap or secret of at most params.watchable_max_files
-- files (and at least one) is shared and watched, so that updates reach the
-- guest; a bigger one is shared like any bind mount. Needs file system
-- sharing (fs_sharing_supported). Counting stops as soon as it passes the
-- limit, whatever the directory's size.
--
-- Tune: params.watchable_max_files.

param { name = "watchable_max_files", type = "integer", default = 8,
  doc = "a configmap or secret with at most this many files is copied and watched, not shared" }

predicate("is_watchable_mount", function(path)
  if not (is_secret(path) or is_config_map(path)) then return false end
  -- As in the Go original, a count that fails is no count (not watchable).
  local n = count_files(path, params.watchable_max_files)
  return n ~= nil and n > 0
end)

rule {
  name = "watchable", order = 900,
  class = "watchable", action = "share-watchable",
  when = function(m, ctx)
    if not (is_config_map(m.source) or is_secret(m.source)) then
      return false, "not a configmap or secret"
    end
    if not ctx.fs_sharing_supported then return false, "file system sharing is not supported" end
    if is_watchable_mount(m.source) then
      return true, ("a configmap or secret of 1 to %d files: shared and watched")
        :format(params.watchable_max_files)
    end
    return false, ("empty, or more than %d files"):format(params.watchable_max_files)
  end,
}
