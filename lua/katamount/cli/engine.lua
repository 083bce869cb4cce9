--- The engine as the commands use it: made over the bundled rules and
-- `--rules DIR`s (or `KATAMOUNT_RULES_PATH`), its loader's warnings printed,
-- its params listed with where each was set, and `--set` parsed.
-- @module katamount.cli.engine
local util = require("katamount.cli.util")

local fail = util.fail

local M = {}

--- Print the loader's warnings (`{file=, what=, why=}`) on stderr.
-- @tparam {table,...} list
function M.print_warnings(list)
  for _, w in ipairs(list or {}) do
    io.stderr:write("katamount: warning: ", util.one_line(util.display_path(w.file)), ": ",
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

--- The params as a list `{name=, value=, file=, line=}`, sorted by name.
-- @tparam table e the engine
-- @treturn {table,...}
function M.params(e)
  local p, err = e:params()
  if type(p) ~= "table" then fail(2, "cannot list the params: " .. tostring(err)) end
  local sources = e:param_sources() or {}
  local list = {}
  for k, v in pairs(p) do
    local at = sources[k]
    local file, line
    if type(at) == "string" then file, line = at:match("^(.*):(%d+)$") end
    list[#list + 1] = { name = k, value = v, file = file, line = tonumber(line) }
  end
  table.sort(list, function(x, y) return tostring(x.name) < tostring(y.name) end)
  return list
end

--- `--set KEY=VALUE`s as a settings table: true/false and numbers converted.
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
    if v == "true" then v = true
    elseif v == "false" then v = false
    elseif tonumber(v) and v:match("^%s*[-+]?[%d.]") then v = math.tointeger(tonumber(v)) or tonumber(v)
    end
    settings[k] = v
  end
  return settings
end

--- The ctx of a decision: the settings (a warning for each name no param
-- of the rules has), `explain` when asked.
-- @tparam table e the engine
-- @tparam table settings from `M.parse_sets`
-- @tparam boolean explain
-- @treturn table
function M.context(e, settings, explain)
  local known = {}
  for _, p in ipairs(M.params(e)) do known[p.name] = true end
  local names = {}
  for k in pairs(settings) do if not known[k] then names[#names + 1] = k end end
  table.sort(names)
  for _, k in ipairs(names) do util.warn("--set " .. k .. ": no param of that name in the rules") end
  local ctx = {}
  for k, v in pairs(settings) do ctx[k] = v end
  ctx.explain = explain or nil
  return ctx
end

--- The options every deciding command takes.
-- @tparam table cmd an argparse command
function M.options(cmd)
  cmd:option("--set", "A runtime setting over the rules' default, e.g. disable_guest_empty_dir=true\n" ..
    "(true/false and numbers are converted; repeat for more).")
    :argname("KEY=VALUE"):count("*")
  cmd:option("--rules", "Load the rule files of DIR after the bundled ones (repeatable; replaces\n" ..
    "KATAMOUNT_RULES_PATH).")
    :argname("DIR"):count("*")
end

return M
