--- `katamount mounts [PATH]`: the host's mount table as katamount reads it.
-- @module katamount.cli.mounts
local util = require("katamount.cli.util")
local tbl = require("katamount.cli.table")
local json = require("katamount.cli.json")

local cell = util.cell

local M = {}

--- The table's columns.
M.COLUMNS = {
  { name = "mount-point", title = "MOUNT POINT", shrink = "middle", min = 14, prio = 3, head = true },
  { name = "fstype", title = "FSTYPE", shrink = "end", min = 6, prio = 4 },
  { name = "source", title = "SOURCE", shrink = "middle", min = 10, prio = 2 },
  { name = "maj-min", title = "MAJ:MIN", min = 7 },
  { name = "options", title = "OPTIONS", shrink = "end", min = 10, prio = 1 },
  { name = "id", title = "ID", min = 2, extra = true },
  { name = "parent", title = "PARENT", min = 6, extra = true },
  { name = "root", title = "ROOT", shrink = "middle", min = 8, extra = true },
}

--- Add the command to the parser.
-- @tparam table parser
function M.add(parser)
  local cmd = parser:command("mounts", "Print the host's mount table as katamount reads it.")
    :epilog("Exit status: 0 done; 2 bad usage or a mount table that cannot be read.")
  cmd:argument("path", "A mountinfo file (default /proc/self/mountinfo)."):args("?")
  cmd:flag("--json", "Print it as JSON.")
  tbl.add_options(cmd, M.COLUMNS)
end

--- Run `katamount mounts`.
-- @tparam table a
-- @tparam function usage
-- @treturn integer the exit status
function M.run(a, usage)
  local topts = tbl.options(a, M.COLUMNS, usage)
  local c = util.need_core()
  local path = a.path or "/proc/self/mountinfo"
  local t <close>, msg = c.mounts(a.path)
  if not t then
    util.fail(2, tostring(msg):find(path, 1, true) and msg or (path .. ": " .. tostring(msg)))
  end
  local entries = {}
  for e in t:entries() do entries[#entries + 1] = e end
  if a.json then
    local doc = { path = path, mounts = {} }
    for i, x in ipairs(entries) do doc.mounts[i] = json.plain(x) end
    json.print(doc)
    return 0
  end
  local rows = {}
  for _, x in ipairs(entries) do
    rows[#rows + 1] = { ["mount-point"] = cell(x.mount_point), fstype = cell(x.fstype),
      source = cell(x.source),
      ["maj-min"] = ("%s:%s"):format(cell(x.major), cell(x.minor)), options = cell(x.options),
      id = cell(x.id), parent = cell(x.parent), root = cell(x.root) }
  end
  tbl.print(topts.cols, rows, topts)
  return 0
end

return M
