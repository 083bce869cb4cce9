--- Parser of kata overlay layer options.
--
-- A root filesystem option `io.katacontainers.fs-opt.layer=SOURCE,TYPE[,OPTION...]`
-- becomes, as kata's shim makes it (`copyLayersToMounts`,
-- src/runtime/pkg/containerd-shim-v2/create.go), an ordinary container mount
-- `{source = SOURCE, destination = "/run/kata-containers/sandbox/layers/<basename
-- of SOURCE>", type = TYPE, options = {OPTION...}}`: exactly its own options.
-- SOURCE is taken as written: kata HEAD neither joins a relative one to
-- `io.katacontainers.fs-opt.layer-src-prefix=` nor decodes a base64 value (both
-- are the AKS fork's tardev snapshotter's, not kata HEAD's: a base64 value has
-- no comma, so it is an error, as kata's "Missing fields in rootfs layer").
--
-- This module is pure Lua with no dependency on the C core: a libFuzzer
-- target embeds Lua and calls `parse` on raw bytes, so `parse` never raises
-- on any string and runs in time linear in its length (no backtracking
-- patterns: only plain `find` and byte loops).
-- @module katamount.layers
local M = {}

local type, tostring, ipairs = type, tostring, ipairs
local find, sub, byte, format = string.find, string.sub, string.byte, string.format

--- The option prefix that names a layer.
M.PREFIX = "io.katacontainers.fs-opt.layer="

--- Where layers are mounted in the guest.
M.MOUNT_ROOT = "/run/kata-containers/sandbox/layers/"

--- The root filesystem option naming where relative layer sources live (the
-- AKS tardev snapshotter's; kata HEAD ignores it).
M.SOURCE_PREFIX = "io.katacontainers.fs-opt.layer-src-prefix="

-- Longest part of an option quoted in an error message.
local QUOTE_MAX = 200
local SLASH = byte("/")

-- The option, quoted for a message (bounded, control bytes escaped).
local function quote(option)
  if #option > QUOTE_MAX then
    return format("%q...", sub(option, 1, QUOTE_MAX))
  end
  return format("%q", option)
end

-- Whether a value could be base64 (the tardev snapshotter's encoding of
-- "SOURCE,TYPE,..."): at least 8 bytes of the standard alphabet, a multiple of 4.
local function looks_base64(value)
  local n = #value
  if n < 8 or n % 4 ~= 0 then return false end
  for i = 1, n do
    local c = byte(value, i)
    if not ((c >= 65 and c <= 90) or (c >= 97 and c <= 122) or (c >= 48 and c <= 57)
      or c == 43 or c == 47 or (c == 61 and i > n - 2)) then
      return false
    end
  end
  return true
end

-- Go filepath.Base without patterns: trailing slashes dropped, then the last
-- element; "" for "", "/" for a path of slashes only.
local function basename(path)
  local e = #path
  while e > 0 and byte(path, e) == SLASH do e = e - 1 end
  if e == 0 then return #path > 0 and "/" or "" end
  local s = e
  while s > 1 and byte(path, s - 1) ~= SLASH do s = s - 1 end
  return sub(path, s, e)
end
M.basename = basename

--- Parse one layer option.
-- Deliberate differences from the Go original: an empty SOURCE or TYPE, a
-- SOURCE holding a NUL byte or naming no file (`/`, `.`, `..`) is an error
-- rather than a layer mounted at `.../layers/.`; empty OPTION fields are dropped.
-- @tparam string option the whole option (`io.katacontainers.fs-opt.layer=...`)
--   or just its value (`SOURCE,TYPE[,OPTION...]`)
-- @treturn[1] table the container mount kata makes of it: `{source=, destination=,
--   type=, options={...}}`
-- @return[2] nil
-- @treturn[2] string message naming the option
function M.parse(option)
  if type(option) ~= "string" then
    return nil, "layer option must be a string, got " .. type(option)
  end
  local value = option
  if sub(option, 1, #M.PREFIX) == M.PREFIX then value = sub(option, #M.PREFIX + 1) end
  local fields, pos = {}, 1
  while true do
    local comma = find(value, ",", pos, true)
    if not comma then
      fields[#fields + 1] = sub(value, pos)
      break
    end
    fields[#fields + 1] = sub(value, pos, comma - 1)
    pos = comma + 1
  end
  if #fields < 2 then
    local why = looks_base64(value) and " (a base64 value, as the AKS tardev snapshotter writes:"
      .. " kata's copyLayersToMounts does not decode it and fails the create)" or ""
    return nil, "layer option " .. quote(option) .. ": want SOURCE,TYPE[,OPTION...], got "
      .. tostring(#fields) .. " field" .. why
  end
  local source, fstype = fields[1], fields[2]
  if source == "" then return nil, "layer option " .. quote(option) .. ": empty source" end
  if fstype == "" then return nil, "layer option " .. quote(option) .. ": empty type" end
  if find(source, "\0", 1, true) then
    return nil, "layer option " .. quote(option) .. ": source contains a NUL byte"
  end
  local base = basename(source)
  if base == "/" or base == "." or base == ".." then
    return nil, "layer option " .. quote(option) .. ": source names no file"
  end
  local options = {}
  for i = 3, #fields do
    if fields[i] ~= "" then options[#options + 1] = fields[i] end
  end
  return { source = source, destination = M.MOUNT_ROOT .. base, type = fstype, options = options }
end

--- The layers named by a root filesystem's options, in option order.
-- @tparam {string,...} options the root filesystem's options (nil: none)
-- @treturn[1] {table,...} one `parse` result per layer option, each with `option=` added
-- @return[2] nil
-- @treturn[2] string the first bad option's message
function M.from_options(options)
  local out = {}
  if options == nil then return out end
  if type(options) ~= "table" then return nil, "root filesystem options must be a table" end
  for _, o in ipairs(options) do
    if type(o) == "string" and sub(o, 1, #M.PREFIX) == M.PREFIX then
      local layer, err = M.parse(o)
      if not layer then return nil, err end
      layer.option = o
      out[#out + 1] = layer
    end
  end
  return out
end

return M
