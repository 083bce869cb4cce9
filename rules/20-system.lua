-- 20-system.lua -- system mounts (decision table row 1).
--
-- A source under /proc or /sys is skipped: the guest has its own. The
-- source is judged cleaned (/proc//1/ is /proc/1) and, when it exists, with
-- its symlinks resolved, so that a link to / cannot smuggle the host's /proc
-- into the guest (kata-containers issue 7030).
--
-- Tune: params.system_prefixes. To add one in your own rules file:
--   table.insert(params.system_prefixes, "/run/secrets-of-the-host")

param { name = "system_prefixes", type = "list", default = { "/proc", "/sys" },
  doc = "sources under these directories are the host's own: skipped, the guest has its own" }

-- params.system_prefixes cleaned (and listed for the reason). Once the
-- files are loaded, params are read-only (a list with a locked metatable):
-- the same list keeps its entries, and the work is redone only for another
-- list (--set). While files load, a list may change in place: not
-- remembered, redone each time.
local seen, cleaned, listed = nil, {}, ""
local function prefixes()
  local list = params.system_prefixes
  if list ~= seen then
    local c = {}
    for i, prefix in ipairs(list) do c[i] = core.clean(prefix) end
    -- last: a bad prefix raises again next time
    cleaned, listed = c, table.concat(list, ", ")
    seen = getmetatable(list) ~= nil and list or nil
  end
  return cleaned, listed
end

-- core.path_under(path, ps): the first of the cleaned prefixes `ps` that
-- `path` is or is below ("/proc" and "/proc/1", not "/procfs"), or nil;
-- core.starts_with(s, p): whether `s` begins with `p`.
local path_under, starts_with = core.path_under, core.starts_with

predicate("is_system_mount", function(path)
  local ps = prefixes()
  -- a path no host file can have (a NUL byte, longer than PATH_MAX) fails
  -- the decision with the core's message, which names it
  local clean, err = core.clean(path)
  if not clean then error(err, 0) end
  if path_under(clean, ps) then return true end
  -- Only an absolute source is a host path: "proc" names a file system.
  if starts_with(path, "/") then
    local real = core.realpath(path)
    -- (no symlink on the way: the same path, already judged)
    if real and real ~= clean and path_under(real, ps) then return true end
  end
  return false
end)

-- A safety rule: a file that replaces this one must define it again or
-- say why it goes (disable("system", "why")).
rule {
  name = "system", order = 100, safety = true,
  class = "system", action = "skip",
  when = function(m)
    if is_system_mount(m.source) then
      local _, names = prefixes()
      return true, "the source is under a system prefix (" .. names .. "): the guest has its own"
    end
    return false, "not under a system prefix"
  end,
}
