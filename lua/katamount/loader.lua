--- Finding, checking and loading rule files into a rule set.
--
-- Files load in name order from the bundled rules directory, then from each
-- operator directory in turn. A file whose name was already seen replaces
-- the earlier one: the earlier file is not loaded and the later one loads
-- in its own directory's turn (so operator files always run after the
-- bundled ones). Within the loaded files, a later definition of a param,
-- predicate or rule replaces an earlier one.
--
-- Each directory is read through descriptors (`core.read_rules_dir`): it is
-- opened once and every file is judged (owner, mode, type, size) on the
-- descriptor that is then read, so nothing can be swapped in between; a
-- symbolic link, a FIFO, a device or a file larger than KM_RULE_FILE_MAX
-- (1 MiB) is refused; hidden and editor files (`.*`, `*~`, `#*#`) are
-- skipped with a warning; a directory that changed while it was read is
-- read again (or the load fails), never loaded half old, half new.
--
-- An operator's rules directory, a directory above it (up to `/`, a sticky
-- directory owned by root allowed), or a rule file that is group- or
-- world-writable, or owned by anyone but root or the effective user, is
-- refused: the engine never runs rules that someone else could have
-- written. The bundled rules that ship beside the engine's own code are
-- read the same way but their owner and mode are not checked: whoever can
-- write them can write the engine itself (and a checkout made with umask
-- 002, or under a user's home and run as root, must still work).
-- @module katamount.loader
local core = require("katamount.core")

local M = {}

local ipairs, tonumber = ipairs, tonumber
local sub = string.sub
local debug_getinfo = debug.getinfo
local io_open = io.open
local read_rules_dir = core.read_rules_dir

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

--- The rule files to load, in load order, after same-name replacement,
-- each read whole through descriptors (see `core.read_rules_dir`).
-- @tparam {string,...} dirs the directories, bundled first
-- @tparam ?string bundled the bundled rules directory (among `dirs`): its
--   owner and mode (and those of the directories above it) are not checked
-- @treturn[1] {{name=,path=,text=},...}
-- @treturn[1] {{file=,what=,why=},...} warnings: the files left out and
--   why, and each file that replaces an earlier one of the same name
-- @return[2] nil, message naming the directory or file, errno
function M.files(dirs, bundled)
  local entries, index, warnings = {}, {}, {}
  for _, dir in ipairs(dirs) do
    local check = not (bundled ~= nil and dir == bundled)
    local files, warned, errno = read_rules_dir(dir, nil, check)
    if not files then return nil, warned, errno end
    for _, w in ipairs(warned) do warnings[#warnings + 1] = w end
    for _, f in ipairs(files) do
      local name = f.name
      local earlier = index[name] and entries[index[name]]
      if earlier then
        -- the bundled file this one stands in for (through any operator
        -- file between them): its rules are learnt, not defined (`shadow`)
        f.replaces = earlier.bundled and earlier or earlier.replaces
        entries[index[name]] = false
        warnings[#warnings + 1] = { file = f.path, what = "replaces",
          why = (earlier.bundled and "the bundled " or "the earlier ") .. earlier.path }
      end
      f.bundled = not check
      entries[#entries + 1] = f
      index[name] = #entries
    end
  end
  local out = {}
  for _, e in ipairs(entries) do
    if e then out[#out + 1] = e end
  end
  return out, warnings
end

-- Each file's text handed to `opts.compile(path, text)`, which compiles
-- and runs it inside the engine's rule state; then `opts.finish()`. A file
-- replacing a bundled one first hands that one to `opts.shadow(path, text,
-- by)`, so that the rule set knows which rules the replacement dropped.
local function load_all(files, opts)
  for _, f in ipairs(files) do
    if f.replaces and opts.shadow then
      local ok, serr = opts.shadow(f.replaces.path, f.replaces.text, f.path)
      if not ok then return nil, serr end
    end
    local ok, cerr = opts.compile(f.path, f.text)
    if not ok then return nil, cerr end
  end
  return opts.finish()
end

--- Build a whole rule set from directories.
-- @tparam table opts `dirs` (bundled first), `bundled` (the bundled
--   directory, its owner and mode not checked), `compile(path, text)`
--   (compiles and runs one file in the engine's rule state: `true` or
--   `nil, "file:line: ..."`), `finish()` (what the rule set is, once every
--   file ran), `shadow(path, text, by)` (learns the rules of a bundled
--   file that `by` replaces, defining nothing)
-- @return[1] what `finish` returns
-- @treturn[1] {{file=,what=,why=},...} warnings: the files left out and
--   why, and each file that replaces an earlier one of the same name
-- @return[2] nil, message (`file:line: ...` for a broken file)
function M.load(opts)
  local files, warnings = M.files(opts.dirs, opts.bundled)
  if not files then return nil, warnings end
  local rs, err = load_all(files, opts)
  if not rs then return nil, err end
  return rs, warnings
end

return M
