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

--- kata's check of a container or sandbox id (katautils' validCIDRegex),
-- as a Lua pattern: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
M.ID_PATTERN = "^[%w][%w_.-]+$"

--- Where containerd and CRI-O put the sandbox's id in a container's spec.
M.SANDBOX_ID_ANNOTATIONS = { "io.kubernetes.cri.sandbox-id", "io.kubernetes.cri-o.SandboxID" }

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
  cmd:option("--container-id", "The container's id in guest paths (default: a bundle's directory name).")
    :argname("ID")
  cmd:option("--sandbox-id", "The sandbox's id in guest paths (default: a bundle's\n" ..
    M.SANDBOX_ID_ANNOTATIONS[1] .. " or " .. M.SANDBOX_ID_ANNOTATIONS[2] ..
    "\nannotation, else the container's id).")
    :argname("ID")
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
  local id = nil
  if a.container then
    if a.config then usage("give CONFIG or --container ID, not both") end
    if a.bundle then usage("--bundle is for a spec read from stdin, not --container") end
    a.config, id = input.find_container(a.container, a.containerd_root, a.crio_root)
  elseif not a.config then
    usage("missing argument 'config' (or --container ID)")
  end
  local inp = input.load(a.config, a.bundle)
  inp.container = id
  return inp, input.rootfs(a, inp)
end

local function valid_id(id)
  return type(id) == "string" and id:find(M.ID_PATTERN) ~= nil
end

--- The container and sandbox ids of a plan: `--container-id` and
-- `--sandbox-id` (a usage error unless they match kata's
-- `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`); for a bundle (a directory, `--bundle`
-- or `--container`) without them, the container's id is the bundle
-- directory's name when it matches (CRI-O's `<id>/userdata`: the id;
-- `--container`: the container's whole id), the sandbox's the spec's
-- containerd or CRI-O annotation (bad input unless it matches), else the
-- container's id. An id found nowhere is nil (the rules' placeholder).
-- @tparam table a the parsed arguments
-- @tparam table inp the input (`load_input`)
-- @tparam function usage
-- @treturn ?string the container's id
-- @treturn ?string the sandbox's id
function M.ids(a, inp, usage)
  local cid, sid = a.container_id, a.sandbox_id
  for flag, id in pairs({ ["--container-id"] = cid, ["--sandbox-id"] = sid }) do
    if not valid_id(id) and id ~= nil then
      usage(("%s %s: an id must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (kata's check)"):format(flag, cell(id)))
    end
  end
  if not inp.is_bundle and not inp.container then return cid, sid end
  if cid == nil then
    local name = inp.container
    if name == nil then
      local c = util.need_core()
      local dir = c.realpath(inp.bundle) or c.clean(inp.bundle) or inp.bundle
      name = dir:match("([^/]*)$")
      if name == "userdata" then name = util.dirname(dir):match("([^/]*)$") end
    end
    if valid_id(name) then cid = name end
  end
  if sid == nil then
    local ann = type(inp.spec.annotations) == "table" and inp.spec.annotations or {}
    for _, key in ipairs(M.SANDBOX_ID_ANNOTATIONS) do
      local v = ann[key]
      if v ~= nil then
        if not valid_id(v) then
          fail(2, ("%s: annotation %s %s is not an id kata accepts (^[a-zA-Z0-9][a-zA-Z0-9_.-]+$)")
            :format(inp.name, key, cell(v)))
        end
        sid = v
        break
      end
    end
    if sid == nil then sid = cid end
  end
  return cid, sid
end

--- Put the ids of `M.ids` in `ctx`, unless `--set` gave them already
-- (the flags and `--set` together are a usage error).
-- @tparam table ctx
-- @tparam table a
-- @tparam table inp
-- @tparam function usage
function M.apply_ids(ctx, a, inp, usage)
  local cid, sid = M.ids(a, inp, usage)
  for key, v in pairs({ container_id = cid, sandbox_id = sid }) do
    local flag = "--" .. key:gsub("_", "-")
    if a[key] ~= nil and ctx[key] ~= nil then usage(("give %s or --set %s=, not both"):format(flag, key)) end
    if ctx[key] == nil then ctx[key] = v end
  end
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
  M.apply_ids(ctx, a, inp, usage)
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
