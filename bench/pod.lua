-- bench/pod.lua -- a 20-mount Kubernetes pod laid out on the benchmark's
-- tmpfs the way kubelet and containerd lay it out: the OCI spec, the host
-- side (volume directories, tmpfs emptyDir/secret/projected volumes, a
-- configmap with its ..data symlink), and the syscalls a minimal C
-- implementation needs to decide it (the plan's floor).
local M = {}

local function sh(cmd)
  local ok = os.execute(cmd)
  if not ok then error("command failed: " .. cmd) end
end

-- kata's direct volumes directory (absent on the benchmark's machine)
local DIRECT_VOLUMES = "/run/kata-containers/shared/direct-volumes"

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write(path, s)
  local f = assert(io.open(path, "wb")); f:write(s or ""); f:close()
end

--- A configmap-style volume: a timestamped directory holding the keys,
-- `..data` pointing at it, and one symlink per key through `..data`.
function M.configmap(dir, keys)
  local ts = "..2026_11_29_04_00_00.123456789"
  sh("mkdir -p " .. q(dir .. "/" .. ts))
  for i = 1, keys do write(dir .. "/" .. ts .. "/key" .. i, "value " .. i .. "\n") end
  sh("ln -s " .. q(ts) .. " " .. q(dir .. "/..data"))
  for i = 1, keys do sh("ln -s " .. q("..data/key" .. i) .. " " .. q(dir .. "/key" .. i)) end
  return dir
end

--- Lay the pod out under `root`; returns spec, floor ops and the path of its
-- tmpfs emptyDir (the mount-lookup target).
function M.build(root)
  local uid = "0c1a5e2f-7b3d-4c8e-9f10-1234567890ab"
  local pod = root .. "/var/lib/kubelet/pods/" .. uid
  local vol = pod .. "/volumes"
  local sandbox = root .. "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/abcdef"
  local rootfs = root .. "/run/containerd/io.containerd.runtime.v2.task/k8s.io/app/rootfs"
  sh(("mkdir -p %s %s %s %s"):format(q(pod .. "/containers/app"), q(sandbox .. "/shm"), q(rootfs),
    q(root .. "/host/data")))
  sh("mkdir -p " .. q(root .. "/host/log"))
  write(pod .. "/etc-hosts", "127.0.0.1 localhost\n")
  write(pod .. "/containers/app/f00d", "")
  write(sandbox .. "/hostname", "app\n")
  write(sandbox .. "/resolv.conf", "nameserver 10.96.0.10\n")
  local cache = vol .. "/kubernetes.io~empty-dir/cache"
  local scratch = vol .. "/kubernetes.io~empty-dir/scratch"
  local secret = vol .. "/kubernetes.io~secret/db-creds"
  local projected = vol .. "/kubernetes.io~projected/kube-api-access-x7k2p"
  local cm = vol .. "/kubernetes.io~configmap/app-config"
  local bigcm = vol .. "/kubernetes.io~configmap/big-config"
  sh(("mkdir -p %s %s %s %s"):format(q(cache), q(scratch), q(secret), q(projected)))
  sh("mount -t tmpfs -o size=1m tmpfs " .. q(cache))
  sh("mount -t tmpfs -o size=1m tmpfs " .. q(secret))
  sh("mount -t tmpfs -o size=1m tmpfs " .. q(projected))
  M.configmap(secret, 2)
  M.configmap(projected, 3)
  M.configmap(cm, 3)
  M.configmap(bigcm, 20)

  local function bind(src, dst, ro)
    return { source = src, destination = dst, type = "bind",
             options = { "rbind", "rprivate", ro and "ro" or "rw" } }
  end
  local spec = {
    ociVersion = "1.1.0",
    root = { path = rootfs },
    mounts = {
      { destination = "/proc", type = "proc", source = "proc", options = { "nosuid", "noexec", "nodev" } },
      { destination = "/dev", type = "tmpfs", source = "tmpfs",
        options = { "nosuid", "strictatime", "mode=755" } },
      { destination = "/dev/pts", type = "devpts", source = "devpts", options = { "nosuid", "noexec" } },
      { destination = "/dev/mqueue", type = "mqueue", source = "mqueue", options = { "nosuid", "noexec" } },
      { destination = "/sys", type = "sysfs", source = "sysfs", options = { "nosuid", "noexec", "ro" } },
      { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup", options = { "nosuid", "ro" } },
      bind(pod .. "/etc-hosts", "/etc/hosts"),
      bind(pod .. "/containers/app/f00d", "/dev/termination-log"),
      bind(sandbox .. "/hostname", "/etc/hostname"),
      bind(sandbox .. "/resolv.conf", "/etc/resolv.conf"),
      bind(sandbox .. "/shm", "/dev/shm"),
      bind(projected, "/var/run/secrets/kubernetes.io/serviceaccount", true),
      bind(cm, "/etc/config", true),
      bind(secret, "/etc/secret", true),
      bind(cache, "/cache"),
      bind(scratch, "/scratch"),
      bind(root .. "/host/data", "/data"),
      bind(root .. "/host/log", "/var/log/app"),
      bind("/dev/null", "/dev/custom-null"),
      bind(bigcm, "/etc/big-config", true),
    },
  }
  -- The floor: what a minimal C decision of each mount needs: the source's
  -- type (stat), whether an emptyDir is a mount's root (statx) and that
  -- mount's file system (statfs), a configmap or secret's
  -- bounded count, the root filesystem's device walk, each bind source
  -- resolved; since kata's agent limits joined the decisions (issue 11),
  -- the agent's walk of each configmap or secret it watches (entries and
  -- bytes, up to its 16 entries: the two of at most 8 files; big-config's
  -- 20 files make it shared, never watched, so nothing walks it), and one
  -- look for kata's direct volumes directory (absent here: no bind mount has
  -- a mountInfo.json to read). Until 2026-12-01 the floor also walked
  -- big-config, a walk the plan never makes (about 31 µs, 12% of the floor):
  -- the ratios printed before then were that much too low. Also since
  -- 2026-12-01: an emptyDir's mount is checked as kata checks it (a mount
  -- whose mount point is the source: statx, then statfs of a mount's root,
  -- where the floor had a statfs alone, which answers for a plain directory
  -- too), the guest side's stat of each emptyDir joined the floor, and the
  -- stat and the resolution of /dev/shm's source left it (the plan makes
  -- neither: the shm rule decides by the destination).
  local added = {
    { "stat", DIRECT_VOLUMES },
    { "walk", cm, 16 }, { "walk", secret, 16 },
    -- the guest side (issues 12 and 13): kata's handleEphemeralStorage and
    -- handleLocalStorage (kata_agent.go) stat each emptyDir they make in
    -- the guest, for its group (fsgid=)
    { "stat", cache }, { "stat", scratch },
  }
  local ops = {
    { "stat", pod .. "/etc-hosts" }, { "stat", pod .. "/containers/app/f00d" },
    { "stat", sandbox .. "/hostname" }, { "stat", sandbox .. "/resolv.conf" },
    { "stat", projected },
    { "stat", cm }, { "count", cm, 8 },
    { "stat", secret }, { "count", secret, 8 },
    -- an emptyDir's mount (kata's IsEphemeralStorage finds the mount whose
    -- mount point is the source, and its type): whether it is a mount's
    -- root, then the file system of the one that is
    { "mountroot", cache }, { "statfs", cache },
    { "mountroot", scratch },
    { "stat", root .. "/host/data" }, { "stat", root .. "/host/log" },
    { "stat", "/dev/null" },
    { "stat", bigcm }, { "count", bigcm, 8 },
    { "chain", rootfs },
  }
  -- the root filesystem's device checked in sysfs (kata's isBlockDevice:
  -- a stat of /sys/dev/block/MAJ:MIN/, absent for a tmpfs)
  local p = assert(io.popen("stat -c '%Hd:%Ld' " .. q(rootfs)))
  local devnum = p:read("l"); p:close()
  ops[#ops + 1] = { "stat", "/sys/dev/block/" .. devnum .. "/" }
  -- every bind source is resolved (the Go original's evalMountPath), but
  -- the container's /dev/shm: its destination decides it (kata's
  -- mountSharedDirMounts skips it before any look at the source), so nothing
  -- stats or resolves its source
  for _, m in ipairs(spec.mounts) do
    if m.type == "bind" and m.destination ~= "/dev/shm" then ops[#ops + 1] = { "realpath", m.source } end
  end
  -- the floor as issue 9 measured it (before the agent's limits): kept to
  -- compare with its 2.5x
  local issue9_ops = {}
  for i, op in ipairs(ops) do issue9_ops[i] = op end
  for i = #added, 1, -1 do table.insert(ops, 1, added[i]) end
  return { spec = spec, floor_ops = ops, floor_ops_issue9 = issue9_ops, ephemeral = cache,
           secret = secret, configmap = cm, rootfs = rootfs,
           direct_volumes = DIRECT_VOLUMES }
end

-- The floor ops that stand for one core call of the plan (the engine's
-- spy names it "name arg ..."): the same syscalls, made bare. Pure calls
-- (clean, join, base, fnv1a64, has_option, base64url) make none.
local FLOOR_OF = {
  stat = function(a) return { { "stat", a[1] } } end,
  lstat = function(a) return { { "lstat", a[1] } } end,
  realpath = function(a) return { { "realpath", a[1] } } end,
  count_files = function(a) return { { "count", a[1], tonumber(a[2]) } } end,
  tree_size = function(a) return { { "walk", a[1], tonumber(a[2]) } } end,
  -- statx, and for a mount's root the file system of that mount (the core
  -- asks statmount(2), the floor statfs(2))
  mount_entry = function(a) return { { "mountroot", a[1] }, { "statfs", a[1], optional = true } } end,
  -- (given the path's device, it walks from a stat the plan made: that
  -- stat and this walk are the chain; see check_floor)
  device_for_path = function(a) return { { "chain", a[1] } } end,
  block_device = function(a) return { { "stat", ("%s/dev/block/%s:%s/"):format(a[3], a[1], a[2]) } } end,
}

--- Check the floor against the core calls one plan made (`spied`: the
-- engine's `_spied()` counts, keyed "name arg ..."; `P`: what `build`
-- returned): every syscall-making call must have its floor op, and every
-- floor op a call of the plan, but the host's own look for the direct
-- volumes directory (made outside the rule state, so not spied).
-- @treturn table `{matched=, missing={...}, extra={...}}`: `missing` the
--   plan's calls the floor lacks, `extra` the floor ops no call asked for
function M.check_floor(spied, P)
  local want = {}        -- "op path" of the floor -> count
  local function key(op) return op[1] .. " " .. op[2] .. (op[3] and (" " .. op[3]) or "") end
  for _, op in ipairs(P.floor_ops) do
    local k = key(op)
    want[k] = (want[k] or 0) + 1
  end
  local host_look = "stat " .. P.direct_volumes
  if want[host_look] then want[host_look] = want[host_look] - 1 end
  local out = { matched = 0, missing = {}, extra = {} }
  -- a device_for_path given the path's device (`device_for_path P DEV`)
  -- starts its walk from the plan's own stat of P: that stat is the chain's
  -- first syscall, not one of its own
  local calls = {}
  for call, n in pairs(spied) do calls[call] = n end
  for call, n in pairs(spied) do
    local path, dev = call:match("^device_for_path (%S+) (%S+)")
    local stat_call = path and dev and ("stat " .. path .. " ")
    if stat_call and calls[stat_call] then
      calls[stat_call] = calls[stat_call] > n and calls[stat_call] - n or nil
    end
  end
  for call, n in pairs(calls) do
    local name, rest = call:match("^(%S+) ?(.*)$")
    local args = {}
    for a in rest:gmatch("%S+") do args[#args + 1] = a end
    call = name .. " " .. table.concat(args, " ")     -- as named in the report
    local of = FLOOR_OF[name]
    for _ = 1, of and n or 0 do
      for _, op in ipairs(of(args)) do
        local k = key(op)
        if (want[k] or 0) > 0 then
          want[k] = want[k] - 1
          out.matched = out.matched + 1
        elseif not op.optional then
          out.missing[#out.missing + 1] = call
        end
      end
    end
  end
  for k, n in pairs(want) do
    for _ = 1, n do out.extra[#out.extra + 1] = k end
  end
  table.sort(out.missing)
  table.sort(out.extra)
  return out
end

return M
