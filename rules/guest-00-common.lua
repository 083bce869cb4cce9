-- guest-00-common.lua -- what every guest-side translation (rules/guest-*.lua)
-- uses: the container and sandbox ids, the shared directories, and helpers
-- that follow kata's Go code (filepath.Join, filepath.Base, the shared file
-- name of fs_share_linux.go's shareFileName, the block storage of
-- kata_agent.go's handleDeviceBlockVolume and handleBlkOCIMounts).
--
-- A translation is declared with
--   guest { class = "ephemeral", action = "guest-tmpfs" (optional),
--           build = function(m, ctx, d) return { storages = {...},
--             guest_mount = {...} or nil, why = "...", host = {...} } end }
-- keyed by class and action (else class alone); a later file replaces it.
-- What a guest_mount leaves out of destination, type and options is the
-- container mount's own (the engine fills them in: a copy of its options).
--
-- Tune: params.container_id and params.sandbox_id (the runtime passes its
-- own in ctx), params.guest_shared_dir, params.host_shared_dir,
-- params.block_device_driver, params.block_addresses.

param { name = "container_id", type = "string", default = "container-id",
  doc = "the container's id in guest paths (a placeholder: the runtime passes its own in ctx)" }
param { name = "sandbox_id", type = "string", default = "sandbox-id",
  doc = "the sandbox's id in guest paths (a placeholder: the runtime passes its own in ctx)" }
param { name = "guest_shared_dir", type = "string", default = "/run/kata-containers/shared/containers/",
  doc = "the guest directory where shared files appear (kata's defaultKataGuestSharedDir)" }
param { name = "host_shared_dir", type = "string", default = "/run/kata-containers/shared/sandboxes/",
  doc = "the host directory of each sandbox's shared mounts (kata's defaultKataHostSharedDir)" }
param { name = "guest_storage_dir", type = "string", default = "/run/kata-containers/sandbox/storage",
  doc = "where the guest mounts each hot-plugged block volume (kata's kataGuestSandboxStorageDir)" }
param { name = "block_device_driver", type = "string", default = "virtio-scsi",
  values = { "virtio-blk-pci", "virtio-scsi", "virtio-mmio", "virtio-blk-ccw" },
  doc = "the hypervisor's block device driver (kata's block_device_driver; its default virtio-scsi)" }
param { name = "block_addresses", type = "map", default = {},
  doc = "host path of a hot-plugged device -> its guest address (PCI path, SCSI address, ...)" }

-- kata's agent driver for each block_device_driver (handleBlockVolume)
local BLOCK_DRIVERS = { ["virtio-blk-pci"] = "blk", ["virtio-scsi"] = "scsi",
  ["virtio-mmio"] = "mmioblk", ["virtio-blk-ccw"] = "blk-ccw" }

-- guest_join(a, b, ...): Go's filepath.Join (the core's join: the
-- non-empty parts joined with "/", cleaned); a part with a NUL byte, or a
-- joined path past PATH_MAX, raises.
local join = core.join
predicate("guest_join", function(...)
  local path, err = join(...)
  if path == nil then error(err, 0) end
  return path
end)

-- base_name(path): filepath.Base of the cleaned path (the core's base,
-- Go's filepath.Base). Unlike Go's Base ("/a/.." -> ".."), a name that would
-- leave the directory it is joined to (".", "..", "/", "") raises.
predicate("base_name", function(path)
  local base = core.base(core.clean(path))
  if base == "" or base == "." or base == ".." or base == "/" then
    error(("'%s' has no name to place in the guest"):format(path), 0)
  end
  return base
end)

-- kata_id(ctx, "container_id" | "sandbox_id"): the id, checked as kata's
-- shim checks ids (katautils' validCIDRegex, ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$),
-- so that an id never adds a directory to a guest path.
local checked_ids, n_checked = {}, 0   -- the ids found good so far (a few per engine)
predicate("kata_id", function(ctx, which)
  local id = ctx[which]
  if checked_ids[id] then return id end
  if type(id) ~= "string" or not id:find("^[%w][%w_.-]+$") then
    error(("%s must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$, got %s"):format(which,
      type(id) == "string" and ("%q"):format(id:sub(1, 80)) or type(id)), 0)
  end
  -- remembered while few (a runtime passes one pair of ids per pod)
  if n_checked < 64 then
    n_checked = n_checked + 1
    checked_ids[id] = true
  end
  return id
end)

-- fs_sharing(ctx): the hypervisor shares files with the guest: the shared
-- file system in effect (shared_fs_kind, 00-settings.lua) is not "none".
predicate("fs_sharing", function(ctx)
  return shared_fs_kind(ctx) ~= "none"
end)

-- FNV-1a 64 of the strings (each followed by a NUL), as 16 hex digits:
-- the core's fnv1a64.
local fnv = core.fnv1a64

-- share_file_name(m, ctx, sandbox_scoped): kata's shareFileName,
-- <container>-<hex>-<base of destination>, or sandbox-<hex>-<base of source>
-- for a disk emptyDir copied once per sandbox. Kata draws the 16 hex digits
-- at random; here they are a hash of the ids, source and destination, so a
-- plan says the same thing twice (a runtime may draw its own).
predicate("share_file_name", function(m, ctx, sandbox_scoped)
  if sandbox_scoped then
    return "sandbox-" .. fnv(kata_id(ctx, "sandbox_id"), m.source) .. "-" .. base_name(m.source)
  end
  local cid = kata_id(ctx, "container_id")
  local base, err = core.base(m.destination)
  if not base then error(err, 0) end
  return cid .. "-" .. fnv(cid, m.source, m.destination) .. "-" .. base
end)

-- base64_url(s): Go's base64.URLEncoding (padded), the core's base64url.
predicate("base64_url", function(s) return core.base64url(s) end)

-- block_storage(m, ctx, path): the storage of a hot-plugged block device
-- (kata_agent.go handleBlockVolume + handleDeviceBlockVolume): the driver
-- of params.block_device_driver, the device's guest address as source
-- (ctx.block_addresses[path]; until the runtime knows it, the host path),
-- the mount's type and options. Its mount_point is the mount's destination;
-- handleBlkOCIMounts moves volumes under guest_storage_dir.
predicate("block_storage", function(m, ctx, path)
  local driver = BLOCK_DRIVERS[ctx.block_device_driver]
  if driver == nil then
    error("unknown block device driver " .. tostring(ctx.block_device_driver), 0)
  end
  local addresses = ctx.block_addresses
  local source = type(addresses) == "table" and addresses[path] or nil
  local options = {}
  for i, o in ipairs(m.options) do options[i] = o end
  return { driver = driver, source = source or path, fstype = m.type, options = options,
    mount_point = m.destination }
end)

-- copy_list(list): a fresh list of the strings of `list`.
predicate("copy_list", function(list)
  local out = {}
  for i, o in ipairs(list or {}) do out[i] = o end
  return out
end)

-- unchanged(m): the mount as the agent receives it when nothing is rewritten.
predicate("unchanged", function(m)
  return { source = m.source, destination = m.destination, type = m.type, options = copy_list(m.options) }
end)

-- hotplugged_volume(m, ctx, vol): what kata_agent.go handleDeviceBlockVolume
-- and handleBlkOCIMounts give the agent for a container mount backed by a
-- device the runtime hot-plugs (a block device or marked file, a
-- direct-assigned volume, a block emptyDir's disk.img). vol: path (the host
-- path hot-plugged), fstype and options (the storage's), driver_options,
-- fs_group and fs_group_change_policy, file, read_only, create (the runtime
-- makes the file first). The storage (block_storage's driver and guest
-- address) is mounted once per device at <guest_storage_dir>/<base64url of
-- its guest address>; the container's mount keeps its type and options and
-- takes that path as its source ("bind" alone for a mount marked
-- params.block_device_file_option: the device is mounted already).
predicate("hotplugged_volume", function(m, ctx, vol)
  local s = block_storage(m, ctx, vol.path)
  s.fstype, s.options = vol.fstype, copy_list(vol.options)
  s.mount_point = guest_join(ctx.guest_storage_dir, base64_url(s.source))
  if vol.driver_options and #vol.driver_options > 0 then s.driver_options = copy_list(vol.driver_options) end
  if vol.fs_group ~= nil then
    -- handleDeviceBlockVolume: a group id of 0 or past uint32 fails the create
    if math.type(vol.fs_group) ~= "integer" or vol.fs_group <= 0 or vol.fs_group > 0xffffffff then
      error(("fsGroup %s is out of range (kata: m.FSGroup value was out of range)"):format(
        tostring(vol.fs_group)), 0)
    end
    s.fs_group = { group_id = vol.fs_group, group_change_policy = vol.fs_group_change_policy or "Always" }
  end
  local options = copy_list(m.options)
  if has_option(m.options, params.block_device_file_option) then options = { "bind" } end
  return {
    storages = { s },
    guest_mount = { source = s.mount_point, destination = m.destination, type = m.type, options = options },
    host = { action = "hotplug", path = vol.path, file = vol.file == true, read_only = vol.read_only == true,
      create = vol.create },
  }
end)

-- json_decode(text): a JSON value as Lua tables (objects as string-keyed
-- tables, arrays as lists, null as nil), nesting at most JSON_DEPTH, or
-- raises naming what is wrong. For the JSON some options carry (a
-- KataVirtualVolume, nydus' extraoption): the rule state has no decoder.
local JSON_DEPTH = 8
local JSON_ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r",
  t = "\t" }

local function utf8_of(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)) end
  if cp < 0x10000 then
    return string.char(0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F))
  end
  return string.char(0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F),
    0x80 | (cp & 0x3F))
end

predicate("json_decode", function(text)
  if type(text) ~= "string" then error("JSON text expected, got " .. type(text), 0) end
  local pos = 1
  local function fail(what) error(("bad JSON at byte %d: %s"):format(pos, what), 0) end
  local function skip() pos = text:find("[^ \t\r\n]", pos) or (#text + 1) end
  local function str()
    pos = pos + 1
    local out = {}
    while true do
      local s, e = text:find('^[^"\\\0-\31]+', pos)
      if s then out[#out + 1] = text:sub(s, e); pos = e + 1 end
      local c = text:sub(pos, pos)
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c ~= "\\" then fail(c == "" and "unterminated string" or "control character in a string") end
      local esc = text:sub(pos + 1, pos + 1)
      if esc == "u" then
        local hex = text:match("^%x%x%x%x", pos + 2)
        if not hex then fail("bad \\u escape") end
        local cp = tonumber(hex, 16)
        pos = pos + 6
        if cp >= 0xD800 and cp < 0xDC00 then
          local lo = text:match("^\\u(%x%x%x%x)", pos)
          local l = lo and tonumber(lo, 16)
          if l and l >= 0xDC00 and l < 0xE000 then
            cp = 0x10000 + ((cp - 0xD800) << 10) + (l - 0xDC00)
            pos = pos + 6
          end
        end
        out[#out + 1] = utf8_of(cp)
      elseif JSON_ESCAPES[esc] then
        out[#out + 1] = JSON_ESCAPES[esc]
        pos = pos + 2
      else
        fail("bad escape")
      end
    end
  end
  local value
  local function container(depth, close)
    if depth > JSON_DEPTH then fail(("nested deeper than JSON_DEPTH (%d)"):format(JSON_DEPTH)) end
    pos = pos + 1
    local t, n = {}, 0
    skip()
    if text:sub(pos, pos) == close then pos = pos + 1; return t end
    while true do
      skip()
      if close == "}" then
        if text:sub(pos, pos) ~= '"' then fail("a key must be a string") end
        local k = str()
        skip()
        if text:sub(pos, pos) ~= ":" then fail("':' expected") end
        pos = pos + 1
        t[k] = value(depth)
      else
        n = n + 1
        t[n] = value(depth)
      end
      skip()
      local c = text:sub(pos, pos)
      pos = pos + 1
      if c == close then return t end
      if c ~= "," then fail("',' or '" .. close .. "' expected") end
    end
  end
  value = function(depth)
    skip()
    local c = text:sub(pos, pos)
    if c == "{" then return container(depth + 1, "}") end
    if c == "[" then return container(depth + 1, "]") end
    if c == '"' then return str() end
    if text:sub(pos, pos + 3) == "true" then pos = pos + 4; return true end
    if text:sub(pos, pos + 4) == "false" then pos = pos + 5; return false end
    if text:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil end
    local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if num and num ~= "" and tonumber(num) then pos = pos + #num; return tonumber(num) end
    fail("unexpected " .. (c == "" and "end of text" or ("'" .. c .. "'")))
  end
  local v = value(0)
  skip()
  if pos <= #text then fail("text after the value") end
  return v
end)

-- json_string_map(t): Go's json.Marshal of a map[string]string: keys
-- sorted, and the escapes Go writes (", \, control characters, <, >, &,
-- U+2028 and U+2029).
local GO_ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" }

local function go_string(s)
  s = s:gsub('[\0-\31"\\<>&]', function(c)
    return GO_ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end)
  s = s:gsub("\226\128\168", "\\u2028"):gsub("\226\128\169", "\\u2029")
  return '"' .. s .. '"'
end

predicate("json_string_map", function(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = go_string(k) .. ":" .. go_string(t[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end)

-- guest_root(m, path): the root filesystem as the agent receives it, its
-- source the guest's root.path.
predicate("guest_root", function(m, path)
  return { source = path, destination = "/", type = m.type, options = copy_list(m.options) }
end)
