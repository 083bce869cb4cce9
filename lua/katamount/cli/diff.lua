--- The diff command: the decisions of a spec that a rules directory (its
-- `--rules DIR`) changes, against the bundled rules alone.
-- @module katamount.cli.diff
local util = require("katamount.cli.util")
local engine = require("katamount.cli.engine")
local plan = require("katamount.cli.plan")
local rules = require("katamount.cli.rules")
local json = require("katamount.cli.json")

local fail = util.fail

local M = {}

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("diff",
    "Show the decisions of a spec that --rules DIR changes, against the bundled rules alone.")
    :epilog("Exit status: 0 no decision changes; 1 some decisions change; 2 bad usage or bad input.")
  plan.input_options(cmd)
  cmd:flag("--json", "Print [{\"what\":, \"destination\":, \"before\": {...}, \"after\": {...}}, ...]\n" ..
    "as JSON.")
end

--- Run `katamount diff`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  if not a.rules or #a.rules == 0 then usage("give the rules directory to compare: --rules DIR") end
  local sets = engine.parse_sets(a.set, usage)
  local inp, rootfs = plan.load_input(a, usage)
  for _, w in ipairs(inp.warnings) do util.warn(w) end
  local new = engine.new_function()
  local before, berr = new({ rules_path = {} })
  if not before then fail(2, "the bundled rules do not load: " .. tostring(berr)) end
  local after = engine.load(a.rules)
  -- --set reaches both engines' params (each checked by its declarations)
  engine.context(before, sets, false, usage)
  local ctx = engine.context(after, sets, false, usage)
  plan.apply_ids(ctx, a, inp, usage)
  ctx.rootfs = rootfs
  if not a.json then
    local changed = rules.print_changes(before, after, inp.spec,
      inp.name .. " with " .. table.concat(a.rules, ", "), ctx)
    return changed > 0 and 1 or 0
  end
  local diff = require("katamount.compare").differences(before, after, inp.spec, ctx)
  local doc = {}
  for i, d in ipairs(diff) do
    doc[i] = { what = d.what, source = d.source, destination = d.destination,
      before = json.plain(d.before), after = json.plain(d.after) }
  end
  json.print(doc)
  return #diff > 0 and 1 or 0
end

return M
