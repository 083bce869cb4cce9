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
local sandbox = require("katamount.sandbox")

local M = {}

local type, error, pairs, ipairs, tostring, tonumber = type, error, pairs, ipairs, tostring, tonumber
local setmetatable, next = setmetatable, next
local load = load
local math_type = math.type
local sub, find = string.sub, string.find
local sort = table.sort
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

local function where()
  -- level 1: this function, 2: predicate()/rule(), 3: the rule file
  local info = debug_getinfo(3, "Sl")
  if info == nil then return "?", 0 end
  local file = sub(info.source, 1, 1) == "@" and sub(info.source, 2) or info.short_src
  return file, info.currentline
end

local SCOPES = { mount = true, rootfs = true }

-- The rule API bound to one rule set under construction.
local function api(rs)
  local function predicate(name, fn)
    if not rs.loading then error("predicate: rules are defined only while their file loads", 2) end
    if type(name) ~= "string" or not find(name, "^[%a_][%w_]*$") then
      error("predicate: the name must be an identifier, got " .. tostring(name), 2)
    end
    if type(fn) ~= "function" then
      error("predicate '" .. name .. "': expects a function, got " .. type(fn), 2)
    end
    local file, line = where()
    rs.predicates[name] = fn
    rs.predicate_info[name] = { file = file, line = line, chunk = "@" .. file }
  end

  local function rule(spec)
    if not rs.loading then error("rule: rules are defined only while their file loads", 2) end
    if type(spec) ~= "table" then
      error("rule: expects a table { name = ..., order = ..., when = ..., class = ..., action = ... }", 2)
    end
    local name = spec.name
    if type(name) ~= "string" or name == "" then
      error("rule: name must be a non-empty string, got " .. tostring(name), 2)
    end
    if spec.disabled == true then
      rs.rules[name] = nil
      return
    end
    local order, scope, when = spec.order, spec.scope or "mount", spec.when
    if math_type(order) == nil or order ~= order then
      error("rule '" .. name .. "': order must be a number", 2)
    end
    if type(scope) ~= "string" or not SCOPES[scope] then
      error("rule '" .. name .. "': scope must be \"mount\" or \"rootfs\", got " .. tostring(scope), 2)
    end
    if type(when) ~= "function" then
      error("rule '" .. name .. "': when must be a function", 2)
    end
    for _, field in ipairs({ "class", "action" }) do
      local v = spec[field]
      if type(v) ~= "string" or v == "" then
        error("rule '" .. name .. "': " .. field .. " must be a non-empty string", 2)
      end
    end
    if spec.why ~= nil and type(spec.why) ~= "string" then
      error("rule '" .. name .. "': why must be a string", 2)
    end
    local file, line = where()
    rs.rules[name] = {
      name = name, order = order, scope = scope, when = when, class = spec.class,
      action = spec.action, why = spec.why, file = file, line = line, chunk = "@" .. file,
    }
  end

  return predicate, rule
end

local function by_order(a, b)
  if a.order ~= b.order then return a.order < b.order end
  return a.name < b.name
end

-- Compile one file's text in a fresh sandbox environment and run it under
-- the budget (it defines params, predicates and rules into `rs`).
local function run_file(f, opts, rs, predicate, rule)
  local env = sandbox.env({
    params = rs.params_view, predicate = predicate, rule = rule, core = opts.helpers.core,
    mount_entry = opts.helpers.mount_entry, device_for_path = opts.helpers.device_for_path,
    count_files = opts.helpers.count_files,
  }, rs.predicates)
  local chunk, lerr = load(f.text, "@" .. f.path, "t", env)
  if not chunk then return nil, lerr end
  return sandbox.call(opts.budget, "@" .. f.path, chunk)
end

local function load_all(files, opts, rs)
  local predicate, rule = api(rs)
  rs.loading = true
  for _, f in ipairs(files) do
    local ok, err = run_file(f, opts, rs, predicate, rule)
    if not ok then return nil, err end
    rs.files[#rs.files + 1] = f.path
  end
  rs.loading = false
  for _, r in pairs(rs.rules) do
    local list = r.scope == "rootfs" and rs.rootfs_rules or rs.mount_rules
    list[#list + 1] = r
  end
  sort(rs.mount_rules, by_order)
  sort(rs.rootfs_rules, by_order)
  return rs
end

--- Build a whole rule set from directories.
-- @tparam table opts `dirs` (bundled first), `budget`, `helpers`
--   (from `katamount.facts`), `bundled` (the bundled directory, its owner
--   and mode not checked)
-- @treturn[1] table the rule set `{params=, predicates=, predicate_info=,
--   rules=, mount_rules=, rootfs_rules=, files=, warnings=}` (`warnings`:
--   `{file=, what=, why=}` for each file left out)
-- @return[2] nil, message (`file:line: ...` for a broken file)
function M.load(opts)
  local files, warnings = M.files(opts.dirs, opts.bundled)
  if not files then return nil, warnings end
  local rs = { params = {}, predicates = {}, predicate_info = {}, rules = {},
    mount_rules = {}, rootfs_rules = {}, files = {}, warnings = warnings }
  -- ctx as rules see it: the caller's settings over these params
  rs.ctx_mt = { __index = rs.params, __metatable = false }
  -- what rule files see as `params`: reads go to rs.params, and each
  -- assignment records its file:line (`katamount rules` shows where a
  -- param was set)
  rs.param_where = {}
  rs.params_view = setmetatable({}, {
    __index = rs.params,
    __newindex = function(_, k, v)
      local file, line = where()
      rs.param_where[k] = file .. ":" .. line
      rs.params[k] = v
    end,
    __pairs = function() return next, rs.params, nil end,
    __len = function() return #rs.params end,
    __metatable = false,
  })
  return sandbox.session(load_all, files, opts, rs)
end

return M
