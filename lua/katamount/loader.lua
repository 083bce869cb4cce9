--- Finding, checking and loading rule files into a rule set.
--
-- Files load in name order from the bundled rules directory, then from each
-- operator directory in turn. A file whose name was already seen replaces
-- the earlier one: the earlier file is not loaded and the later one loads
-- in its own directory's turn (so operator files always run after the
-- bundled ones). Within the loaded files, a later definition of a param,
-- predicate or rule replaces an earlier one.
--
-- An operator's rules directory or file that is group- or world-writable,
-- or owned by anyone but root or the effective user, is refused: the engine
-- never runs rules that someone else could have written. The bundled rules
-- that ship beside the engine's own code are not checked: whoever can write
-- them can write the engine itself (and a checkout made with umask 002 must
-- still work).
-- @module katamount.loader
local core = require("katamount.core")

local M = {}

local ipairs, tostring, tonumber = ipairs, tostring, tonumber
local format, sub = string.format, string.sub
local debug_getinfo = debug.getinfo
local io_open = io.open

-- mode bits: group write, other write
local GROUP_OR_OTHER_WRITE = 18 -- 0o022

--- The effective uid of this process (from /proc/self/status; 0 if unreadable).
-- @treturn integer
function M.euid()
  local f = io_open("/proc/self/status", "r")
  if not f then return 0 end
  local status = f:read("a")
  f:close()
  local euid = status:match("\nUid:%s*%d+%s+(%d+)")
  return tonumber(euid) or 0
end

-- This file's directory, absolute.
local function own_dir()
  local src = debug_getinfo(1, "S").source
  local path = sub(src, 1, 1) == "@" and sub(src, 2) or "."
  local slash = 0
  for i = #path, 1, -1 do
    if sub(path, i, i) == "/" then slash = i break end
  end
  local dir = slash > 0 and sub(path, 1, slash - 1) or "."
  if dir == "" then dir = "/" end
  return dir
end

--- The bundled rules directory, found relative to the engine's own file:
-- `katamount/rules/` beside the installed modules, else `rules/` at the
-- root of a source checkout (`lua/katamount/../../rules`).
-- @treturn[1] string its absolute path
-- @return[2] nil, message
function M.bundled_dir()
  local dir = own_dir()
  local tried = {}
  for _, candidate in ipairs({ dir .. "/rules", dir .. "/../../rules" }) do
    local real = core.realpath(candidate)
    if real then
      local st = core.stat(real)
      if st and st.type == "directory" then return real end
    end
    tried[#tried + 1] = candidate
  end
  return nil, "bundled rules not found (looked in " .. table.concat(tried, ", ") .. ")"
end

-- Refuse what someone other than root or us could have written.
local function check_trust(what, path, st, euid)
  if st.uid ~= 0 and st.uid ~= euid then
    return nil, format("%s '%s' is owned by uid %d (only root or uid %d may own rules): refused",
      what, path, st.uid, euid)
  end
  if st.mode & GROUP_OR_OTHER_WRITE ~= 0 then
    return nil, format("%s '%s' is group- or world-writable (mode %o): refused", what, path,
      st.mode & 4095)
  end
  return true
end

--- The rule files to load, in load order, after same-name replacement.
-- @tparam {string,...} dirs the directories, bundled first
-- @tparam integer euid
-- @tparam ?string bundled the bundled rules directory (among `dirs`): it and
--   its files are not checked for owner and mode
-- @treturn[1] {{name=,path=,trusted=},...}
-- @return[2] nil, message naming the directory
function M.files(dirs, euid, bundled)
  local entries, index = {}, {}
  for _, dir in ipairs(dirs) do
    local st, err = core.stat(dir)
    if not st then return nil, "rules directory '" .. dir .. "': " .. tostring(err) end
    if st.type ~= "directory" then return nil, "rules directory '" .. dir .. "': not a directory" end
    local trusted = bundled ~= nil and dir == bundled
    if not trusted then
      local ok, terr = check_trust("rules directory", dir, st, euid)
      if not ok then return nil, terr end
    end
    local names, lerr = core.list_dir(dir)
    if not names then return nil, "rules directory '" .. dir .. "': " .. tostring(lerr) end
    for _, name in ipairs(names) do
      if sub(name, -4) == ".lua" and sub(name, 1, 1) ~= "." then
        if index[name] then entries[index[name]] = false end
        entries[#entries + 1] = { name = name, path = (dir == "/" and "" or dir) .. "/" .. name,
          trusted = trusted }
        index[name] = #entries
      end
    end
  end
  local out = {}
  for _, e in ipairs(entries) do
    if e then out[#out + 1] = e end
  end
  return out
end

-- Each file read and handed to `opts.compile(path, text)`, which compiles
-- and runs it inside the engine's rule state; then `opts.finish()`.
local function load_all(files, opts)
  for _, f in ipairs(files) do
    local st, err = core.stat(f.path)
    if not st then return nil, "rules file '" .. f.path .. "': " .. tostring(err) end
    if st.type ~= "file" then return nil, "rules file '" .. f.path .. "': not a regular file" end
    if not f.trusted then
      local ok, terr = check_trust("rules file", f.path, st, opts.euid)
      if not ok then return nil, terr end
    end
    local fh, oerr = io_open(f.path, "rb")
    if not fh then return nil, "rules file " .. tostring(oerr) end
    local src = fh:read("a")
    fh:close()
    if src == nil then return nil, "rules file '" .. f.path .. "': cannot read" end
    local ok, cerr = opts.compile(f.path, src)
    if not ok then return nil, cerr end
  end
  return opts.finish()
end

--- Build a whole rule set from directories.
-- @tparam table opts `dirs` (bundled first), `euid`, `bundled` (the bundled
--   directory, not checked), `compile(path, text)` (compiles and runs one
--   file in the engine's rule state: `true` or `nil, "file:line: ..."`),
--   `finish()` (what the rule set is, once every file ran)
-- @return what `finish` returns
-- @return[2] nil, message (`file:line: ...` for a broken file)
function M.load(opts)
  local files, err = M.files(opts.dirs, opts.euid, opts.bundled)
  if not files then return nil, err end
  return load_all(files, opts)
end

return M
