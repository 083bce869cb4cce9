--- katamount: how a VM container runtime handles each container mount.
--
-- `require "katamount"` is an engine loaded with the bundled rules and those
-- of `KATAMOUNT_RULES_PATH`, offered as plain functions
-- (`katamount.classify(mount, ctx)`, `katamount.is_secret(path)`, ...);
-- `katamount.new{rules_path = {...}}` makes other engines, whose functions
-- are methods (`e:classify(mount, ctx)`). If the rules cannot load,
-- `require` raises the loader's message (`file:line: ...`).
-- The module adds nothing to `_G`.
-- @module katamount
local engine = require("katamount.engine")

local M = {}

local default, err = engine.new()
if not default then error(err, 0) end

--- Make an engine (see `katamount.engine.new`).
-- @function new
-- @tparam[opt] table opts `rules_path`, `budget`, `memory`, `deadline`,
--   `plan_deadline`, `mountinfo`, `bundled`
-- @treturn[1] table the engine
-- @return[2] nil, message
M.new = engine.new

--- The default engine behind the module's functions.
M.engine = default

--- The version: the C core's (`KM_VERSION` in c/katamount.h), the one source
-- of the module's, the command's and the rock's release number.
M._VERSION = require("katamount.core")._VERSION

local function bind(name)
  return function(...) return default[name](default, ...) end
end

for _, name in ipairs(engine.PREDICATES) do M[name] = bind(name) end
for _, name in ipairs(engine.FUNCTIONS) do M[name] = bind(name) end

-- Predicates an operator added in a rule file are functions of the module too.
return setmetatable(M, {
  __index = function(_, k)
    if type(k) == "string" and default.ruleset.predicates[k] ~= nil then
      return function(...) return default:call(k, ...) end
    end
    return nil
  end,
})
