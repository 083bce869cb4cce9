--- The rule engine: one loaded rule set, its facts and its decisions.
--
-- `new{rules_path=}` builds an engine; every predicate, helper and decision
-- is a method (`e:classify(m)`, `e:is_secret(path)`). `require "katamount"`
-- wraps a default engine as plain functions.
-- @module katamount.engine
local core = require("katamount.core")
local loader = require("katamount.loader")
local facts = require("katamount.facts")
local layers = require("katamount.layers")
local decide = require("katamount.decide")

local M = {}

local type, error, ipairs, tostring, setmetatable, rawget =
  type, error, ipairs, tostring, setmetatable, rawget
local format, find, sub = string.format, string.find, string.sub
local io_open = io.open

--- Instructions allowed per rule call (and per rule file load) by default.
M.DEFAULT_BUDGET = 1000000
--- Bytes a rule state may hold by default (64 MiB; `new{memory=}`).
M.DEFAULT_MEMORY = 64 * 1024 * 1024
--- Seconds one decision (or predicate call, or rule file load) may run by
-- default (`new{deadline=}`).
M.DEFAULT_DEADLINE = 2
--- Seconds one plan may run by default (`new{plan_deadline=}`).
M.DEFAULT_PLAN_DEADLINE = 10

-- The engine's code that runs inside each rule state, in load order.
local INSIDE = { "facts", "sandbox", "names", "ruleset" }
local inside_texts = nil

-- The texts of the modules of INSIDE, read once from beside this file.
local function inside()
  if inside_texts ~= nil then return inside_texts end
  local src = debug.getinfo(1, "S").source
  local dir = sub(src, 1, 1) == "@" and sub(src, 2):match("^(.*)/[^/]*$") or "."
  local texts = {}
  for i, name in ipairs(INSIDE) do
    local path = dir .. "/" .. name .. ".lua"
    local f, err = io_open(path, "rb")
    if not f then return nil, "engine module " .. tostring(err) end
    local text = f:read("a")
    f:close()
    if text == nil then return nil, "engine module '" .. path .. "': cannot read" end
    texts[i] = { "katamount." .. name, text }
  end
  inside_texts = texts
  return texts
end

-- A fresh rule state with the engine's own code loaded and configured.
local function new_state(self)
  local texts, terr = inside()
  if not texts then return nil, terr end
  local st, err = core.rule_state({ memory = self.memory, budget = self.budget,
    deadline = self.deadline, plan_deadline = self.plan_deadline })
  if not st then return nil, err end
  for _, t in ipairs(texts) do
    local ok, lerr = st:load(t[1], t[2])
    if not ok then
      st:close()
      return nil, lerr
    end
  end
  local lookup, cerr = st:call("configure", { mountinfo = self.mountinfo, _spy = self._spy })
  if not lookup then
    st:close()
    return nil, cerr
  end
  return st
end

--- The predicates every engine offers as methods (defined in rule files).
M.PREDICATES = {
  "is_system_mount", "is_host_device", "is_docker_volume", "is_empty_dir", "is_config_map",
  "is_secret", "is_projected", "is_downward_api", "is_hugepage_empty_dir",
  "is_ephemeral_storage", "is_host_empty_dir", "is_watchable_mount", "is_block_device",
  "is_device_mapper", "has_option", "has_option_prefix", "shared_fs_kind", "emptydir_mode_of",
  "page_bytes", "hugepage_size", "hugepage_limit", "agent_watch_limit", "unwatched_reason",
  "is_kubelet_config_volume",
}

--- The helpers and decisions every engine offers as methods.
M.FUNCTIONS = {
  "device_for_path", "count_files", "mount_entry", "eval_mount_path", "layers",
  "classify", "plan", "reload", "rules", "params", "param_info", "set_params", "param_sources", "warnings",
  "call",
}

local Engine = {}
local callers = {}

-- A method calling predicate `name` (made once per name).
local function caller(name)
  local f = callers[name]
  if f == nil then
    f = function(self, ...) return self:call(name, ...) end
    callers[name] = f
  end
  return f
end

local Engine_mt = {
  __index = function(self, k)
    local v = Engine[k]
    if v ~= nil then return v end
    local rs = rawget(self, "ruleset")
    if type(k) == "string" and rs ~= nil and rs.predicates[k] ~= nil then return caller(k) end
    return nil
  end,
  __name = "katamount.engine",
}

for _, name in ipairs(M.PREDICATES) do Engine[name] = caller(name) end

-- rules_path as a list of directories (a string is `:`-separated).
local function split_path(path)
  local dirs = {}
  if path == nil then return dirs end
  if type(path) == "string" then
    local pos = 1
    while pos <= #path + 1 do
      local colon = find(path, ":", pos, true) or (#path + 1)
      local dir = sub(path, pos, colon - 1)
      if dir ~= "" then dirs[#dirs + 1] = dir end
      pos = colon + 1
    end
    return dirs
  end
  if type(path) ~= "table" then return nil, "rules_path must be a list or a string, got " .. type(path) end
  for i, dir in ipairs(path) do
    if type(dir) ~= "string" then
      return nil, format("rules_path[%d] must be a string, got %s", i, type(dir))
    end
    if dir ~= "" then dirs[#dirs + 1] = dir end
  end
  return dirs
end

--- Make an engine.
-- @tparam[opt] table opts
--   `rules_path`: directories of operator rules (a list, or a `:`-separated
--   string) loaded after the bundled ones; it replaces `KATAMOUNT_RULES_PATH`.
--   `budget`: instructions allowed per rule call (default 1,000,000).
--   `memory`: bytes the engine's rule state may hold (default 64 MiB, at
--   least 2 MiB): a rule that needs more fails its decision with "memory
--   limit", a rule file that does fails the load.
--   `deadline`: seconds one decision, predicate call or rule file load may
--   run (default 2); `plan_deadline`: seconds one plan may run (default 10).
--   `mountinfo`: a mount table file to read mount entries from (read once,
--   re-read only when it changed); without it each path is asked of the
--   kernel (statmount), or `/proc/self/mountinfo` is read where statmount
--   cannot answer (`e.helpers.mount_lookup` says which).
--   `bundled = false` loads no bundled rules.
-- @treturn[1] table the engine
-- @return[2] nil, message (`file:line: ...` when a rule file is broken)
function M.new(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
  end
  opts = opts or {}
  local path = opts.rules_path
  if path == nil then path = os.getenv("KATAMOUNT_RULES_PATH") end
  local dirs, err = split_path(path)
  if not dirs then return nil, err end
  local budget = opts.budget or M.DEFAULT_BUDGET
  if math.type(budget) ~= "integer" or budget < 1 then
    return nil, "budget must be a positive integer, got " .. tostring(budget)
  end
  local memory = opts.memory or M.DEFAULT_MEMORY
  if math.type(memory) ~= "integer" or memory < 2 * 1024 * 1024 then
    return nil, "memory must be an integer of at least 2 MiB (2097152), got " .. tostring(memory)
  end
  for _, k in ipairs({ "deadline", "plan_deadline" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0 or v > 86400) then
      return nil, k .. " must be a number of seconds in (0, 86400], got " .. tostring(v)
    end
  end
  if opts.mountinfo ~= nil and type(opts.mountinfo) ~= "string" then
    return nil, "mountinfo must be a string, got " .. type(opts.mountinfo)
  end
  local bundled
  if opts.bundled ~= false then
    local berr
    bundled, berr = loader.bundled_dir()
    if not bundled then return nil, berr end
    table.insert(dirs, 1, bundled)
  end
  local state = { memo = nil, mtab = nil }
  local self = setmetatable({
    dirs = dirs, bundled = bundled, budget = budget, memory = memory,
    deadline = opts.deadline or M.DEFAULT_DEADLINE,
    plan_deadline = opts.plan_deadline or M.DEFAULT_PLAN_DEADLINE,
    mountinfo = opts.mountinfo, _spy = opts._spy == true, state = state, euid = loader.euid(),
    helpers = facts.new(state, core, opts.mountinfo),
  }, Engine_mt)
  local ok, rerr = self:reload()
  if not ok then return nil, rerr end
  return self
end

-- What the rule set is once every file ran: its files, then each of its
-- lists asked alone, element by element (st:call_each: no list of a large
-- rule set is bounded by one crossing); the predicates as a set.
local FINISHED_PARTS = { "rules", "translations", "predicates", "warnings" }
local function finished(st)
  local rs, err = st:call("finish")
  if not rs then return nil, err end
  for _, part in ipairs(FINISHED_PARTS) do
    local list, lerr = st:call_each("finished", part)
    if not list then return nil, lerr end
    for i, v in ipairs(list) do
      if type(v) == "table" and v.error ~= nil then
        return nil, format("the rule set's %s, entry %d: %s", part, i, tostring(v.error))
      end
    end
    rs[part] = list
  end
  local set = {}
  for _, name in ipairs(rs.predicates) do set[name] = true end
  rs.predicates = set
  return rs
end

--- Read the rules again. Builds a whole new rule set in a new rule state
-- and swaps it in only when every file loaded; otherwise the engine keeps
-- the rules (and the state) it had.
-- The files left out (hidden or editor files) and those that replace an
-- earlier one are in `e:warnings()`.
-- @treturn[1] boolean true
-- @return[2] nil, message (`<file>:<line>: <message>` for a broken file, or
--   a refused directory or file: see `katamount.loader`)
function Engine:reload()
  local st, serr = new_state(self)
  if not st then return nil, serr end
  -- the rule set and the loader's warnings, or nil and the message
  local rs, warnings = loader.load({ dirs = self.dirs, bundled = self.bundled,
    compile = function(path, text)
      local ok, cerr = st:call("load_file", path, text)
      if ok then return true end
      cerr = tostring(cerr)
      if sub(cerr, 1, #path + 1) ~= path .. ":" then cerr = path .. ": " .. cerr end
      return nil, cerr
    end,
    shadow = function(path, text, by) return st:call("shadow_file", path, text, by) end,
    finish = function() return finished(st) end,
  })
  if not rs then
    st:close()
    return nil, warnings
  end
  -- the loader's warnings (files left out or replacing others), then the
  -- rule set's (undeclared params, unknown classes, rules gone or disabled)
  for _, w in ipairs(rs.warnings or {}) do warnings[#warnings + 1] = w end
  rs.warnings = warnings
  -- the one param the host reads itself (mountInfo.json is read outside the
  -- rules), asked alone: the others may be larger than a crossing
  local root, perr = st:call("param", "direct_volumes_root")
  if perr ~= nil then
    st:close()
    return nil, perr
  end
  local old = self.rstate
  self.rstate, self.ruleset = st, rs
  self.direct_volumes_root = root
  if old ~= nil then old:close() end
  return true
end

--- The loaded rules in evaluation order (mount rules, then rootfs rules).
-- @treturn {table,...} `{name=, order=, scope=, class=, action=, file=, line=, why=, needs=}`
--   each (`needs`: what a mount must have for the rule to be tried, when it says)
function Engine:rules()
  local out = {}
  for i, r in ipairs(self.ruleset.rules) do
    out[i] = { name = r.name, order = r.order, scope = r.scope, class = r.class,
      action = r.action, file = r.file, line = r.line, why = r.why, needs = r.needs }
  end
  return out
end

--- The translations of the loaded rules (`guest {...}`, the guest side of
-- a decision), sorted by name; `action` is nil for one that covers every
-- action of its class.
-- @treturn {table,...} `{name = "class/action", class=, action=, file=, line=}` each
function Engine:translations()
  local out = {}
  for i, g in ipairs(self.ruleset.translations or {}) do
    out[i] = { name = g.name, class = g.class, action = g.action, file = g.file, line = g.line }
  end
  return out
end

--- The params the rules set (plain copies out of the rule state: no
-- function, metatable or metamethod of a rule reaches the caller). They
-- cross in one call; when that is past the boundary's bounds (one param of
-- more than 200,000 entries, say), each crosses alone, and a param still
-- too large is left out of the first table and named in the second.
-- @treturn[1] table `{name = value}`
-- @treturn[1] ?table `{name = message}`: the params left out, each with
--   why it could not cross (nil when none was)
-- @return[2] nil, message
function Engine:params()
  local all, err = self.rstate:call("params")
  if all ~= nil or type(err) ~= "string" or not err:find("^rule boundary: ") then return all, err end
  local names, nerr = self.rstate:call("param_names")
  if names == nil then return nil, nerr end
  local out, left_out = {}, {}
  for _, name in ipairs(names) do
    local v, verr = self.rstate:call("param", name)
    if v == nil then left_out[name] = verr or "no value" else out[name] = v end
  end
  return out, left_out
end

--- What the load noticed in the rule set (a copy), in the Prosody style
-- `{file=, line=, what=, why=}` (`line` 0 when it is the whole file): each
-- file left out (`what = "skipped"`, `why = "an editor lock file"`), each
-- file replacing an earlier one (`what = "replaces"`, `why = "the bundled
-- /.../rules/70-watchable.lua"`), each assignment of an undeclared param
-- (with the closest declared name), each rule naming an unknown class or
-- action, each rule disabled (`why` its reason), the rules of a replaced
-- bundled file that are gone.
-- @treturn {table,...}
function Engine:warnings()
  local out = {}
  for i, w in ipairs(self.ruleset.warnings or {}) do
    out[i] = { file = w.file, line = w.line or 0, what = w.what, why = w.why }
  end
  return out
end

--- Set declared params of the loaded rules (checked by their declared
-- type, all or nothing), as if a last rule file set them; `param_sources`
-- names `origin` for them. A reload starts from the files again.
-- @tparam table values `{name = value}`
-- @tparam[opt] string origin default `"set_params"`
-- @treturn[1] boolean true
-- @return[2] nil, message
function Engine:set_params(values, origin)
  if type(values) ~= "table" then
    error("bad argument #1 to 'set_params' (table expected, got " .. type(values) .. ")", 2)
  end
  return self.rstate:call("set_params", values, origin or "set_params")
end

--- The params the rule files declared (`param {...}`), each
-- `{type=, default=, doc=, values=, min=, max=, file=, line=}`: what `--set` parses
-- values by, and what `docs/rules.md` lists.
-- @treturn[1] table `{name = declaration}`
-- @return[2] nil, message
function Engine:param_info()
  return self.rstate:call("param_info")
end

--- Where each param was last set: `{name = "file:line"}` (a copy).
-- @treturn table
function Engine:param_sources()
  return self.rstate:call("param_sources")
end

local function answered(ok, ...)
  if ok then return ... end
  return nil, (...)
end

--- Call the predicate `name` of the rule set in the rule state, under the
-- budget; its answers come back as plain copies.
-- @tparam string name
-- @return what the predicate returns, or nil, message when it raised or is not defined
function Engine:call(name, ...)
  if self.ruleset.predicates[name] == nil then
    return nil, "predicate '" .. tostring(name) .. "' is not defined"
  end
  return answered(self.rstate:call("call", name, ...))
end

--- Counts of the core calls rules made since the last call, by
-- `"name arg ..."` (an engine made with `_spy = true`; tests).
-- @treturn table
function Engine:_spied()
  return self.rstate:call("spied")
end

--- The device holding `path` and its mount point; host devices (under
-- `/dev`, not regular files) report their own rdev and mount point `""`.
-- @tparam string path
-- @treturn[1] table `{major=, minor=, mount_point=}`
-- @return[2] nil, message, errno
function Engine:device_for_path(path)
  return self.helpers.device_for_path(path)
end

--- Files below `path`, at most `limit` (`-1` once past it).
-- @tparam string path
-- @tparam integer limit
-- @treturn[1] integer
-- @return[2] nil, message, errno
function Engine:count_files(path, limit)
  return self.helpers.count_files(path, limit)
end

--- The visible mount entry of mount point `path`: asked of the kernel per
-- path (statmount) when the engine was made without `mountinfo`, else from
-- the engine's mount table (re-read only when the mount table changed).
-- @tparam string path
-- @treturn[1] table the entry (see `core.mount_entry`)
-- @return[2] nil, message, errno (22 when `path` is not a mount point)
function Engine:mount_entry(path)
  return self.helpers.mount_entry(path)
end

--- Resolve a mount source and make its destination exist (the seed's
-- evalMountPath): `abs_source, destination`.
-- @function Engine:eval_mount_path
-- @tparam string source
-- @tparam string destination
-- @treturn[1] string the source with symlinks resolved
-- @treturn[1] string the destination
-- @return[2] nil, message, errno
function Engine.eval_mount_path(_, source, destination)
  if type(source) ~= "string" or source == "" then return nil, "source must be specified", 22 end
  if type(destination) ~= "string" or destination == "" then
    return nil, "destination must be specified", 22
  end
  local abs, err, errno = core.realpath(source)
  if not abs then
    return nil, "could not resolve symlinks of source '" .. source .. "': " .. tostring(err), errno
  end
  local ok, derr, derrno = core.ensure_destination(abs, destination)
  if not ok then
    return nil, "could not create destination mount point '" .. destination .. "': " .. tostring(derr),
      derrno
  end
  return abs, destination
end

--- The layer mounts of a kata overlay root filesystem: the container mounts
-- kata's shim makes of its `io.katacontainers.fs-opt.layer=` options.
-- @function Engine:layers
-- @tparam {string,...} rootfs_options
-- @treturn[1] {table,...} `{source=, destination=, type=, options=, option=}` each
-- @return[2] nil, message naming the bad option
function Engine.layers(_, rootfs_options)
  return layers.from_options(rootfs_options)
end

--- Decide one OCI mount; see `katamount.decide.classify`.
-- @tparam table mount `{source=, destination=, type=, options={}}`
-- @tparam[opt] table ctx
-- @treturn[1] table decision
-- @return[2] nil, message
function Engine:classify(mount, ctx)
  return decide.classify(self, mount, ctx)
end

--- Decide a whole OCI spec; see `katamount.decide.plan`.
-- @tparam table spec
-- @tparam[opt] table ctx
-- @treturn table `{mounts=, rootfs=, layers=}`
-- @treturn {string,...} errors
function Engine:plan(spec, ctx)
  return decide.plan(self, spec, ctx)
end

M.Engine = Engine
return M
