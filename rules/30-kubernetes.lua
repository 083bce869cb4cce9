-- 30-kubernetes.lua -- Kubernetes volumes, and the emptyDirs the guest
-- makes itself (decision table rows 2, 3 and 4).
--
-- The kubelet keeps a pod's volumes at
--   /var/lib/kubelet/pods/<pod>/volumes/<kind>/<name>
-- and <kind> tells the volume's type. Paths are cleaned first, so a
-- trailing slash or a doubled slash does not change the answer.
--
-- An emptyDir is:
--   on tmpfs (medium Memory)    -> a tmpfs made in the guest     (ephemeral)
--   on hugetlbfs (HugePages)    -> a hugetlbfs made in the guest (hugepages),
--                                  of the mount's pagesize= and the pod's
--                                  hugepageLimits for that size
--   a directory on the disk     -> with emptydir_mode "block-encrypted" or
--                                  "block-plain": a sparse disk.img made in
--                                  it, hot-plugged (block-emptydir); else a
--                                  local directory in the guest (local),
--                                  unless disable_guest_empty_dir is set
-- What an emptyDir is mounted with comes from the host's mount table (the
-- visible mount at that path). When the mount table cannot be read, the
-- emptyDir cannot be judged: the decision fails rather than guess "disk".
--
-- Tune: params.kubernetes_volume_kinds (the directory names of each kind).

param { name = "kubernetes_volume_kinds", type = "map", default = {
  empty_dir = "kubernetes.io~empty-dir",
  config_map = "kubernetes.io~configmap",
  secret = "kubernetes.io~secret",
  projected = "kubernetes.io~projected",
  downward_api = "kubernetes.io~downward-api",
}, doc = "the kubelet's directory name of each Kubernetes volume kind" }

local NOT_A_MOUNT_POINT = 22 -- EINVAL from mount_entry

-- kubernetes_volume_kind(path): the name of the directory holding the
-- volume ("kubernetes.io~secret", ...), or nil for a path of one element.
-- The kind is the name of the directory holding the volume
-- (".../kubernetes.io~secret/<name>"). It depends on the path alone, so it
-- is remembered for the last few hundred paths (every rule asks it).
local kinds, nkinds = {}, 0

predicate("kubernetes_volume_kind", function(path)
  local kind = kinds[path]
  if kind == nil then
    local clean = core.clean(path)
    kind = clean:match("^.*/([^/]*)/[^/]*$") or clean:match("^([^/]*)/[^/]*$") or false
    if nkinds >= 512 then kinds, nkinds = {}, 0 end
    kinds[path], nkinds = kind, nkinds + 1
  end
  return kind or nil
end)

-- (the kind's name remembered once params are read-only, as 20-system.lua
-- remembers its prefixes; and, as kubernetes_volume_kind's, the answer for
-- the last few hundred paths: every rule asks)
local function kind_is(kind)
  local seen, name, answers, n = nil, nil, {}, 0
  return function(path)
    local names = params.kubernetes_volume_kinds
    if names ~= seen then
      name = names[kind]
      seen = getmetatable(names) ~= nil and names or nil
      answers, n = {}, 0
    end
    local yes = answers[path]
    if yes == nil then
      yes = kubernetes_volume_kind(path) == name
      if n >= 512 then answers, n = {}, 0 end
      answers[path], n = yes, n + 1
    end
    return yes
  end
end

predicate("is_empty_dir", kind_is("empty_dir"))
predicate("is_config_map", kind_is("config_map"))
predicate("is_secret", kind_is("secret"))
predicate("is_projected", kind_is("projected"))
predicate("is_downward_api", kind_is("downward_api"))

-- The file system an emptyDir is mounted with, or nil when it is a plain
-- directory (not a mount point). Any other failure of the lookup raises.
local function empty_dir_fs(path)
  local entry, err, errno = mount_entry(path)
  if entry then return entry.fstype end
  if errno == NOT_A_MOUNT_POINT then return nil end
  error(err, 0)
end

predicate("is_ephemeral_storage", function(path)
  return is_empty_dir(path) and empty_dir_fs(path) == "tmpfs"
end)

predicate("is_hugepage_empty_dir", function(path)
  return is_empty_dir(path) and empty_dir_fs(path) == "hugetlbfs"
end)

-- Unlike the Go original (anything but tmpfs), a hugetlbfs emptyDir is not
-- a host emptyDir: it is not on the host's disk.
predicate("is_host_empty_dir", function(path)
  if not is_empty_dir(path) then return false end
  local fs = empty_dir_fs(path)
  return fs ~= "tmpfs" and fs ~= "hugetlbfs"
end)

rule {
  name = "ephemeral", order = 200,
  class = "ephemeral", action = "guest-tmpfs",
  needs = "empty_dir",                 -- tried only on a Kubernetes emptyDir
  when = function(m)
    if not is_empty_dir(m.source) then return false, "not a Kubernetes emptyDir" end
    if is_ephemeral_storage(m.source) then
      return true, "a Kubernetes emptyDir on tmpfs: made as a tmpfs in the guest"
    end
    return false, "an emptyDir not on tmpfs"
  end,
}

-- page_bytes(text): a page size as docker's units.RAMInBytes reads it
-- ("2M", "2MB", "2Mi", "1GB", "1.5k": binary units), or nil.
local UNITS = { [""] = 1, k = 2 ^ 10, m = 2 ^ 20, g = 2 ^ 30, t = 2 ^ 40, p = 2 ^ 50 }
predicate("page_bytes", function(text)
  if type(text) ~= "string" then return nil end
  local num, unit, rest = text:match("^(%d+%.?%d*) ?([kKmMgGtTpP]?)(.*)$")
  if not num or num:sub(-1) == "." or not rest:match("^[iI]?[bB]?$") then return nil end
  return math.floor(tonumber(num) * UNITS[unit:lower()])
end)

-- hugepage_size(path): the pagesize= of the hugetlbfs mounted at `path`,
-- in bytes, and as written; raises without one (kata's handleHugepages
-- fails the container: "No pagesize option found").
predicate("hugepage_size", function(path)
  local entry, err = mount_entry(path)
  if not entry then error(err, 0) end
  -- the mount's options then its super block's (/proc/mounts shows both)
  local text
  for _, list in ipairs({ entry.options or {}, entry.super_options or {} }) do
    for _, o in ipairs(list) do
      if o:sub(1, 9) == "pagesize=" then text = o:sub(10) end
    end
  end
  if not text then
    error(("the hugetlbfs at '%s' has no pagesize= option (kata's handleHugepages fails"
      .. " the container)"):format(path), 0)
  end
  local bytes = page_bytes(text)
  if not bytes then error(("the hugetlbfs at '%s': bad pagesize=%s"):format(path, text), 0) end
  return bytes, text
end)

-- hugepage_limit(limits, bytes): the limit of the pod's hugepageLimits
-- (OCI linux.resources.hugepageLimits: {pageSize=, limit=}) for pages of
-- `bytes`, or nil. As kata, entries of limit 0 are left out, and a bad
-- pageSize among the others raises.
predicate("hugepage_limit", function(limits, bytes)
  local found = nil
  for i, l in ipairs(limits or {}) do
    if type(l) ~= "table" then error(("hugepage_limits[%d] must be a table"):format(i), 0) end
    -- (a limit decoded from JSON may be a float of integral value)
    local limit = math.tointeger(l.limit)
    if limit == nil or limit < 0 then
      error(("hugepage_limits[%d].limit must be a non-negative integer"):format(i), 0)
    end
    if limit ~= 0 then
      local size = page_bytes(l.pageSize)
      if not size then
        error(("hugepage_limits[%d].pageSize %s: not a page size"):format(i, tostring(l.pageSize)), 0)
      end
      if size == bytes then found = limit end
    end
  end
  return found
end)

rule {
  name = "hugepages", order = 300,
  class = "hugepages", action = "guest-hugetlbfs",
  needs = "empty_dir",                 -- tried only on a Kubernetes emptyDir
  when = function(m, ctx)
    if not is_empty_dir(m.source) then return false, "not a Kubernetes emptyDir" end
    if not is_hugepage_empty_dir(m.source) then return false, "an emptyDir not on hugetlbfs" end
    local bytes, text = hugepage_size(m.source)
    local limit = hugepage_limit(ctx.hugepage_limits, bytes)
    local why = ("a Kubernetes emptyDir on hugetlbfs (pagesize=%s): made as a hugetlbfs in the"
      .. " guest"):format(text)
    if limit == nil then
      return true, { why, ("pagesize=%d,size= (the pod's hugepageLimits give no limit for"
        .. " pages of %d bytes: kata sends an empty size)"):format(bytes, bytes) }
    end
    return true, { why, ("pagesize=%d,size=%d (the pod's hugepageLimits)"):format(bytes, limit) }
  end,
}

rule {
  name = "block-emptydir", order = 350,
  class = "block-emptydir", action = "hotplug-block",
  needs = "empty_dir",                 -- tried only on a Kubernetes emptyDir
  when = function(m, ctx)
    if not is_host_empty_dir(m.source) then return false, "not a Kubernetes emptyDir on disk" end
    local mode = emptydir_mode_of(ctx)
    if mode == "shared-fs" then return false, "emptydir_mode is shared-fs" end
    if not is_bind_mount(m.type, m.options) then
      return false, "an emptyDir on disk, but not a bind mount (kata hot-plugs bind mounts only)"
    end
    return true, ("a Kubernetes emptyDir on disk, emptydir_mode %s: a sparse disk.img as big as"
      .. " its file system made in it and hot-plugged (even with block devices disabled),"
      .. " formatted ext4 in the guest, %s"):format(mode, mode == "block-encrypted"
      and "encrypted with an ephemeral key" or "mounted with discard")
  end,
}

rule {
  name = "local", order = 400,
  class = "local", action = "guest-local",
  needs = "empty_dir",                 -- tried only on a Kubernetes emptyDir
  when = function(m, ctx)
    if not is_host_empty_dir(m.source) then return false, "not a Kubernetes emptyDir on disk" end
    if ctx.disable_guest_empty_dir then
      return false, "an emptyDir on disk, but guest emptyDirs are disabled (disable_guest_empty_dir)"
    end
    local mode = emptydir_mode_of(ctx)
    if mode ~= "shared-fs" then
      return false, "an emptyDir on disk, but emptydir_mode is " .. mode
    end
    return true, "a Kubernetes emptyDir on the host's disk: made as a local directory in the guest"
  end,
}
