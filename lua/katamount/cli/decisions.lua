--- Decisions as the commands show them: table columns and rows, the
-- `--explain` lines, JSON objects, and the failures on stderr.
-- @module katamount.cli.decisions
local cjson = require("cjson")
local util = require("katamount.cli.util")
local tbl = require("katamount.cli.table")

local cell, one_line = util.cell, util.one_line

local M = {}

--- The columns of a decision table (`-o` takes their names; `guest`,
-- `options`, `reasons` and `missing` only when named).
M.COLUMNS = {
  { name = "destination", title = "DESTINATION", shrink = "middle", min = 16, prio = 2, head = true },
  { name = "source", title = "SOURCE", shrink = "middle", min = 30, prio = 1, wrap = true },
  { name = "type", title = "TYPE", shrink = "end", min = 6 },
  { name = "class", title = "CLASS", shrink = "end", min = 9 },
  { name = "action", title = "ACTION", shrink = "end", min = 12 },
  { name = "rule", title = "RULE", shrink = "end", min = 12 },
  { name = "guest", title = "GUEST", shrink = "middle", min = 14, prio = 1, extra = true },
  { name = "options", title = "OPTIONS", shrink = "end", min = 10, extra = true },
  { name = "reasons", title = "REASONS", shrink = "end", min = 12, extra = true },
  { name = "missing", title = "MISSING", min = 7, extra = true },
}

--- The mark a source missing on this host gets in the table.
M.MISSING_MARK = " (missing)"

--- The guest side of a decision in a few words: the first storage's mount
-- point and driver, else where the container's mount points in the guest,
-- else "removed" (or "-" when no translation ran).
-- @tparam table d
-- @treturn string
function M.guest(d)
  local s = type(d.storages) == "table" and d.storages[1] or nil
  if type(s) == "table" then
    local more = #d.storages > 1 and (" +" .. (#d.storages - 1)) or ""
    return cell(s.mount_point) .. " (" .. cell(s.driver) .. ")" .. more
  end
  if type(d.guest_mount) == "table" then
    if d.guest_mount.source == d.source then return "as given" end
    return cell(d.guest_mount.source)
  end
  if d.guest_reason then return "removed" end
  return "-"
end

--- A decision's table row.
-- @tparam table d
-- @treturn table
function M.row(d)
  local reasons = type(d.reasons) == "table" and table.concat(d.reasons, "; ") or nil
  return { destination = cell(d.destination),
    source = cell(d.source) .. (d.source_missing and M.MISSING_MARK or ""),
    type = cell(d.type), class = d.error and "ERROR" or cell(d.class), action = cell(d.action),
    rule = cell(d.rule), guest = M.guest(d), options = cell(d.options), reasons = cell(reasons),
    missing = d.source_missing and "yes" or "-" }
end

--- A decision as JSON data: the six fields the contract promises (null
-- when absent) and whatever else the engine gave.
-- @tparam ?table d
function M.data(d)
  if d == nil then return cjson.null end
  local t = require("katamount.cli.json").plain(d)
  for _, k in ipairs({ "source", "destination", "type", "class", "action", "rule" }) do
    if t[k] == nil then t[k] = cjson.null end
  end
  return t
end

--- The lines `--explain` adds under a decision: every rule tried, with
-- file:line and why it matched or not (the reasons when there is no trace).
-- @tparam table d
-- @tparam[opt] string indent
-- @treturn {string,...}
function M.explain_lines(d, indent)
  indent = indent or "    "
  local out = {}
  if d.error then out[#out + 1] = indent .. "error: " .. one_line(d.error) end
  if d.source_missing then
    out[#out + 1] = indent .. "source: not on this host; the rules decided without it"
  end
  local tr = d.translation
  if type(tr) == "table" then
    out[#out + 1] = ("%sguest: translated by '%s' [%s:%s]%s"):format(indent, one_line(tr.name),
      util.display_path(tr.file), tostring(tr.line),
      d.guest_reason and ("; " .. one_line(d.guest_reason)) or "")
  end
  local trace = type(d.trace) == "table" and d.trace or {}
  if #trace == 0 then
    for _, r in ipairs(type(d.reasons) == "table" and d.reasons or {}) do
      out[#out + 1] = indent .. "because " .. one_line(r)
    end
    return out
  end
  out[#out + 1] = indent .. "rules tried:"
  local nw = 0
  for _, t in ipairs(trace) do nw = math.max(nw, utf8.len(t.name) or #t.name) end
  for _, t in ipairs(trace) do
    local at = t.file and (" [" .. util.display_path(t.file) .. ":" .. tostring(t.line) .. "]") or ""
    out[#out + 1] = ("%s  %s %s%s  %s%s%s"):format(indent, t.matched and "+" or "-", one_line(t.name),
      string.rep(" ", nw - (utf8.len(t.name) or #t.name)), t.matched and "matched" or "no",
      (t.why and t.why ~= "") and (": " .. one_line(t.why)) or "", at)
  end
  return out
end

--- Print decisions in sections (`{title=, decisions=}`) as one table.
-- @tparam {table,...} sections
-- @tparam table opts `cols` (selected), `width`, `headers`, `explain`
function M.print_table(sections, opts)
  local rows, extra = {}, {}
  for _, s in ipairs(sections) do
    if s.title then rows[#rows + 1] = { section = s.title } end
    for _, d in ipairs(s.decisions) do
      rows[#rows + 1] = M.row(d)
      if opts.explain then extra[#rows] = M.explain_lines(d) end
    end
  end
  tbl.print(opts.cols, rows, { width = opts.width, headers = opts.headers, extra = extra })
end

--- "katamount: WHAT DEST (source S): ERROR" on stderr.
function M.report_failure(d, what)
  io.stderr:write(("katamount: %s %s (source %s): %s\n"):format(what, cell(d.destination), cell(d.source),
    one_line(d.error)))
end

--- The output options every deciding command takes.
-- @tparam table cmd an argparse command
function M.output_options(cmd)
  cmd:flag("--json", "Print one JSON document instead of a table.")
  cmd:flag("--explain", "Show every rule tried for each mount, and why it matched or not.")
  tbl.add_options(cmd, M.COLUMNS)
end

--- The table's options from the parsed arguments.
-- @tparam table a
-- @tparam function usage
-- @treturn table `{cols=, width=, headers=, explain=}`
function M.table_options(a, usage)
  local o = tbl.options(a, M.COLUMNS, usage)
  o.explain = a.explain
  return o
end

return M
