--- `katamount plan CONFIG`: decide every mount of an OCI runtime spec, its
-- root filesystem and its layers.
-- @module katamount.cli.plan
local util = require("katamount.cli.util")
local input = require("katamount.cli.input")
local engine = require("katamount.cli.engine")
local decisions = require("katamount.cli.decisions")
local json = require("katamount.cli.json")

local fail, cell = util.fail, util.cell

local M = {}

M.EXIT_HELP = [[
Exit status: 0 done; 1 some mount could not be decided (each failure on stderr,
the rest still shown); 2 bad usage or bad input (or an internal error).]]

--- The input options of a command deciding a spec.
-- @tparam table cmd an argparse command
function M.input_options(cmd)
  cmd:argument("config", "The container's OCI runtime spec: a config.json, a bundle directory\n" ..
    "(its config.json; root.path and relative bind sources are in it), or - for\n" ..
    "standard input.")
    :args("?")
  cmd:option("--container", "A running container's id (or a prefix of one id only): its bundle in\n" ..
    "containerd's or CRI-O's state directories, instead of CONFIG.")
    :argname("ID")
  cmd:option("--containerd-root", "Where containerd keeps the bundles, <DIR>/<namespace>/<id>\n" ..
    "(repeatable; default " .. table.concat(input.CONTAINERD_ROOTS, " ") .. ").")
    :argname("DIR"):count("*")
  cmd:option("--crio-root", "Where CRI-O keeps them, <DIR>/<id>/userdata (repeatable; default\n" ..
    table.concat(input.CRIO_ROOTS, " ") .. ").")
    :argname("DIR"):count("*")
  cmd:option("--bundle", "The bundle directory of a spec read from standard input: root.path and\n" ..
    "relative bind sources are resolved against it.")
    :argname("DIR")
  cmd:option("--rootfs", "A JSON file holding the root filesystem mount as the runtime received it:\n" ..
    "{\"type\": ..., \"source\": ..., \"options\": [...]}.")
    :argname("FILE")
  cmd:option("--rootfs-option", "An option of the root filesystem mount, e.g.\n" ..
    input.LAYER_PREFIX .. "SOURCE,TYPE[,OPTION...] (repeatable).")
    :argname("OPT"):count("*")
  cmd:option("--rootfs-type", "The root filesystem's type (default: overlay when layers are given).")
    :argname("TYPE")
  engine.options(cmd)
end

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("plan",
    "Decide every mount of an OCI runtime spec, its root filesystem and layers.")
    :epilog(M.EXIT_HELP ..
      "\nThe table fits $COLUMNS (0: no limit) or the terminal; on a pipe or in a file\n" ..
      "nothing is cut. --json prints {\"mounts\": [...], \"rootfs\": {...}, \"layers\": [...],\n" ..
      "\"warnings\": [...]}.")
  M.input_options(cmd)
  decisions.output_options(cmd)
  cmd:flag("--agent", "Print what a runtime sends kata's agent: the rewritten OCI mounts and the\n" ..
    "storages, as one JSON document in agent-protocol field names.")
end

--- The spec the input options name (CONFIG, stdin, a bundle or a running
-- container) and its root filesystem as ctx.rootfs.
-- @tparam table a the parsed arguments
-- @tparam function usage
-- @treturn table the input (`input.load`)
-- @treturn ?table the root filesystem
function M.load_input(a, usage)
  if a.container then
    if a.config then usage("give CONFIG or --container ID, not both") end
    if a.bundle then usage("--bundle is for a spec read from stdin, not --container") end
    a.config = input.find_container(a.container, a.containerd_root, a.crio_root)
  elseif not a.config then
    usage("missing argument 'config' (or --container ID)")
  end
  local inp = input.load(a.config, a.bundle)
  return inp, input.rootfs(a, inp)
end

--- Plan the spec the arguments name: `{input=, mounts=, rootfs=, layers=,
-- failed=}`, the warnings printed on stderr, and the failures unless `quiet`.
-- @tparam table a the parsed arguments
-- @tparam function usage
-- @tparam[opt] boolean explain
-- @tparam[opt] boolean quiet
-- @treturn table
function M.decide(a, usage, explain, quiet)
  local report = quiet and function() end or decisions.report_failure
  local settings = engine.parse_sets(a.set, usage)
  local inp, rootfs = M.load_input(a, usage)
  local e = engine.load(a.rules)
  for _, w in ipairs(inp.warnings) do util.warn(w) end
  local ctx = engine.context(e, settings, explain, usage)
  ctx.rootfs = rootfs
  local plan, errors = e:plan(inp.spec, ctx)
  if type(plan) ~= "table" then fail(2, inp.name .. ": " .. tostring(errors or "no plan")) end

  local out = { input = inp, mounts = plan.mounts, rootfs = plan.rootfs, layers = plan.layers, failed = 0 }
  -- a relative root.path with no bundle: no root filesystem to plan (warned)
  if inp.root_unresolved and not rootfs then out.rootfs = nil end
  for i, d in ipairs(out.mounts) do
    if inp.mounts[i].missing then d.source_missing = true end
    if d.error then out.failed = out.failed + 1; report(d, "mount") end
  end
  if out.rootfs and out.rootfs.error then
    out.failed = out.failed + 1
    report(out.rootfs, "root filesystem")
  end
  for _, d in ipairs(out.layers) do
    if d.error then out.failed = out.failed + 1; report(d, "layer") end
  end
  return out
end

--- Run `katamount plan`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  local topts = decisions.table_options(a, usage)
  local p = M.decide(a, usage, a.explain)
  if a.agent then
    if a.json then usage("--agent prints JSON already: give one of --agent and --json") end
    local agent = require("katamount.agent")
    json.print(agent.document({ mounts = p.mounts, rootfs = p.rootfs, layers = p.layers }))
  elseif a.json then
    local doc = { mounts = {}, layers = {}, rootfs = decisions.data(p.rootfs), warnings = p.input.warnings }
    for i, d in ipairs(p.mounts) do doc.mounts[i] = decisions.data(d) end
    for i, d in ipairs(p.layers) do doc.layers[i] = decisions.data(d) end
    json.print(doc)
  else
    local sections = { { decisions = p.mounts } }
    if p.rootfs then sections[#sections + 1] = { title = "root filesystem:", decisions = { p.rootfs } } end
    if #p.layers > 0 then
      sections[#sections + 1] = { title = ("layers (%d):"):format(#p.layers), decisions = p.layers }
    end
    decisions.print_table(sections, topts)
    local missing = 0
    for _, d in ipairs(p.mounts) do if d.source_missing then missing = missing + 1 end end
    util.emit(("\n%d mount%s, %s, %d layer%s%s%s\n"):format(#p.mounts, #p.mounts == 1 and "" or "s",
      p.rootfs and ("root filesystem " .. cell(p.rootfs.action)) or "no root filesystem",
      #p.layers, #p.layers == 1 and "" or "s",
      missing > 0 and ("; %d source%s missing on this host"):format(missing, missing == 1 and "" or "s")
        or "",
      p.failed > 0 and ("; " .. p.failed .. " could not be decided") or ""))
  end
  return p.failed > 0 and 1 or 0
end

return M
