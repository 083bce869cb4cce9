--- Direct-assigned volumes (`kata-runtime direct-volume add`): the
-- `mountInfo.json` a CSI driver leaves for a volume, read on the host side
-- of the engine (never inside the rule state).
--
-- kata keeps each volume's file at
-- `<root>/<base64url(source)>/mountInfo.json` (Go's `base64.URLEncoding`:
-- the URL alphabet, with `=` padding; the source byte for byte, not
-- cleaned), root `/run/kata-containers/shared/direct-volumes`
-- (src/runtime/pkg/direct-volume/utils.go `VolumeMountInfo`). Its fields
-- replace the mount's source (`device`), type (`fstype`) and options, and
-- its `metadata.fsGroup` the volume's group (container.go
-- `createBlockDevices`).
-- @module katamount.directvolume
local core = require("katamount.core")

local M = {}

local type, tostring, pairs, ipairs, next = type, tostring, pairs, ipairs, next
local format, match = string.format, string.match
local math_type, tointeger = math.type, math.tointeger

--- kata's directory of direct-assigned volumes.
M.DEFAULT_ROOT = "/run/kata-containers/shared/direct-volumes"
--- The largest mountInfo.json read (bytes); a bigger one is refused.
M.MAX_BYTES = 64 * 1024
--- The deepest JSON nesting decoded (the file is an object of strings, a
-- list and a map: 2 levels are enough).
M.MAX_DEPTH = 4
--- The name of the file in each volume's directory.
M.FILE = "mountInfo.json"

--- Go's `base64.URLEncoding.EncodeToString`: URL alphabet, `=` padding
-- (the core's `base64url`).
-- @function base64url
-- @tparam string s
-- @treturn string
M.base64url = core.base64url

--- The path of the mountInfo.json of the volume at `source`.
-- @tparam string root the direct volumes directory
-- @tparam string source the mount's source, as given
-- @treturn string
function M.path(root, source)
  return root .. "/" .. M.base64url(source) .. "/" .. M.FILE
end

local decoder = nil
local function decode(text)
  if decoder == nil then
    local cjson = require("cjson")
    decoder = cjson.new()
    decoder.decode_max_depth(M.MAX_DEPTH)
    decoder.decode_invalid_numbers(false)
  end
  return pcall(decoder.decode, text)
end

local function bad(path, what)
  return nil, format("direct volume '%s': %s", path, what)
end

-- A JSON string field (missing: ""), or nil and what is wrong.
local function string_field(t, k)
  local v = t[k]
  if v == nil then return "" end
  if type(v) ~= "string" then return nil, format("\"%s\" must be a string, got %s", k, type(v)) end
  return v
end

-- The checked fields of a decoded mountInfo.json, or nil and what is wrong.
local function check(t)
  if type(t) ~= "table" or (next(t) ~= nil and t[1] ~= nil) then return nil, "not a JSON object" end
  local info = {}
  for key, field in pairs({ ["volume-type"] = "volume_type", device = "device", fstype = "fstype" }) do
    local v, err = string_field(t, key)
    if v == nil then return nil, err end
    info[field] = v
  end
  if info.device == "" then return nil, "\"device\" is empty" end
  if core.clean(info.device) == nil then return nil, "\"device\" is not a path" end
  local opts = t.options
  info.options = {}
  if opts ~= nil then
    if type(opts) ~= "table" then return nil, "\"options\" must be a list of strings" end
    for k in pairs(opts) do
      if math_type(k) ~= "integer" then return nil, "\"options\" must be a list of strings" end
    end
    for i, o in ipairs(opts) do
      if type(o) ~= "string" then return nil, format("\"options\"[%d] must be a string", i) end
      info.options[i] = o
    end
    if #info.options ~= #opts then return nil, "\"options\" must be a list of strings" end
  end
  local meta = t.metadata
  info.metadata = {}
  if meta ~= nil then
    if type(meta) ~= "table" then return nil, "\"metadata\" must be an object of strings" end
    for k, v in pairs(meta) do
      if type(k) ~= "string" or type(v) ~= "string" then
        return nil, "\"metadata\" must be an object of strings"
      end
      info.metadata[k] = v
    end
  end
  local gid = info.metadata.fsGroup
  if gid ~= nil then
    local n = gid:match("^[+-]?%d+$") and tointeger(tonumber(gid))
    if not n or n < 0 or n > 0xffffffff then
      return nil, format("metadata \"fsGroup\" '%s' is not a group id", gid)
    end
    info.fs_group = n
  end
  for _, o in ipairs(info.options) do
    if o == "ro" then info.readonly = true end
  end
  info.readonly = info.readonly or false
  return info
end

--- Read the mountInfo.json of the volume at `source`, if there is one.
-- @tparam string root the direct volumes directory
-- @tparam string source the mount's source, as given
-- @treturn[1] table `{path=, volume_type=, device=, fstype=, options=,
--   metadata=, fs_group=, readonly=}`
-- @return[2] false when the volume has no mountInfo.json
-- @return[3] nil, message naming the file (not a regular file, bigger than
--   `MAX_BYTES`, unreadable, not JSON, or fields of the wrong type)
function M.read(root, source)
  local path = M.path(root, source)
  -- one descriptor judged and read: a FIFO or device is refused without
  -- blocking, and the file judged is the file read
  local text, err, errno = core.read_file(path, M.MAX_BYTES)
  if text == nil then
    if errno == 2 or errno == 20 then return false end   -- ENOENT, ENOTDIR
    if errno == 27 then return bad(path, format("more than MAX_BYTES (%d)", M.MAX_BYTES)) end -- EFBIG
    return bad(path, match(tostring(err), "^read_file '.*': (.*)$") or tostring(err))
  end
  local ok, t = decode(text)
  if not ok then return bad(path, "not JSON: " .. tostring(t)) end
  local info, cerr = check(t)
  if not info then return bad(path, cerr) end
  info.path = path
  return info
end

return M
