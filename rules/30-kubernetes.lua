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
--   on hugetlbfs (HugePages)    -> a hugetlbfs made in the guest (hugepages)
--   a directory on the disk     -> a local directory in the guest (local),
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

local function kind_is(kind)
  return function(path)
    return kubernetes_volume_kind(path) == params.kubernetes_volume_kinds[kind]
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
  when = function(m)
    if not is_empty_dir(m.source) then return false, "not a Kubernetes emptyDir" end
    if is_ephemeral_storage(m.source) then
      return true, "a Kubernetes emptyDir on tmpfs: made as a tmpfs in the guest"
    end
    return false, "an emptyDir not on tmpfs"
  end,
}

rule {
  name = "hugepages", order = 300,
  class = "hugepages", action = "guest-hugetlbfs",
  when = function(m)
    if not is_empty_dir(m.source) then return false, "not a Kubernetes emptyDir" end
    if is_hugepage_empty_dir(m.source) then
      return true, "a Kubernetes emptyDir on hugetlbfs: made as a hugetlbfs in the guest"
    end
    return false, "an emptyDir not on hugetlbfs"
  end,
}

rule {
  name = "local", order = 400,
  class = "local", action = "guest-local",
  when = function(m, ctx)
    if not is_host_empty_dir(m.source) then return false, "not a Kubernetes emptyDir on disk" end
    if ctx.disable_guest_empty_dir then
      return false, "an emptyDir on disk, but guest emptyDirs are disabled (disable_guest_empty_dir)"
    end
    return true, "a Kubernetes emptyDir on the host's disk: made as a local directory in the guest"
  end,
}
