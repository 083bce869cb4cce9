--- The engine as the commands use it: made over the bundled rules and
-- `--rules DIR`s (or `KATAMOUNT_RULES_PATH`), its loader's warnings printed,
-- its params listed with where each was set, and `--set` parsed.
-- @module katamount.cli.engine
local util = require("katamount.cli.util")

local fail = util.fail

local M = {}

--- Print the load's warnings (`{file=, line=, what=, why=}`) on stderr,
-- each as `katamount: warning: FILE[:LINE]: WHAT (WHY)`.
-- @tparam {table,...} list
function M.print_warnings(list)
  for _, w in ipairs(list or {}) do
    local at = util.display_path(w.file)
    if math.type(w.line) == "integer" and w.line > 0 then at = at .. ":" .. w.line end
    io.stderr:write("katamount: warning: ", util.one_line(at), ": ",
      util.one_line(w.what or "skipped"), " (", util.one_line(w.why or "?"), ")\n")
  end
end

--- The engine module's `new` (loaded only when needed, so that a core
-- that does not load is one line).
function M.new_function()
  util.need_core()
  local ok, eng = pcall(require, "katamount.engine")
  if not ok then fail(2, eng) end
  return eng.new
end

--- An engine over the bundled rules and `dirs` (each must be a directory;
-- none: `KATAMOUNT_RULES_PATH`), its warnings printed.
-- @tparam ?{string,...} dirs
-- @treturn table the engine
function M.load(dirs)
  local opts = {}
  if dirs and #dirs > 0 then
    for _, d in ipairs(dirs) do
      local t = util.file_type(d)
      if t ~= "directory" then
        fail(2, d .. ": " .. (t and "not a directory" or "no such rules directory"))
      end
    end
    opts.rules_path = dirs
  end
  local e, msg = M.new_function()(opts)
  if not e then fail(2, msg or "the rules could not be loaded") end
  M.print_warnings(e:warnings())
  return e
end

--- The params as a list `{name=, value=, file=, line=}`, sorted by name;
-- a param too large to cross the boundary has `error=` (why) instead of
-- `value=`, and is named on stderr.
-- @tparam table e the engine
-- @treturn {table,...}
function M.params(e)
  local p, left_out = e:params()
  if type(p) ~= "table" then fail(2, "cannot list the params: " .. tostring(left_out)) end
  local sources = e:param_sources() or {}
  local list = {}
  local function add(k, v, err)
    local at = sources[k]
    local file, line
    if type(at) == "string" then file, line = at:match("^(.*):(%d+)$") end
    list[#list + 1] = { name = k, value = v, error = err, file = file, line = tonumber(line) }
  end
  for k, v in pairs(p) do add(k, v) end
  for k, why in pairs(left_out or {}) do
    add(k, nil, why)
    util.warn(("param '%s' not shown: %s"):format(tostring(k), why))
  end
  table.sort(list, function(x, y) return tostring(x.name) < tostring(y.name) end)
  return list
end

--- `--set KEY=VALUE`s split: `{ {name=, text=, arg=}, ... }`; the values
-- are parsed by the declared type once the rules are loaded (`context`).
-- @tparam {string,...} list
-- @tparam function usage called with the message of a bad one
-- @treturn table
function M.parse_sets(list, usage)
  local settings = {}
  for _, s in ipairs(list or {}) do
    local k, v = s:match("^([%a_][%w_]*)=(.*)$")
    if not k then
      usage(("--set %s: expected KEY=VALUE (KEY a name such as disable_guest_empty_dir)"):format(s))
    end
    if k == "explain" or k == "rootfs" then
      usage(("--set %s: %s is not a setting (use --%s)"):format(s, k, k))
    end
    settings[#settings + 1] = { name = k, text = v, arg = s }
  end
  return settings
end

-- The value `text` of a param declared `decl` (`e:param_info()`), or nil
-- and why not: booleans are `true`/`false` only, integers and numbers in
-- decimal, a list comma-separated (empty: none), a string as it is.
function M.typed(decl, text)
  local t = decl.type
  if t == "boolean" then
    if text == "true" then return true elseif text == "false" then return false end
    return nil, "expects true or false"
  elseif t == "integer" then
    local n = text:match("^[-+]?%d+$") and math.tointeger(tonumber(text))
    if n then return n end
    return nil, "expects an integer"
  elseif t == "number" then
    local n = text:match("^[-+]?[%d.]+[eE]?[-+]?%d*$") and tonumber(text)
    if n and n == n then return n end
    return nil, "expects a number"
  elseif t == "list" then
    local list = {}
    for item in (text .. ","):gmatch("([^,]*),") do
      if item ~= "" then list[#list + 1] = item end
    end
    return list
  elseif t == "string" then
    if decl.values then
      for _, v in ipairs(decl.values) do if v == text then return text end end
      return nil, "is one of " .. table.concat(decl.values, ", ")
    end
    return text
  end
  return nil, "is a " .. tostring(t) .. ": set it in a rules file"
end

--- The ctx of a decision: each `--set` parsed by its param's declared
-- type (a name no rule file declares, or a value of another type, is a
-- usage error naming the closest declared param), `explain` when asked.
-- @tparam table e the engine
-- @tparam table settings from `M.parse_sets`
-- @tparam boolean explain
-- @tparam ?function usage called with the message of a bad `--set`
-- @treturn table
function M.context(e, settings, explain, usage)
  usage = usage or function(msg) fail(2, msg) end
  local info = e:param_info() or {}
  local ctx = {}
  for _, s in ipairs(settings) do
    local decl = info[s.name]
    if decl == nil then
      local near = require("katamount.names").closest(s.name, info)
      usage(("--set %s: no rule file declares a param '%s'%s (katamount rules lists them)"):format(
        s.arg, s.name, near and (" (did you mean '" .. near .. "'?)") or ""))
    end
    local v, why = M.typed(decl, s.text)
    if v == nil then
      usage(("--set %s: param '%s' %s (declared at %s:%d)"):format(s.arg, s.name, why,
        util.display_path(decl.file), decl.line))
    end
    ctx[s.name] = v
  end
  -- the params too: rules read some through `params`, not `ctx`
  local ok, err = e:set_params(ctx, "--set")
  if not ok then usage("--set: " .. tostring(err)) end
  ctx.explain = explain or nil
  return ctx
end

--- The options every deciding command takes.
-- @tparam table cmd an argparse command
function M.options(cmd)
  cmd:option("--set", "A runtime setting over the rules' default, e.g. disable_guest_empty_dir=true\n" ..
    "(parsed by the param's declared type: true/false, numbers, comma-separated\n" ..
    "lists; an undeclared name is an error; repeat for more).")
    :argname("KEY=VALUE"):count("*")
  cmd:option("--rules", "Load the rule files of DIR after the bundled ones (repeatable; replaces\n" ..
    "KATAMOUNT_RULES_PATH).")
    :argname("DIR"):count("*")
end

return M
