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
local seen, cleaned, below, listed = nil, {}, {}, ""
local function prefixes()
  local list = params.system_prefixes
  if list ~= seen then
    local c, b = {}, {}
    for i, prefix in ipairs(list) do
      c[i] = core.clean(prefix)
      b[i] = c[i] .. "/"
    end
    -- last: a bad prefix raises again next time
    cleaned, below, listed = c, b, table.concat(list, ", ")
    seen = getmetatable(list) ~= nil and list or nil
  end
  return cleaned, below, listed
end

-- The prefix of `ps` (cleaned prefixes, `bs` the same with a "/") that
-- `path` is under, or nil. (core.starts_with compares the first bytes
-- alone: no substring is made, the rest of the path is not scanned.)
local starts_with = core.starts_with
local function system_prefix(path, ps, bs)
  for i = 1, #ps do
    local p = ps[i]
    if path == p or starts_with(path, bs[i]) then return p end
  end
  return nil
end

predicate("is_system_mount", function(path)
  local ps, bs = prefixes()
  -- a path no host file can have (a NUL byte, longer than PATH_MAX) fails
  -- the decision with the core's message, which names it
  local clean, err = core.clean(path)
  if not clean then error(err, 0) end
  if system_prefix(clean, ps, bs) then return true end
  -- Only an absolute source is a host path: "proc" names a file system.
  if starts_with(path, "/") then
    local real = core.realpath(path)
    -- (no symlink on the way: the same path, already judged)
    if real and real ~= clean and system_prefix(real, ps, bs) then return true end
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
      local _, _, names = prefixes()
      return true, "the source is under a system prefix (" .. names .. "): the guest has its own"
    end
    return false, "not under a system prefix"
  end,
}
