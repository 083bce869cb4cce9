-- bench/baseline.lua -- the cases done the way a Lua user would without
-- katamount: LuaFileSystem for stat and directories, the mount table re-read
-- from /proc/self/mountinfo and scanned on each lookup (as the Go original
-- does), and the Go original's decision logic written in plain Lua.
local lfs = require("lfs")

local M = {}

local K8S_EMPTY_DIR = "kubernetes.io~empty-dir"
local K8S_CONFIG_MAP = "kubernetes.io~configmap"
local K8S_SECRET = "kubernetes.io~secret"

--- Go's countFiles over lfs: stat, then list and recurse; lstat per entry
-- because lfs.dir gives no entry type.
function M.count_files(path, limit)
  local mode, err = lfs.attributes(path, "mode")
  if not mode then return nil, err end
  if mode ~= "directory" then return 1 end
  local n = 0
  local iter, d = lfs.dir(path)
  for name in iter, d do
    if name ~= "." and name ~= ".." then
      local full = path .. "/" .. name
      if lfs.symlinkattributes(full, "mode") == "directory" then
        local inc, e = M.count_files(full, limit - n)
        if not inc then d:close() return nil, e end
        if inc < 0 then d:close() return -1 end
        n = n + inc
      else
        n = n + 1
      end
      if n > limit then d:close() return -1 end
    end
  end
  return n
end

local function unescape(s)
  return (s:gsub("\\(%d%d%d)", function(o) return string.char(tonumber(o, 8) % 256) end))
end

local function split_commas(s)
  local t = {}
  for o in s:gmatch("[^,]+") do t[#t + 1] = o end
  return t
end

--- Read and parse the whole mount table.
function M.read_mountinfo(path)
  local t = {}
  for line in io.lines(path or "/proc/self/mountinfo") do
    local id, parent, maj, min, root, mp, opts, rest =
      line:match("^(%d+) (%d+) (%d+):(%d+) (%S+) (%S+) (%S+) (.*)$")
    if id then
      local optional, fstype, source, super = rest:match("^(.-)%s*%- (%S+) (%S+) (%S+)$")
      if fstype then
        t[#t + 1] = {
          id = tonumber(id), parent = tonumber(parent), major = tonumber(maj), minor = tonumber(min),
          root = unescape(root), mount_point = unescape(mp), options = split_commas(opts),
          optional = optional, fstype = fstype, source = unescape(source),
          super_options = split_commas(super),
        }
      end
    end
  end
  return t
end

--- A lookup: the table re-read and scanned, the last match wins.
function M.mount_entry(mount_point)
  local found
  for _, e in ipairs(M.read_mountinfo()) do
    if e.mount_point == mount_point then found = e end
  end
  return found
end

local function volume_kind(path)
  local parts = {}
  for p in path:gmatch("[^/]*") do parts[#parts + 1] = p end
  return parts[#parts - 1]
end

function M.is_ephemeral_storage(path)
  if volume_kind(path) ~= K8S_EMPTY_DIR then return false end
  local e = M.mount_entry(path)
  return e ~= nil and e.fstype == "tmpfs"
end

local function major(dev) return (dev >> 8) & 0xfff end
local function minor(dev) return (dev & 0xff) | ((dev >> 12) & 0xfff00) end

local function is_host_device(m)
  if m == "/dev" then return true end
  if m:sub(1, 5) == "/dev/" then
    local mode = lfs.attributes(m, "mode")
    return mode ~= nil and mode ~= "file"
  end
  return false
end

--- Go's getDeviceForPath over lfs.
function M.device_for_path(path)
  if path == "" then return nil, "Path cannot be empty" end
  local st, err = lfs.attributes(path)
  if not st then return nil, err end
  if is_host_device(path) then
    return { major = major(st.rdev), minor = minor(st.rdev), mount_point = "" }
  end
  local dev = st.dev
  if path:sub(1, 1) ~= "/" then path = lfs.currentdir() .. "/" .. path end
  if path == "/" then return { major = major(dev), minor = minor(dev), mount_point = "/" } end
  local mp = path
  while true do
    if mp == "/" then return nil, "Mount point not found" end
    local parent = path:match("^(.*)/[^/]*$")
    if parent == "" then parent = "/" end
    local pdev, e = lfs.symlinkattributes(parent, "dev")
    if not pdev then return nil, e end
    if pdev ~= dev then break end
    mp, path, dev = parent, parent, pdev
  end
  return { major = major(dev), minor = minor(dev), mount_point = mp }
end

local function has_option(options, o)
  for _, x in ipairs(options or {}) do if x == o then return true end end
  return false
end

local function is_system_mount(p)
  return p == "/proc" or p == "/sys" or p:sub(1, 6) == "/proc/" or p:sub(1, 5) == "/sys/"
end

local function is_bind(m)
  return m.type == "bind" or has_option(m.options, "bind") or has_option(m.options, "rbind")
end

local function is_block_device(maj, mi)
  return lfs.attributes(("/sys/dev/block/%d:%d"):format(maj, mi), "mode") ~= nil
end

local function decide(m)
  local src = m.source or ""
  if has_option(m.options, "io.katacontainers.fs-opt.is-layer") then return "layer" end
  if is_system_mount(src) then return "system" end
  local kind = volume_kind(src)
  if kind == K8S_EMPTY_DIR then
    local e = M.mount_entry(src)                 -- IsEphemeralStorage
    if e and e.fstype == "tmpfs" then return "ephemeral" end
    e = M.mount_entry(src)                       -- Isk8sHostEmptyDir reads it again
    if e and e.fstype == "hugetlbfs" then return "hugepages" end
    return "local"
  end
  if is_bind(m) then
    local mode = lfs.attributes(src, "mode")
    if mode == "block device" then return "block" end
  else
    return "passthrough"
  end
  if m.destination == "/dev/shm" then return "shm" end
  if is_host_device(src) or (src:sub(1, 5) == "/dev/" and lfs.attributes(src, "mode") == nil) then
    return "host-device"
  end
  if kind == K8S_CONFIG_MAP or kind == K8S_SECRET then
    local n = M.count_files(src, 8)
    if n and n > 0 then return "watchable" end
  end
  return "shared"
end

--- The decision table in plain Lua, for a decoded OCI spec.
function M.plan(spec)
  local out = { mounts = {} }
  for i, m in ipairs(spec.mounts) do out.mounts[i] = { class = decide(m) } end
  local root = spec.root and spec.root.path
  local d = root and M.device_for_path(root)
  local block = d and is_block_device(d.major, d.minor)
  out.rootfs = { class = "rootfs", action = block and "hotplug-block" or "share" }
  return out
end

return M
