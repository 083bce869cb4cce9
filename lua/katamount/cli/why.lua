--- `katamount why DESTINATION CONFIG`: explain one mount of a plan — its
-- decision, every rule tried (file:line, why it matched or not), and what
-- the host lacked.
-- @module katamount.cli.why
local util = require("katamount.cli.util")
local plan = require("katamount.cli.plan")
local decisions = require("katamount.cli.decisions")
local json = require("katamount.cli.json")

local cell = util.cell

local M = {}

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("why", "Explain how one mount of a spec is decided: the rules tried, in order.")
    :epilog(plan.EXIT_HELP:gsub("some mount", "the mount") ..
      "\nDESTINATION is a mount's destination, / for the root filesystem, or a layer's\n" ..
      "mount point; several mounts on one destination are each explained.")
  cmd:argument("destination", "The mount's destination in the container.")
  plan.input_options(cmd)
  cmd:flag("--json", "Print the decisions (with their trace) as JSON.")
end

--- Run `katamount why`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  local c = util.need_core()
  local want = c.clean(a.destination) or a.destination
  local p = plan.decide(a, usage, true, true)
  local found = {}
  for i, d in ipairs(p.mounts) do
    if (c.clean(d.destination) or d.destination) == want then
      found[#found + 1] = { what = ("mounts[%d]"):format(i - 1), d = d }
    end
  end
  if want == "/" and p.rootfs then found[#found + 1] = { what = "root filesystem", d = p.rootfs } end
  for i, d in ipairs(p.layers) do
    if d.destination == want or d.mount_point == want then
      found[#found + 1] = { what = ("layer %d"):format(i), d = d }
    end
  end
  if #found == 0 then
    local names = {}
    for _, d in ipairs(p.mounts) do names[#names + 1] = cell(d.destination) end
    util.fail(2, ("%s: no mount on %s (destinations: %s)"):format(p.input.name, a.destination,
      table.concat(names, " ")))
  end
  local failed = false
  for _, f in ipairs(found) do
    if f.d.error then decisions.report_failure(f.d, f.what == "root filesystem" and f.what or "mount") end
  end
  if a.json then
    local doc = {}
    for i, f in ipairs(found) do doc[i] = decisions.data(f.d) end
    json.print(doc)
    for _, f in ipairs(found) do failed = failed or f.d.error ~= nil end
    return failed and 1 or 0
  end
  for i, f in ipairs(found) do
    local d = f.d
    if i > 1 then util.emit("\n") end
    failed = failed or d.error ~= nil
    local lines = {
      ("%s %s (%s)"):format(f.what, cell(d.destination), cell(d.type)),
      "  source  " .. cell(d.source) .. (d.source_missing and decisions.MISSING_MARK or ""),
      "  options " .. cell(d.options),
    }
    if d.error then
      lines[#lines + 1] = "  decided nothing: " .. util.one_line(d.error)
    else
      lines[#lines + 1] = ("  decided %s / %s by rule %s"):format(cell(d.class), cell(d.action), cell(d.rule))
      for _, r in ipairs(type(d.reasons) == "table" and d.reasons or {}) do
        lines[#lines + 1] = "    because " .. util.one_line(r)
      end
    end
    local tried = decisions.explain_lines({ trace = d.trace, source_missing = d.source_missing }, "  ")
    for _, l in ipairs(tried) do lines[#lines + 1] = l end
    util.emit(table.concat(lines, "\n"), "\n")
  end
  return failed and 1 or 0
end

return M
