-- guest-hugepages.lua -- a hugetlbfs emptyDir (class "hugepages") as kata's
-- kata_agent.go handleHugepages builds it: the page size from the pagesize=
-- option of the emptyDir's mount (an error without one, as kata's), in
-- bytes, and the pod's limit for that page size
-- (spec.linux.resources.hugepageLimits, or ctx.hugepage_limits:
-- {{pageSize = "2MB", limit = bytes}, ...}); the agent makes a hugetlbfs
-- (driver "ephemeral", source "nodev") at <guest_ephemeral_dir>/<basename>
-- with "pagesize=<bytes>,size=<limit>", and the mount becomes a bind of it.

-- ram_in_bytes("2M"): docker's units.RAMInBytes (binary units, k to p,
-- optional "i" and "b"), or nil.
predicate("ram_in_bytes", function(s)
  if type(s) ~= "string" or #s > 64 then return nil end
  local num, unit = s:match("^(%d+%.?%d*) ?([kKmMgGtTpP]?)[iI]?[bB]?$")
  if num == nil or num:sub(-1) == "." then return nil end
  local shift = ({ [""] = 0, k = 10, m = 20, g = 30, t = 40, p = 50 })[unit:lower()]
  local n = tonumber(num)
  if math.type(n) == "integer" then return n << shift end
  return math.floor(n * (1 << shift))
end)

-- the pagesize= option of the mount at `path` ("" when it has none)
local function pagesize_option(path)
  local entry, err = mount_entry(path)
  if not entry then error(err, 0) end
  for _, list in ipairs({ entry.options, entry.super_options }) do
    for _, o in ipairs(list) do
      if o:sub(1, 9) == "pagesize=" then return o:sub(10) end
    end
  end
  return ""
end

guest {
  class = "hugepages",
  build = function(m, ctx)
    local sizes = {}
    for _, hp in ipairs(ctx.hugepage_limits or {}) do
      local limit = hp.limit
      if limit ~= nil and limit ~= 0 then
        local bytes = ram_in_bytes(hp.pageSize)
        if bytes == nil then
          error(("hugepage limit: invalid page size %s"):format(tostring(hp.pageSize)), 0)
        end
        sizes[bytes] = ("%d"):format(limit)
      end
    end
    local opt = pagesize_option(m.source)
    if opt == "" then error("No pagesize option found in filesystem mount options", 0) end
    local bytes = ram_in_bytes(opt)
    if bytes == nil then error(("invalid pagesize option %q"):format(opt), 0) end
    local path = guest_join(ctx.guest_ephemeral_dir, base_name(m.source))
    return {
      storages = { { driver = "ephemeral", source = "nodev", fstype = "hugetlbfs", mount_point = path,
        options = { ("pagesize=%d,size=%s"):format(bytes, sizes[bytes] or "") } } },
      guest_mount = { source = path, type = "bind" },   -- the mount's destination and options
      host = { action = "none" },
    }
  end,
}
