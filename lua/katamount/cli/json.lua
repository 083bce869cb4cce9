--- The JSON output form: one document, keys sorted (stable diffs), empty
-- lists as `[]`, short lists of scalars on one line.
--
-- Why not `cjson.encode`: lua-cjson 2.1 writes the bytes of a string that is
-- not UTF-8 as they are (a document no strict parser accepts), writes `/`
-- as `\/` and gives no key order. Input is decoded with lua-cjson.
--
-- Strings are never altered silently: valid UTF-8 is written as it is
-- (control characters, `"` and `\` escaped); each byte that is not part of
-- a valid UTF-8 sequence (a path is bytes) is written as the escape
-- `\udcXX`, XX the byte: a lone low surrogate, which no UTF-8 text can hold,
-- so the mapping is exact both ways (Python's `surrogateescape`:
-- `json.loads(doc)` then `s.encode("utf-8", "surrogateescape")` gives the
-- bytes back). `M.unescape_bytes` undoes it.
-- @module katamount.cli.json
local cjson = require("cjson")
local util = require("katamount.cli.util")

local M = {}

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t",
              ["\r"] = "\\r", ["\b"] = "\\b", ["\f"] = "\\f" }

local function escape_valid(s)
  return (s:gsub('[%c"\\]', function(c) return ESC[c] or ("\\u%04x"):format(c:byte()) end))
end

--- A JSON string for the bytes `s` (see the module's note on bytes that
-- are not UTF-8).
-- @tparam string s
-- @treturn string
function M.string(s)
  if utf8.len(s) then return '"' .. escape_valid(s) .. '"' end
  local out, i, n = {}, 1, #s
  while i <= n do
    local len, bad = utf8.len(s, i)
    if len then
      out[#out + 1] = escape_valid(s:sub(i))
      break
    end
    out[#out + 1] = escape_valid(s:sub(i, bad - 1))
    out[#out + 1] = ("\\udc%02x"):format(s:byte(bad))
    i = bad + 1
  end
  return '"' .. table.concat(out) .. '"'
end

--- Undo the `\udcXX` escape in a document's text, before `cjson.decode`
-- (which refuses a lone surrogate): each escape becomes its raw byte.
-- @tparam string text a JSON document from `M.encode`
-- @treturn string the text with the bytes back
function M.unescape_bytes(text)
  return (text:gsub("\\udc(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function encodable(v)
  local tv = type(v)
  return tv == "table" or tv == "string" or tv == "number" or tv == "boolean" or v == cjson.null
end

local function scalar(v)
  local tv = type(v)
  if v == nil or v == cjson.null then return "null"
  elseif tv == "boolean" then return tostring(v)
  elseif tv == "number" then
    if math.type(v) == "integer" then return ("%d"):format(v) end
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return ("%.17g"):format(v)
  elseif tv == "string" then return M.string(v)
  end
  return nil
end

local MAX_DEPTH = 64

--- Encode `v` pretty-printed with `indent` (nil: one line). Tables nested
-- deeper than MAX_DEPTH (64) or seen twice on a path become null.
-- @tparam any v plain data (strings, numbers, booleans, tables, cjson.null)
-- @tparam[opt] string indent
-- @tparam[opt=0] integer level the depth of `v` (the recursion's)
-- @tparam[opt] table seen the tables being encoded (the recursion's)
-- @treturn string
function M.encode(v, indent, level, seen)
  local s = scalar(v)
  if s then return s end
  if type(v) ~= "table" then return "null" end
  seen = seen or {}
  level = level or 0
  if seen[v] or level > MAX_DEPTH then return "null" end
  seen[v] = true
  local parts, flat = {}, true
  local array = util.is_array(v)
  if array then
    for i = 1, #v do
      local e = v[i]
      if type(e) == "table" then flat = false end
      parts[i] = M.encode(encodable(e) and e or nil, indent, level + 1, seen)
    end
  else
    local keys = {}
    for k, e in next, v do
      if type(k) == "string" and encodable(e) then keys[#keys + 1] = k end
    end
    table.sort(keys)
    for i, k in ipairs(keys) do
      local e = v[k]
      if type(e) == "table" then flat = false end
      parts[i] = M.string(k) .. (indent and ": " or ":") .. M.encode(e, indent, level + 1, seen)
    end
  end
  seen[v] = nil
  local open, close = "[", "]"
  if not array then open, close = "{", "}" end
  if #parts == 0 then return open .. close end
  local line = open .. table.concat(parts, ", ") .. close
  if not indent or (flat and #line <= 100) then
    return indent and line or (open .. table.concat(parts, ",") .. close)
  end
  local pad = string.rep(indent, level + 1)
  return open .. "\n" .. pad .. table.concat(parts, ",\n" .. pad) .. "\n" ..
    string.rep(indent, level) .. close
end

--- Print `doc` as one pretty-printed document on stdout.
-- @tparam table doc
function M.print(doc)
  util.emit(M.encode(doc, "  "), "\n")
end

--- A plain copy of a table's string-keyed, JSON-able fields.
-- @tparam table x
-- @treturn table
function M.plain(x)
  local o = {}
  for k, v in next, x do
    if type(k) == "string" and encodable(v) then o[k] = v end
  end
  return o
end

return M
