--- One engine's rule set, inside its rule state (c/rulestate.c).
--
-- The engine's own (trusted) code, loaded into the rule state by
-- `katamount.engine`: the rule API (`params`, `predicate`, `rule`), the
-- loading of rule files (their text crosses in, they are compiled and run
-- here), the memoised facts and the decisions. The host calls the entries
-- exported at the end (`st:call(name, ...)`) with plain data and gets plain
-- data back: decisions, reasons, traces, predicate answers, param values.
-- @module katamount.ruleset
local rt = require("katamount.runtime")
local core = require("katamount.core")
local facts = require("katamount.facts")
local sandbox = require("katamount.sandbox")
local closest_name = require("katamount.names").closest

local type, error, pairs, ipairs, tostring, tonumber, next = type, error, pairs, ipairs, tostring,
  tonumber, next
local setmetatable, rawget, rawset, rawlen, load = setmetatable, rawget, rawset, rawlen, load
local math_type = math.type
local has_option = core.has_option
local format, sub, find, gsub = string.format, string.sub, string.find, string.gsub
local concat, sort, pack, unpack = table.concat, table.sort, table.pack, table.unpack
local debug_getinfo = debug.getinfo

local E = {}

-- The facts' state: the memo of the running plan/decision (a table sized
-- for the facts a call asks, runtime.memo), the mount table.
local state = { memo = nil, mtab = nil }
local new_memo = rt.memo
local helpers = nil

local rs = { params = {}, param_where = {}, predicates = {}, predicate_info = {}, rules = {},
  mount_rules = {}, rootfs_rules = {}, files = {}, loading = false,
  -- the environments of the files loaded (predicates copied in by finish)
  envs = {},
  -- param declarations `{name=, type=, default=, doc=, values=, file=, line=}`,
  -- the places undeclared params were set, rules disabled by `disable`, the
  -- classes and actions rule files declared, what the load noticed
  declared = {}, undeclared = {}, disabled = {}, classes = {}, actions = {}, warnings = {},
  -- the rules of each bundled file a rules directory replaced (`shadow_file`)
  replaced = {},
  -- the guest-side translations, keyed "class/action" or "class/*" (`guest`)
  guests = {},
  -- the same, by class and then by action or "*"
  guest_of = {} }

-- A name no rule file defined: an error where it is read (a misspelled
-- predicate fails the rule that calls it, naming it), never a silent nil.
setmetatable(rs.predicates, { __index = function(_, k)
  error(format("'%s' is not defined (no predicate, helper or library has that name)", tostring(k)), 2)
end, __metatable = false })
-- ctx as rules see it: the caller's settings over these params
rs.ctx_mt = { __index = rs.params, __metatable = false }

-- what rule files see as `params`: reads go to rs.params, each assignment
-- (while its file loads) records its file:line; iterating never hands out
-- rs.params itself. Once the files are loaded, params are read-only: a rule
-- cannot change what another rule, mount or plan sees (`finish` freezes
-- their tables).
local params_view
do
  local function where_set()
    local info = debug_getinfo(3, "Sl")
    if info == nil then return "?:0" end
    local file = sub(info.source, 1, 1) == "@" and sub(info.source, 2) or info.short_src
    return file .. ":" .. info.currentline
  end
  local params = rs.params
  local function params_next(_, k) return next(params, k) end
  params_view = setmetatable({}, {
    __index = params,
    __newindex = function(_, k, v)
      if not rs.loading then
        error(format("params are read-only while rules decide (params.%s is set by a rule file"
          .. " as it loads, or by --set)", tostring(k)), 2)
      end
      local at = where_set()
      local decl = rs.declared[k]
      if decl ~= nil then
        local bad = E.bad_value(decl, v)
        if bad then error(bad, 2) end
      else
        local sites = rs.undeclared[k]
        if sites == nil then
          sites = {}
          rs.undeclared[k] = sites
        end
        sites[#sites + 1] = at
      end
      rs.param_where[k] = at
      params[k] = v
    end,
    __pairs = function(t) return params_next, t, nil end,
    __len = function() return #params end,
    __metatable = false,
  })
end

-- Counting wrappers of the core (tests: `new{_spy = true}`).
local spied = {}
local function spy_core(real)
  local c = {}
  for k, v in pairs(real) do c[k] = v end
  for name, f in pairs(real) do
    if type(f) == "function" then
      c[name] = function(a, ...)
        local rest = pack(...)
        local parts = {}
        for i = 1, rest.n do parts[i] = tostring(rest[i]) end
        local key = name .. " " .. tostring(a) .. " " .. concat(parts, " ")
        spied[key] = (spied[key] or 0) + 1
        return f(a, ...)
      end
    end
  end
  return c
end

--- Bind the facts: `{mountinfo=, _spy=}`.
-- @treturn string how mount entries are looked up (`"statmount"` or `"table"`)
function E.configure(opts)
  local c = core
  if opts._spy then c = spy_core(core) end
  -- facts are core answers (fresh tables) or made by facts.lua: frozen in place
  helpers = facts.new(state, c, opts.mountinfo, nil, sandbox.freeze_owned, rt.memoizer)
  return helpers.mount_lookup
end

--- The core calls counted since the last call (`_spy` engines).
function E.spied()
  local out = spied
  spied = {}
  return out
end

local function where()
  -- level 1: this function, 2: predicate()/rule(), 3: the rule file
  local info = debug_getinfo(3, "Sl")
  if info == nil then return "?", 0 end
  local file = sub(info.source, 1, 1) == "@" and sub(info.source, 2) or info.short_src
  return file, info.currentline
end

local SCOPES = { mount = true, rootfs = true }

-- What a mount rule may need before it is tried at all (`needs`): a mount
-- without it skips the rule, its `when` not called (the rule index: the
-- call spared on every other mount). Each has its bit in the index's key
-- and names what the mount lacks.
local NEEDS = {
  -- a direct-assigned volume: the mount has a mountInfo.json (m.direct_volume)
  direct_volume = { bit = 1, lacks = function() return "no mountInfo.json" end },
  -- the option params.layer_option (10-layers.lua declares it) among m.options
  layer_option = { bit = 2,
    lacks = function(params) return "no " .. tostring(params.layer_option) .. " option" end },
  -- a Kubernetes emptyDir: the predicate is_empty_dir (30-kubernetes.lua)
  -- answers true for m.source
  empty_dir = { bit = 4, lacks = function() return "not a Kubernetes emptyDir" end },
  -- no shared file system: the predicate shared_fs_kind (00-settings.lua)
  -- answers "none" for the call's settings (asked once per plan: params and
  -- ctx are read-only while rules decide)
  no_shared_fs = { bit = 8, lacks = function() return "a shared file system" end },
}

-- ------------------------------------------------------------ params

-- What each param type accepts, in words for messages.
local PARAM_TYPES = {
  boolean = "true or false", integer = "an integer", number = "a number", string = "a string",
  list = "a list of strings", map = "a table of strings keyed by strings",
}

-- A value as a message shows it: `the string "false"`, `a table`.
local function shown(v)
  local t = type(v)
  if t == "string" then return format("the string %q", #v > 40 and sub(v, 1, 40) .. "..." or v) end
  if t == "number" then
    return (math_type(v) == "float" and "the number " or "the integer ") .. tostring(v)
  end
  if t == "boolean" or t == "nil" then return tostring(v) end
  return "a " .. t
end

-- Why `v` is not a value of the param declared by `decl`, or nil.
function E.bad_value(decl, v)
  local t, ok = decl.type, false
  if t == "boolean" then ok = type(v) == "boolean"
  elseif t == "integer" then ok = math_type(v) == "integer"
  elseif t == "number" then ok = type(v) == "number" and v == v
  elseif t == "string" then ok = type(v) == "string"
  elseif type(v) == "table" and (t == "list" or t == "map") then
    ok = true
    local n = rawlen(v)
    -- every value a string; a list's keys 1..n, a map's strings
    for k, x in next, v do
      if type(x) ~= "string" then ok = false break end
      if t == "list" and (math_type(k) ~= "integer" or k < 1 or k > n) then ok = false break end
      if t == "map" and type(k) ~= "string" then ok = false break end
    end
  end
  if not ok then
    return format("param '%s' expects %s, got %s", decl.name, PARAM_TYPES[t], shown(v))
  end
  if (decl.min ~= nil and v < decl.min) or (decl.max ~= nil and v > decl.max) then
    return format("param '%s' is %s, got %s", decl.name, decl.min == nil and "at most " .. decl.max
      or decl.max == nil and "at least " .. decl.min or "from " .. decl.min .. " to " .. decl.max, shown(v))
  end
  if decl.values ~= nil then
    for _, allowed in ipairs(decl.values) do
      if v == allowed then return nil end
    end
    return format("param '%s' is one of %s, got %s", decl.name, concat(decl.values, ", "), shown(v))
  end
  return nil
end

local closest = closest_name

-- "file:line" as file, line.
local function match_position(at)
  local file, line = string.match(at, "^(.*):(%d+)$")
  if file == nil then return at, 0 end
  return file, tonumber(line)
end

local function warn(file, line, what, why)
  rs.warnings[#rs.warnings + 1] = { file = file, line = line, what = what, why = why }
end

-- param { name = "watchable_max_files", type = "integer", default = 8,
--   doc = "...", values = {...}, min = n, max = n }: declare a param and set
--   its default (values: a string's choices; min, max: a number's range).
local function param(decl)
  if not rs.loading then error("param: params are declared only while their file loads", 2) end
  if type(decl) ~= "table" then
    error("param: expects a table { name = ..., type = ..., default = ..., doc = ... }", 2)
  end
  local name, t, doc, values = decl.name, decl.type, decl.doc, decl.values
  if type(name) ~= "string" or not find(name, "^[%a_][%w_]*$") then
    error("param: the name must be an identifier, got " .. shown(name), 2)
  end
  if PARAM_TYPES[t] == nil then
    local kinds = {}
    for k in pairs(PARAM_TYPES) do kinds[#kinds + 1] = k end
    sort(kinds)
    error(format("param '%s': type must be one of %s, got %s", name, concat(kinds, ", "), shown(t)), 2)
  end
  if type(doc) ~= "string" or doc == "" then
    error(format("param '%s': doc must be a non-empty string (one line for operators)", name), 2)
  end
  if values ~= nil then
    if t ~= "string" or type(values) ~= "table" or rawlen(values) == 0 then
      error(format("param '%s': values is a non-empty list of strings, for a string param", name), 2)
    end
    local copy = {}
    for i = 1, rawlen(values) do
      if type(values[i]) ~= "string" then
        error(format("param '%s': values is a non-empty list of strings", name), 2)
      end
      copy[i] = values[i]
    end
    values = copy
  end
  local min, max = decl.min, decl.max
  if (min ~= nil or max ~= nil) and not ((t == "integer" or t == "number")
      and (min == nil or (type(min) == "number" and min == min))
      and (max == nil or (type(max) == "number" and max == max))) then
    error(format("param '%s': min and max are numbers, for an integer or number param", name), 2)
  end
  local file, line = where()
  local d = { name = name, type = t, doc = doc, values = values, min = min, max = max,
    file = file, line = line }
  local bad = E.bad_value(d, decl.default)
  if bad then error(bad .. " as its default", 2) end
  d.default = sandbox.plain(decl.default)
  rs.declared[name] = d
  rs.params[name] = decl.default
  rs.param_where[name] = file .. ":" .. line
end

-- ------------------------------------------------- classes and actions

-- The classes and actions a runtime acts on (DESIGN.md's decision table);
-- a rule naming another is warned about unless a rule file declares it.
local CLASSES = {
  layer = true, system = true, ephemeral = true, hugepages = true, ["local"] = true,
  block = true, passthrough = true, shm = true, ["host-device"] = true, watchable = true,
  shared = true, rootfs = true, ["block-emptydir"] = true, ["direct-volume"] = true,
  copy = true, dropped = true,
}
local ACTIONS = {
  ["overlay-layer"] = true, skip = true, ["guest-tmpfs"] = true, ["guest-hugetlbfs"] = true,
  ["guest-local"] = true, ["hotplug-block"] = true, ["guest-mount"] = true, ["guest-shm"] = true,
  ["share-watchable"] = true, share = true, overlay = true, vfio = true, ["vhost-user-blk"] = true,
  copy = true, ["copy-watch"] = true, drop = true,
}

-- declare("class", "name", "what it means") or declare("action", ...):
-- a class or action of the operator's own, known to the runtime.
local function declare(kind, name, doc)
  if not rs.loading then error("declare: classes and actions are declared while their file loads", 2) end
  if kind ~= "class" and kind ~= "action" then
    error("declare: the kind is \"class\" or \"action\", got " .. shown(kind), 2)
  end
  if type(name) ~= "string" or name == "" then error("declare: the name must be a non-empty string", 2) end
  if type(doc) ~= "string" or doc == "" then
    error(format("declare %s '%s': say what it means for a runtime (a non-empty string)", kind, name), 2)
  end
  local file, line = where()
  local into = kind == "class" and rs.classes or rs.actions
  into[name] = { doc = doc, file = file, line = line }
end

-- disable("name", "reason"): remove a rule defined by an earlier file;
-- the reason is shown in every load's warnings.
local function disable(name, reason)
  if not rs.loading then error("disable: rules are disabled only while their file loads", 2) end
  if type(name) ~= "string" or name == "" then
    error("disable: the rule's name must be a non-empty string, got " .. shown(name), 2)
  end
  if type(reason) ~= "string" or reason == "" then
    error(format("disable '%s': give the reason (a non-empty string): disable(%q, \"why\")", name, name), 2)
  end
  local file, line = where()
  rs.rules[name] = nil
  rs.disabled[name] = { reason = reason, file = file, line = line }
  warn(file, line, format("rule '%s' disabled", name), reason)
end

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
  rs.predicate_info[name] = { file = file, line = line }
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
    local old = rs.rules[name]
    if old ~= nil and old.safety then
      error(format("rule '%s' is a safety rule (%s:%d): remove it with disable(%q, \"why\")",
        name, old.file, old.line, name), 2)
    end
    local file, line = where()
    rs.rules[name] = nil
    rs.disabled[name] = { reason = "disabled = true", file = file, line = line }
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
  local class, action, why = spec.class, spec.action, spec.why
  for _, field in ipairs({ "class", "action" }) do
    local v = spec[field]
    if type(v) ~= "string" or v == "" then
      error("rule '" .. name .. "': " .. field .. " must be a non-empty string", 2)
    end
  end
  if why ~= nil and type(why) ~= "string" then
    error("rule '" .. name .. "': why must be a string", 2)
  end
  if spec.safety ~= nil and type(spec.safety) ~= "boolean" then
    error("rule '" .. name .. "': safety must be true or false", 2)
  end
  local needs = spec.needs
  if needs ~= nil then
    if type(needs) ~= "string" or NEEDS[needs] == nil then
      local near = type(needs) == "string" and closest(needs, NEEDS) or nil
      error(format("rule '%s': needs must be \"direct_volume\", \"layer_option\", \"empty_dir\""
        .. " or \"no_shared_fs\", got %s%s", name,
        shown(needs), near and format(" (did you mean '%s'?)", near) or ""), 2)
    end
    if scope ~= "mount" then
      error(format("rule '%s': needs is for mount rules (a rootfs rule is tried on the root filesystem)",
        name), 2)
    end
  end
  local file, line = where()
  rs.disabled[name] = nil
  rs.rules[name] = {
    name = name, order = order, scope = scope, when = when, class = class,
    action = action, why = why, file = file, line = line, safety = spec.safety == true, needs = needs,
  }
end

-- guest { class = "ephemeral", action = "guest-tmpfs" (optional),
--   build = function(m, ctx, d) return { storages =, guest_mount =, host =, why = } end }:
-- how a decision of that class (and action) becomes what the guest agent
-- receives; a later definition for the same class/action replaces it.
-- guest { class = "system", unchanged = true }: the mount as the spec gives
-- it, no storage, nothing on the host (the host fills them in: no build).
local function guest(spec)
  if not rs.loading then error("guest: translations are defined only while their file loads", 2) end
  if type(spec) ~= "table" then
    error("guest: expects a table { class = ..., action = ..., build = function(m, ctx, d) ... end }", 2)
  end
  local class, action, build = spec.class, spec.action, spec.build
  if type(class) ~= "string" or class == "" then
    error("guest: class must be a non-empty string, got " .. shown(class), 2)
  end
  if action ~= nil and (type(action) ~= "string" or action == "") then
    error(format("guest '%s': action must be a non-empty string or nil, got %s", class, shown(action)), 2)
  end
  local unchanged = spec.unchanged
  if unchanged ~= nil and unchanged ~= true then
    error(format("guest '%s': unchanged must be true or nil, got %s", class, shown(unchanged)), 2)
  end
  if unchanged and build ~= nil then
    error(format("guest '%s': either build or unchanged = true, not both", class), 2)
  end
  if not unchanged and type(build) ~= "function" then
    error(format("guest '%s': build must be a function (m, ctx, d), or unchanged = true", class), 2)
  end
  local key = class .. "/" .. (action or "*")
  local file, line = where()
  local g = { name = key, class = class, action = action, build = build, unchanged = unchanged,
    file = file, line = line }
  rs.guests[key] = g
  -- found per decision by class, then action ("*": the class's own)
  local by_action = rs.guest_of[class]
  if by_action == nil then
    by_action = {}
    rs.guest_of[class] = by_action
  end
  by_action[action or "*"] = g
end

-- Lua names a chunk in a message by at most LUA_IDSIZE (60) bytes, so a
-- longer path comes out as "..." and its tail: give each such position of
-- `file` its whole path back (an operator's rules directory may be deep).
-- (Errors raised while a file or rule runs get theirs in the C handler.)
local function full_positions(msg, file)
  return (gsub(msg, "%.%.%.([^\n]-):(%d+):", function(tail, line)
    if #tail < #file and sub(file, -#tail) == tail then return file .. ":" .. line .. ":" end
    return nil
  end))
end

--- Compile and run one rule file (its text crossed in).
-- @tparam string path
-- @tparam string text
-- @treturn[1] boolean true
-- @return[2] nil, `path:line: message`
function E.load_file(path, text)
  rs.loading = true
  local env = sandbox.env({
    params = params_view, predicate = predicate, rule = rule, param = param, declare = declare,
    disable = disable, guest = guest, core = helpers.core,
    mount_entry = helpers.mount_entry, device_for_path = helpers.device_for_path,
    count_files = helpers.count_files,
  }, rs.predicates)
  local chunk, lerr = load(text, "@" .. path, "t", env)
  if not chunk then
    rs.loading = false
    return nil, full_positions(sandbox.message(lerr), path)
  end
  local ok, err = sandbox.load_file(chunk, path)
  rs.loading = false
  if not ok then return nil, err end
  rs.files[#rs.files + 1] = path
  rs.envs[#rs.envs + 1] = env
  return true
end

--- Learn the rules of a bundled file that a rules directory replaced
-- (`by`), without defining anything: the file runs with `rule` recording
-- names and every other definition going nowhere. `finish` then checks
-- that none of its safety rules went missing unnoticed.
-- @tparam string path the bundled file
-- @tparam string text its text
-- @tparam string by the file replacing it
function E.shadow_file(path, text, by)
  local names = {}
  local function record(spec)
    if type(spec) == "table" and type(spec.name) == "string" and spec.disabled ~= true then
      names[#names + 1] = { name = spec.name, safety = spec.safety == true }
    end
  end
  local function nothing() end
  local sink = setmetatable({}, { __index = rs.params })
  local env = sandbox.env({
    params = sink, predicate = nothing, rule = record, param = nothing, declare = nothing,
    disable = nothing, guest = nothing, core = helpers.core, mount_entry = helpers.mount_entry,
    device_for_path = helpers.device_for_path, count_files = helpers.count_files,
  }, rs.predicates)
  local chunk = load(text, "@" .. path, "t", env)
  if chunk then sandbox.load_file(chunk, path) end -- what it defined before any error counts
  rs.replaced[#rs.replaced + 1] = { path = path, by = by, rules = names }
  return true
end

-- Checks of the whole rule set once every file ran: undeclared params
-- (warnings, with the closest declared name), params a file changed in
-- place to a wrong value, classes and actions nobody declared, and the
-- rules of replaced bundled files (a safety rule only goes with `disable`).
-- @return nil or the message of the first error
local function check_loaded()
  local undeclared = {}
  for name in pairs(rs.undeclared) do
    if rs.declared[name] == nil then undeclared[#undeclared + 1] = name end
  end
  sort(undeclared)
  for _, name in ipairs(undeclared) do
    local near = closest(name, rs.declared)
    for _, at in ipairs(rs.undeclared[name]) do
      local file, line = match_position(at)
      warn(file, line, format("param '%s' is not declared", name),
        near and format("did you mean '%s'? (declared at %s:%d)", near, rs.declared[near].file,
          rs.declared[near].line)
        or "no rule file declares it with param { name = ..., type = ..., default = ..., doc = ... }")
    end
  end
  local names = {}
  for name in pairs(rs.declared) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do
    local bad = E.bad_value(rs.declared[name], rs.params[name])
    if bad then return format("%s (last set at %s)", bad, rs.param_where[name] or "?") end
  end
  for _, r in ipairs(rs.mount_rules) do
    if r.needs == "layer_option" and rs.declared.layer_option == nil then
      return format("%s:%d: rule '%s': needs = \"layer_option\", but no rule file declares the param"
        .. " layer_option (the bundled 10-layers.lua does)", r.file, r.line, r.name)
    end
    if r.needs == "empty_dir" and rawget(rs.predicates, "is_empty_dir") == nil then
      return format("%s:%d: rule '%s': needs = \"empty_dir\", but no rule file defines the predicate"
        .. " is_empty_dir (the bundled 30-kubernetes.lua does)", r.file, r.line, r.name)
    end
    if r.needs == "no_shared_fs" and rawget(rs.predicates, "shared_fs_kind") == nil then
      return format("%s:%d: rule '%s': needs = \"no_shared_fs\", but no rule file defines the"
        .. " predicate shared_fs_kind (the bundled 00-settings.lua does)", r.file, r.line, r.name)
    end
    if not CLASSES[r.class] and rs.classes[r.class] == nil then
      local near = closest(r.class, CLASSES)
      warn(r.file, r.line, format("rule '%s': unknown class '%s'", r.name, r.class),
        (near and format("did you mean '%s'? ", near) or "")
        .. "a runtime acts on the classes it knows: declare(\"class\", name, doc) to add one")
    end
    if not ACTIONS[r.action] and rs.actions[r.action] == nil then
      local near = closest(r.action, ACTIONS)
      warn(r.file, r.line, format("rule '%s': unknown action '%s'", r.name, r.action),
        (near and format("did you mean '%s'? ", near) or "")
        .. "a runtime acts on the actions it knows: declare(\"action\", name, doc) to add one")
    end
  end
  for _, rep in ipairs(rs.replaced) do
    local gone = {}
    for _, r in ipairs(rep.rules) do
      if rs.rules[r.name] == nil and rs.disabled[r.name] == nil then
        if r.safety then
          return format("%s: replaces the bundled %s, whose safety rule '%s' it does not define:"
            .. " define it again, or remove it explicitly with disable(%q, \"why\")",
            rep.by, rep.path, r.name, r.name)
        end
        gone[#gone + 1] = "'" .. r.name .. "'"
      end
    end
    if #gone > 0 then
      warn(rep.by, 0, "rules gone: " .. concat(gone, ", "),
        "the bundled " .. rep.path .. " defined them and this file, which replaces it, does not")
    end
  end
  return nil
end

local function by_order(a, b)
  if a.order ~= b.order then return a.order < b.order end
  return a.name < b.name
end

-- A rule not tried, in an explained decision: it stands where the rule
-- would, and says what the mount lacks.
local function not_tried(r)
  local lacks = NEEDS[r.needs].lacks
  return { name = r.name, order = r.order, class = r.class, action = r.action, file = r.file,
    line = r.line, when = function()
      return false, format("not tried: %s (needs = \"%s\")", lacks(rs.params), r.needs)
    end }
end

-- The rule index: the mount rules a mount tries, by what it has of what
-- rules need (the key: the sum of the bits of NEEDS it has), in order; for
-- an explained decision, the same with a stand-in for each rule not tried.
-- Each list is made the first time a decision asks for it; a key that
-- skips no rule shares the whole list.
local function index_mount_rules()
  rs.mount_index, rs.mount_index_traced, rs.needed = {}, {}, 0
  for _, r in ipairs(rs.mount_rules) do
    if r.needs ~= nil and rs.needed & NEEDS[r.needs].bit == 0 then
      rs.needed = rs.needed + NEEDS[r.needs].bit
    end
  end
end

-- The mount rules of index key `key` (explained: with stand-ins).
local function indexed_rules(key, explain)
  local index = explain and rs.mount_index_traced or rs.mount_index
  local list = index[key]
  if list ~= nil then return list end
  local tried, shown_list, skipped = {}, {}, 0
  for _, r in ipairs(rs.mount_rules) do
    if r.needs == nil or key & NEEDS[r.needs].bit ~= 0 then
      tried[#tried + 1] = r
      shown_list[#shown_list + 1] = r
    else
      skipped = skipped + 1
      shown_list[#shown_list + 1] = not_tried(r)
    end
  end
  if skipped == 0 then tried, shown_list = rs.mount_rules, rs.mount_rules end
  rs.mount_index[key], rs.mount_index_traced[key] = tried, shown_list
  return explain and shown_list or tried
end

-- What `finish` made of the rule set, handed out list by list (`finished`).
local finished = {}

--- Every file loaded: the rules sorted; what the host keeps of them. The
-- lists of a large rule set may outgrow one crossing: `finish` returns the
-- files, and the host asks for each list with `st:call_each("finished", part)`.
-- @treturn table `{files = {...}}`
function E.finish()
  for _, r in pairs(rs.rules) do
    local list = r.scope == "rootfs" and rs.rootfs_rules or rs.mount_rules
    list[#list + 1] = r
  end
  sort(rs.mount_rules, by_order)
  sort(rs.rootfs_rules, by_order)
  local bad = check_loaded()
  if bad then return nil, bad end
  index_mount_rules()
  -- the params are final: each table (a list or a map) becomes a frozen
  -- copy, so that no rule, and no table a rule file kept, changes it later
  for name, v in next, rs.params do
    if type(v) == "table" then rs.params[name] = sandbox.freeze_owned(sandbox.plain(v)) end
  end
  -- every predicate is defined now: each file's environment gets them as
  -- its own entries (a name it set itself stays), so that a rule finds a
  -- predicate with one lookup, not through the environment's __index
  for _, env in ipairs(rs.envs) do
    for name, fn in next, rs.predicates do
      if rawget(env, name) == nil then rawset(env, name, fn) end
    end
  end
  local out = { rules = {}, predicates = {}, warnings = rs.warnings }
  for _, list in ipairs({ rs.mount_rules, rs.rootfs_rules }) do
    for _, r in ipairs(list) do
      out.rules[#out.rules + 1] = { name = r.name, order = r.order, scope = r.scope, class = r.class,
        action = r.action, file = r.file, line = r.line, why = r.why, safety = r.safety, needs = r.needs }
    end
  end
  for name in pairs(rs.predicates) do out.predicates[#out.predicates + 1] = name end
  sort(out.predicates)
  out.translations = {}
  for _, g in pairs(rs.guests) do
    out.translations[#out.translations + 1] = { name = g.name, class = g.class, action = g.action,
      file = g.file, line = g.line }
  end
  sort(out.translations, function(a, b) return a.name < b.name end)
  finished = out
  return { files = rs.files }
end

--- One list of what `finish` made, once: `"rules"` (`{name=, order=,
-- scope=, class=, action=, file=, line=, why=, safety=}` each, in
-- evaluation order; `needs=` when the rule has one), `"translations"` (`{name=, class=, action=, file=,
-- line=}`), `"predicates"` (names, sorted), `"warnings"` (`{file=, line=,
-- what=, why=}`).
-- @tparam string part
-- @treturn table the list
function E.finished(part)
  local list = finished[part]
  if list == nil then error("no list '" .. tostring(part) .. "' of the rule set", 0) end
  finished[part] = nil
  return list
end

--- One param's value (a plain copy).
-- @tparam string name
function E.param(name)
  return sandbox.plain(rs.params[name])
end

--- The params (plain copies: functions dropped, metatables not kept).
function E.params()
  return sandbox.plain(rs.params)
end

--- The names of the params, sorted (strings first, as `tostring` shows
-- them): what `Engine:params` crosses one by one when all at once is too large.
-- @treturn {string,...}
function E.param_names()
  local out = {}
  for name in next, rs.params do out[#out + 1] = name end
  sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

--- Set declared params over what the rule files set (the command's
-- `--set`), each checked against its declaration; all or nothing.
-- @tparam table values `{name = value}`
-- @tparam string origin what set them, for `param_sources` (`"--set"`)
-- @treturn[1] boolean true
-- @return[2] nil, message
function E.set_params(values, origin)
  for name, v in pairs(values) do
    local decl = rs.declared[name]
    if decl == nil then
      local near = closest(tostring(name), rs.declared)
      return nil, format("no rule file declares a param '%s'%s", tostring(name),
        near and (" (did you mean '" .. near .. "'?)") or "")
    end
    local bad = E.bad_value(decl, v)
    if bad then return nil, bad end
  end
  for name, v in pairs(values) do
    -- the boundary's fresh copy: frozen in place, as finish froze the rest
    rs.params[name] = sandbox.freeze_owned(v)
    rs.param_where[name] = origin
  end
  return true
end

--- The declared params: `{name = {type=, default=, doc=, values=, min=, max=, file=, line=}}`.
function E.param_info()
  local out = {}
  for name, d in pairs(rs.declared) do
    out[name] = { type = d.type, default = d.default, doc = d.doc, values = d.values, min = d.min,
      max = d.max, file = d.file, line = d.line }
  end
  return out
end

--- Where each param was last set.
function E.param_sources()
  return sandbox.plain(rs.param_where)
end

local function call_done(name, info, ok, ...)
  state.memo = nil
  if not ok then
    return false, format("predicate '%s' (%s:%d): %s", name, info.file, info.line, (...))
  end
  local r = pack(...)
  for i = 1, r.n do r[i] = sandbox.plain(r[i]) end
  return true, unpack(r, 1, r.n)
end

--- Call predicate `name` under the budget, with facts memoised for the call.
-- @return true and its answers (plain copies), or false, message
function E.call(name, ...)
  local fn = rawget(rs.predicates, name)
  if fn == nil then return false, "predicate '" .. tostring(name) .. "' is not defined" end
  state.memo = new_memo()
  sandbox.begin()
  return call_done(name, rs.predicate_info[name], sandbox.call(fn, ...))
end

-- The reason(s) a rule gave, as a fresh list of strings (never touching
-- metamethods of what rule code returned).
local function reasons_of(why, matched, r)
  local t = type(why)
  if t == "string" then return { why } end
  if t == "table" then
    local out = {}
    for i = 1, rawlen(why) do
      local v = rawget(why, i)
      if type(v) == "string" then out[#out + 1] = v end
    end
    if #out > 0 then return out end
  end
  if matched then return { r.why or ("rule '" .. r.name .. "' matched") } end
  return { "no match" }
end

-- The reasons of a matched rule as they cross to the host: the one reason
-- as a string (the host makes it a list: no table here and across), or a
-- fresh list of several.
local function matched_reasons(why, r)
  if type(why) == "string" then return why end
  local out = reasons_of(why, true, r)
  if #out == 1 then return out[1] end
  return out
end

-- What a translation leaves out: no storage, nothing on the host (shared,
-- never changed: they are copied to the host with the decision).
local NO_STORAGES, NO_HOST_STEP = {}, { action = "none" }

-- What a translation's `build` returned, checked: a list of storages, a
-- guest mount or nil, a host step; plain data only. Plain data of that
-- shape (what builds return) is checked by one C call, runtime.guest_result,
-- in `translate`; anything else is checked, or copied plain, here.
local guest_result, PLAIN_LEVELS = rt.guest_result, sandbox.PLAIN_LEVELS
local REMOVED = "removed from the container's mounts"
local function guest_fields(g, out, d)
  if type(out) ~= "table" then
    return nil, format("build must return a table { storages =, guest_mount =, host = }, got %s", shown(out))
  end
  local storages, gm, host = out.storages or NO_STORAGES, out.guest_mount, out.host or NO_HOST_STEP
  if type(storages) ~= "table" then return nil, "storages must be a list of tables" end
  for i = 1, rawlen(storages) do
    if type(rawget(storages, i)) ~= "table" then return nil, format("storage %d is not a table", i) end
  end
  if gm ~= nil and type(gm) ~= "table" then return nil, "guest_mount must be a table or nil" end
  if type(host) ~= "table" or type(host.action) ~= "string" then
    return nil, "host must be a table with an action (share, copy, watch, hotplug, none)"
  end
  -- what build returned, checked once as a whole: plain data crosses as it is
  -- (no storages: nil, the host makes the empty list)
  if sandbox.is_plain(out) then
    d.storages, d.guest_mount, d.host = out.storages, gm, host
  else
    d.storages = out.storages and sandbox.as_plain(storages)
    d.guest_mount = gm and sandbox.as_plain(gm) or nil
    d.host = sandbox.as_plain(host)
  end
  if gm == nil then
    d.guest_reason = type(out.why) == "string" and out.why or REMOVED
  end
  d.translation = g.name        -- the host adds its file and line
  return d
end

-- The guest side of decision `d` of mount `m`: the translation of its
-- class and action (else of its class) run under the budget; `d` gains
-- `storages`, `guest_mount` (or `guest_reason`), `host` and `translation`.
-- A class without a translation leaves `d` as it is.
-- Returns `d`, or `{error=, trace=}` when the translation failed.
local names = { class = nil, action = nil, rule = nil }
local restart, try_first, clear_overlays = rt.restart, rt.try_first, sandbox.clear
-- The overlays of a decision, made once: its mount, the mount's options,
-- its ctx, the names a translation sees (re-pointed by setting `__index`).
local mount_ov, mount_ov_mt = sandbox.new_overlay()
local options_ov, options_ov_mt = sandbox.new_overlay()
local ctx_ov, ctx_ov_mt = sandbox.new_overlay()
local names_ov, names_ov_mt = sandbox.new_overlay()
names_ov_mt.__index = names
local function translate(m, ctx, d)
  local by_action = rs.guest_of[d.class]
  if by_action == nil then return d end
  local g = by_action[d.action] or by_action["*"]
  if g == nil then return d end
  if g.unchanged then
    -- the host fills in the mount as given, no storage, no host step
    d.guest_unchanged, d.translation = true, g.name
    return d
  end
  -- build sees the decision's names through an overlay of a table reused
  -- by every decision: what it does to them stays there
  names.class, names.action, names.rule = d.class, d.action, d.rule
  local ok, out = sandbox.call(g.build, m, ctx, names_ov)
  local res, err
  if ok then
    local plain, storages, gm, host, why = guest_result(out, PLAIN_LEVELS)
    if plain then
      d.storages, d.guest_mount, d.host = storages, gm, host or NO_HOST_STEP
      if gm == nil then d.guest_reason = type(why) == "string" and why or REMOVED end
      d.translation = g.name        -- the host adds its file and line
      return d
    end
    res, err = guest_fields(g, out, d)
  else
    err = out
  end
  if res == nil then
    return { error = format("guest '%s' (%s:%d): %s", g.name, g.file, g.line, err), trace = d.trace }
  end
  return res
end

-- Whether the settings `c` of the running plan (or classify) share no
-- file system: the rule set's shared_fs_kind answers "none". Asked once per
-- call, under its budget (params and ctx are read-only while rules
-- decide); one that fails or is stopped counts as true (the rules that
-- need it are tried, and fail as they did).
local call_no_shared = nil
local function no_shared_fs(c)
  if call_no_shared == nil then
    local ok, kind = sandbox.call(rs.predicates.shared_fs_kind, c)
    call_no_shared = not ok or kind == "none"
  end
  return call_no_shared
end

-- What every decision of the running plan (or classify) reads the same:
-- params.layer_option when it is a string, and whether decisions are
-- translated (ctx.translate ~= false). Set by `begin_call`.
local call_layer_option, call_translate = nil, true

-- A plan (or classify) begins with settings `c`: a fresh memo, and what
-- its decisions share read once.
local function begin_call(c)
  state.memo, call_no_shared = new_memo(), nil
  local option = rs.params.layer_option
  call_layer_option = type(option) == "string" and option or nil
  call_translate = c.translate ~= false
end

local function end_call()
  state.memo, call_no_shared, call_layer_option = nil, nil, nil
end

-- Decide one job `{source=, destination=, type=, options=, scope=,
-- mounted=, target=, parts=, direct_volume=}` (the boundary's fresh copy:
-- it becomes the mount the rules see) with settings `c` (already over the
-- params); `good`: the layers decided so far (rootfs).
local function decide(job, c, explain, good)
  -- a deadline of its own; what the last rule wrote on an overlay cleared
  if restart() then clear_overlays() end
  -- the rules this mount tries (the rule index): by what it has of what
  -- rules need, before its options become an overlay
  local rules = rs.rootfs_rules
  if job.scope ~= "rootfs" then
    local needed, key = rs.needed, 0
    if job.direct_volume ~= nil then key = 1 end
    if needed & 2 ~= 0 and call_layer_option and has_option(job.options, call_layer_option) then
      key = key + 2
    end
    if needed & 4 ~= 0 then
      -- the predicate, under its budget: one that fails or is stopped
      -- counts as true (the rules are tried, and fail as they did)
      local ok, yes = sandbox.call(rs.predicates.is_empty_dir, job.source)
      if not ok or yes then key = key + 4 end
    end
    if needed & 8 ~= 0 then
      local none = call_no_shared
      if none == nil then none = no_shared_fs(c) end
      if none then key = key + 8 end
    end
    rules = (explain and rs.mount_index_traced or rs.mount_index)[key] or indexed_rules(key, explain)
  end
  local base = job
  options_ov_mt.__index = job.options or {}
  base.options = options_ov
  -- a direct-assigned volume: its mountInfo.json, read by the host
  -- (tables of this job and of the plan's loop, referred to nowhere else:
  -- frozen in place)
  if job.direct_volume then base.direct_volume = sandbox.freeze_owned(job.direct_volume) end
  if job.scope == "rootfs" then
    base.layers = sandbox.freeze_owned(good or {})
    base.mounted = job.mounted == true
    base.parts = sandbox.freeze_owned(job.parts or {})
  end
  mount_ov_mt.__index, ctx_ov_mt.__index = setmetatable(base, helpers.mount_mt), c
  local m, ctx = mount_ov, ctx_ov
  local trace, on_result = nil, nil
  if explain then
    trace = {}
    on_result = function(r, matched, why)
      trace[#trace + 1] = { name = r.name, order = r.order, matched = not not matched,
        why = concat(reasons_of(why, matched, r), "; "), file = r.file, line = r.line }
    end
  end
  -- the first rule whose `when(m, ctx)` returns true (runtime.first's
  -- loop in C, each rule with a whole budget, the overlays cleared after a
  -- rule wrote on them; an answer other than true, false or nil fails the
  -- decision), run protected: false, the rule that raised or was stopped
  -- and its message when one did
  local ok, r, why = try_first(rules, m, ctx, clear_overlays, on_result)
  if not ok then
    if r == nil then return { error = why, trace = trace } end
    return { error = format("rule '%s' (%s:%d): %s", r.name, r.file, r.line, why), trace = trace }
  end
  if r == nil then return { error = "no rule matched", trace = trace } end
  -- (sized for what translate adds: not grown and rehashed then)
  local d = { class = r.class, action = r.action, rule = r.name,
    reasons = type(why) == "string" and why or matched_reasons(why, r), trace = trace,
    storages = nil, guest_mount = nil, host = nil, translation = nil, guest_reason = nil }
  if not call_translate then return d end
  return translate(m, ctx, d)
end

-- The caller's settings as rules see them (the boundary's fresh copy):
-- over the params, their tables frozen in place (a rule writing on ctx
-- writes on its own overlay; one writing into ctx.annotations would reach
-- every later decision of the plan).
local function settings(ctx)
  for k, v in next, ctx do
    if type(v) == "table" then ctx[k] = sandbox.freeze_owned(v) end
  end
  return setmetatable(ctx, rs.ctx_mt)
end

--- Decide one mount: `job` `{fields=, scope=}`, the caller's settings.
-- @treturn table `{class=, action=, rule=, reasons=, trace=}` or `{error=, trace=}`
function E.classify(job, ctx, explain)
  local c = settings(ctx)
  begin_call(c)
  local res = decide(job, c, explain)
  end_call()
  return res
end

--- Decide the jobs of a plan in order, one memo for all; the rootfs job
-- (`scope = "rootfs"`) sees the layers whose job (`layer_info=`) was decided,
-- each with the class and action decided for it. The host calls it with
-- `st:call_each`: a job that could not cross arrives as `{error=}`, and is
-- its own result.
-- @treturn {table,...} one result per job (as `classify`'s)
function E.plan(jobs, ctx, explain)
  local c = settings(ctx)
  begin_call(c)
  -- the results take the jobs' places in their list (the boundary's fresh
  -- copy, made at its size: no list grown entry by entry)
  local out, good = jobs, {}
  for i = 1, #jobs do
    local job = jobs[i]
    -- what the rootfs decision learns of a layer, not a field of its mount
    local l = job.layer_info
    job.layer_info = nil
    local res = job
    if job.error == nil then res = decide(job, c, explain, good) end
    if l and res.error == nil then
      good[#good + 1] = { source = l.source, destination = l.destination, type = l.type,
        options = l.options, class = res.class, action = res.action }
    end
    out[i] = res
  end
  end_call()
  return out
end

rt.export(E)

return E
