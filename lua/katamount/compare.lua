--- What a rules directory changes: the decisions of two engines, side by
-- side, on the same spec and the same host (`katamount rules --check DIR`,
-- `katamount diff --rules DIR config.json`).
-- @module katamount.compare
local core = require("katamount.core")

local M = {}

local ipairs, pairs, type, tostring = ipairs, pairs, type, tostring
local format = string.format

local POD = "/var/lib/kubelet/pods/00000000-0000-4000-8000-000000000000/volumes/"

local function bind(source, destination, extra)
  local options = { "rbind", "rprivate" }
  for _, o in ipairs(extra or {}) do options[#options + 1] = o end
  return { source = source, destination = destination, type = "bind", options = options }
end

--- One mount per row of the decision table (README, DESIGN.md), as kata's
-- runtime receives such mounts; `row` names the row. Their sources need
-- not exist here: both engines see the same host.
-- @treturn {table,...}
function M.canonical_mounts(host)
  local pod = host and (host .. POD) or ("/nonexistent" .. POD)
  local function row(name, m)
    m.row = name
    return m
  end
  return {
    row("layer", { source = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/1/l.erofs",
      destination = "/run/kata-containers/sandbox/layers/1", type = "erofs",
      options = { "ro", "io.katacontainers.fs-opt.is-layer",
        "io.katacontainers.fs-opt.block_device=file" } }),
    row("shm", { source = "shm", destination = "/dev/shm", type = "tmpfs",
      options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } }),
    row("system", bind("/proc", "/host/proc", { "ro" })),
    row("local", bind(pod .. "kubernetes.io~empty-dir/scratch", "/scratch")),
    row("block", bind("/dev/loop0", "/dev/xvda")),
    row("passthrough", { source = "proc", destination = "/proc", type = "proc",
      options = { "nosuid", "noexec", "nodev" } }),
    row("host-device", bind("/dev/null", "/dev/null")),
    row("watchable", bind(pod .. "kubernetes.io~configmap/config", "/etc/config", { "ro" })),
    row("watchable", bind(pod .. "kubernetes.io~secret/token", "/var/run/secrets/token", { "ro" })),
    row("shared (a configmap of 12 files)",
      bind(pod .. "kubernetes.io~configmap/large", "/etc/large", { "ro" })),
    row("shared", bind(host and (host .. "/host/data") or "/etc/hostname", "/data")),
  }
end

--- A spec of the canonical mounts (without their `row`), its root
-- filesystem `/`.
-- @tparam[opt] string host a directory laid out by `make_host`
-- @treturn table
function M.canonical_spec(host)
  local mounts = {}
  for i, m in ipairs(M.canonical_mounts(host)) do
    mounts[i] = { source = m.source, destination = m.destination, type = m.type, options = m.options }
  end
  return { root = { path = "/" }, mounts = mounts }
end

--- Lay out, below `root` (a fresh directory of the caller's: see
-- `core.make_temp_dir`), the kubelet volumes the canonical mounts name:
-- configmaps of 3 and 12 files, a secret of 1, a disk emptyDir, a host
-- directory. No mount is made: the memory and hugepage emptyDirs, which
-- need one, are not among the canonical mounts.
-- @tparam string root
-- @treturn[1] {string,...} what was made, deepest last (for `remove_host`)
-- @return[2] nil, message
function M.make_host(root)
  local made = {}
  local vol = root .. POD
  local function dir(path)
    local ok, err = core.ensure_destination("/", path)
    if not ok then return nil, err end
    made[#made + 1] = path
    return true
  end
  local function files(path, n)
    local ok, err = dir(path)
    if not ok then return nil, err end
    for i = 1, n do
      local name = path .. "/key" .. i
      local f, ferr = io.open(name, "wb")
      if not f then return nil, ferr end
      f:write("value ", i, "\n")
      f:close()
      made[#made + 1] = name
    end
    return true
  end
  for _, step in ipairs({
    { files, vol .. "kubernetes.io~configmap/config", 3 },
    { files, vol .. "kubernetes.io~configmap/large", 12 },
    { files, vol .. "kubernetes.io~secret/token", 1 },
    { dir, vol .. "kubernetes.io~empty-dir/scratch" },
    { dir, root .. "/host/data" },
  }) do
    local ok, err = step[1](step[2], step[3])
    if not ok then
      M.remove_host(root, made)
      return nil, err
    end
  end
  return made
end

--- Remove what `make_host` made, and `root` itself (files first, then each
-- directory and its parents up to `root`, as long as they are empty).
-- @tparam string root
-- @tparam {string,...} made
function M.remove_host(root, made)
  for i = #made, 1, -1 do os.remove(made[i]) end
  local dirs = {}
  for _, path in ipairs(made) do
    local p = path
    while #p > #root do
      dirs[p] = true
      p = p:match("^(.*)/[^/]*$") or root
    end
  end
  local list = {}
  for p in pairs(dirs) do list[#list + 1] = p end
  table.sort(list, function(a, b) return #a > #b end)
  for _, p in ipairs(list) do os.remove(p) end
  os.remove(root)
end

-- A decision as one line: "class / action (rule)" or "ERROR: message".
local function summary(d)
  if d == nil then return "-" end
  if d.error then return "ERROR: " .. tostring(d.error) end
  return format("%s / %s (%s)", tostring(d.class), tostring(d.action), tostring(d.rule))
end
M.summary = summary

--- The decisions that differ between two engines on one spec.
-- @tparam table before an engine (the bundled rules, say)
-- @tparam table after another (the bundled rules plus a directory)
-- @tparam table spec a decoded OCI spec
-- @tparam[opt] table ctx the settings both are called with
-- @treturn {table,...} `{what=, source=, destination=, before=, after=}` each,
--   `what` "mount N", "rootfs" or "layer N", `before`/`after` the decisions
-- @treturn integer the number of decisions compared
function M.differences(before, after, spec, ctx)
  local a = before:plan(spec, ctx)
  local b = after:plan(spec, ctx)
  local out, n = {}, 0
  local function compare(what, da, db)
    n = n + 1
    if summary(da) ~= summary(db) then
      local d = da or db
      out[#out + 1] = { what = what, source = d.source, destination = d.destination, before = da, after = db }
    end
  end
  local count = math.max(#(a.mounts or {}), #(b.mounts or {}))
  for i = 1, count do compare("mount " .. i, a.mounts[i], b.mounts[i]) end
  count = math.max(#(a.layers or {}), #(b.layers or {}))
  for i = 1, count do compare("layer " .. i, a.layers[i], b.layers[i]) end
  if type(a.rootfs) == "table" or type(b.rootfs) == "table" then compare("rootfs", a.rootfs, b.rootfs) end
  return out, n
end

return M
