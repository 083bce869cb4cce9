--- `katamount classify`: decide one mount given by its source, destination,
-- type and options.
-- @module katamount.cli.classify
local util = require("katamount.cli.util")
local engine = require("katamount.cli.engine")
local input = require("katamount.cli.input")
local decisions = require("katamount.cli.decisions")
local plan = require("katamount.cli.plan")
local json = require("katamount.cli.json")

local M = {}

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("classify", "Decide one mount.")
    :epilog(plan.EXIT_HELP)
  cmd:option("--source", "The mount's source on the host."):argname("S"):count(1)
  cmd:option("--destination", "The mount's destination in the container."):argname("D"):count(1)
  cmd:option("--type", "The mount's type."):argname("T"):default("bind")
  cmd:option("--option", "A mount option (repeatable), e.g. rbind or ro."):argname("O"):count("*")
  engine.options(cmd)
  decisions.output_options(cmd)
end

--- Run `katamount classify`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  local settings = engine.parse_sets(a.set, usage)
  if a.destination == "" then usage("--destination must not be empty") end
  local topts = decisions.table_options(a, usage)
  local m = { source = a.source, destination = a.destination, type = a.type, options = a.option }
  local missing = input.is_bind(m) and a.source:sub(1, 1) == "/" and input.missing(a.source)
  local e = engine.load(a.rules)
  if missing then util.warn(("--source %s is not on this host: decided without it"):format(a.source)) end
  local ctx = engine.context(e, settings, a.explain, usage)
  local d, msg = e:classify(m, ctx)
  if type(d) ~= "table" then
    d = { error = msg or "could not be decided", source = m.source, destination = m.destination,
          type = m.type, options = m.options }
  end
  if missing then d.source_missing = true end
  if d.error then decisions.report_failure(d, "mount") end
  if a.json then
    json.print(decisions.data(d))
  else
    decisions.print_table({ { decisions = { d } } }, topts)
  end
  return d.error and 1 or 0
end

return M
