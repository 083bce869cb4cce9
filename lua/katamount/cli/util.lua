--- What the command's modules share: failing with one line, writing the
-- output, the core, file names for people, plain-data checks.
-- @module katamount.cli.util
local M = {}

--- The metatable of a failure raised by `fail` (main prints its message).
M.Failure = {}

--- A message on one line: each control character (a newline too, so that
-- no input can forge a line or a terminal sequence) shown as \xNN.
-- @tparam any msg
-- @treturn string
function M.one_line(msg)
  return (tostring(msg):gsub("%c", function(c) return ("\\x%02x"):format(c:byte()) end))
end

--- Fail the command: main prints "katamount: MSG" and exits with `code`.
-- @tparam integer code the exit status
-- @tparam string msg
function M.fail(code, msg)
  error(setmetatable({ code = code, msg = M.one_line(msg) }, M.Failure), 0)
end

--- Write to stdout; a failed write (closed stdout, a full disk, a broken
-- pipe) fails the command at once.
function M.emit(...)
  local ok, err = io.stdout:write(...)
  if not ok then M.fail(2, "cannot write the output: " .. tostring(err)) end
end

--- A warning on stderr: "katamount: warning: MSG", on one line.
-- @tparam string msg
function M.warn(msg)
  io.stderr:write("katamount: warning: ", M.one_line(msg), "\n")
end

local core_cache

--- The C core, or `{load_error = message}` when it does not load.
-- @treturn table
function M.core()
  if core_cache == nil then
    local ok, c = pcall(require, "katamount.core")
    core_cache = ok and c or { load_error = c }
  end
  return core_cache
end

--- The C core, failing the command when it does not load.
-- @treturn table
function M.need_core()
  local c = M.core()
  if c.load_error then M.fail(2, "the katamount core did not load: " .. tostring(c.load_error)) end
  return c
end

--- The version: the core's `KM_VERSION` (c/katamount.h), the rock's too.
-- @treturn string
function M.version()
  local c = M.core()
  return c._VERSION or "unknown"
end

--- True when `t` is a sequence (an empty table is one).
function M.is_array(t)
  local n = #t
  if n == 0 then return next(t) == nil end
  local count = 0
  for _ in next, t do count = count + 1 end
  return count == n
end

--- True when `v` is a JSON object as cjson decodes one.
function M.is_object(v)
  return type(v) == "table" and (next(v) == nil or not M.is_array(v))
end

--- "an array", "an object", "null", "a string"... for messages.
function M.describe(v)
  local null = require("cjson").null
  if v == null then return "null" end
  if type(v) == "table" then return M.is_array(v) and next(v) ~= nil and "an array" or "an object" end
  return "a " .. type(v)
end

--- The file type of `path` ("directory", "regular", ...), or nil, message, errno.
function M.file_type(path)
  local st, err, errno = M.need_core().stat(path)
  if not st then return nil, err, errno end
  return st.type
end

local cwd_prefix

--- A file name for people: relative to the current directory when below it.
-- @tparam string path
-- @treturn string
function M.display_path(path)
  if type(path) ~= "string" then return path end
  if cwd_prefix == nil then
    local c = M.core()
    local cwd = c.realpath and c.realpath(".") or os.getenv("PWD")
    cwd_prefix = cwd and cwd ~= "/" and (cwd .. "/") or false
  end
  if cwd_prefix and path:sub(1, #cwd_prefix) == cwd_prefix then return path:sub(#cwd_prefix + 1) end
  return path
end

--- A table cell: "-" for nothing, control characters and the bytes of a
-- name that is not UTF-8 shown as \xNN, so that no path can break the table.
-- @tparam any v
-- @treturn string
function M.cell(v)
  if v == nil or v == "" or v == require("cjson").null then return "-" end
  if type(v) == "table" then
    if #v == 0 then return "-" end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = M.cell(x) end
    return table.concat(parts, ",")
  end
  local s = tostring(v):gsub("%c", function(c) return ("\\x%02x"):format(c:byte()) end)
  if not utf8.len(s) then
    s = s:gsub("[\128-\255]", function(c) return ("\\x%02x"):format(c:byte()) end)
  end
  return s
end

--- "file:line" of a rule or param (relative to the current directory).
function M.where(t)
  if t.file and t.line then return M.display_path(t.file) .. ":" .. tostring(t.line) end
  return M.cell(M.display_path(t.file))
end

--- The directory of `path` ("." for a bare name, "/" for a file at the root).
function M.dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  return d == "" and "/" or d
end

--- `path` made absolute against the directory `base` (itself resolved),
-- cleaned; absolute paths are only cleaned.
-- @tparam string path
-- @tparam string base
-- @treturn string
function M.absolute(path, base)
  local c = M.need_core()
  if path:sub(1, 1) == "/" then return c.clean(path) or path end
  local abs = c.realpath(base)
  if not abs then
    local pwd = c.realpath(".") or os.getenv("PWD") or "/"
    abs = base:sub(1, 1) == "/" and base or (pwd .. "/" .. base)
  end
  return c.clean(abs .. "/" .. path) or (abs .. "/" .. path)
end

return M
