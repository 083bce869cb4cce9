--- The table output form: aligned columns fitted to a width, long cells
-- elided ("…"), or nothing cut at all.
--
-- The width: with `--wide`, none (nothing is cut); else `$COLUMNS` when it
-- is set (0: none; as `ls` does, even on a pipe); else the terminal's on
-- standard output (one ioctl, `core.terminal_width`); else, when standard
-- output is no terminal (a pipe, a file), none.
--
-- A column is `{name=, title=, shrink = "middle"|"end", min=, prio=, wrap=,
-- head=, extra=}`: `name` is what `-o` takes; `prio` marks the columns
-- shrunk first (the widest of them, one character at a time); `wrap` the
-- column moved to a line of its own when the table does not fit; `head`
-- the cells titling a row's block in the narrowest layout; `extra` a column
-- shown only when `-o` names it. Rows are maps from column name to cell
-- text, or `{section = "title"}`.
-- @module katamount.cli.table
local util = require("katamount.cli.util")

local M = {}

local ELLIPSIS = "…"
local GAP = "  "
--- The width of a terminal that does not say its own.
M.FALLBACK_WIDTH = 80

local function width_of(s)
  return utf8.len(s) or #s
end

local function head(s, n)
  if n <= 0 then return "" end
  if not utf8.len(s) then return s:sub(1, n) end
  local b = utf8.offset(s, n + 1)
  return b and s:sub(1, b - 1) or s
end

local function tail(s, n)
  if n <= 0 then return "" end
  if not utf8.len(s) then return s:sub(-n) end
  local b = utf8.offset(s, -n)
  return b and s:sub(b) or s
end

--- Elide `s` to `w` characters: "middle" keeps both ends (a path's last
-- components matter most: the tail gets the larger share, whole trailing
-- components when they fit), "end" the start.
-- @tparam string s
-- @tparam integer w
-- @tparam string how
-- @treturn string
function M.elide(s, w, how)
  if width_of(s) <= w then return s end
  if w <= 1 then return head(ELLIPSIS, w) end
  if how == "end" then return head(s, w - 1) .. ELLIPSIS end
  local keep = w - 1
  local t = math.ceil(keep * 0.6)
  local best
  local b = #s
  while true do
    b = s:sub(1, b - 1):match(".*()/")
    if not b or b == 1 then break end
    local tw = width_of(s:sub(b))
    if tw <= t or (not best and tw <= keep - 4) then best = tw else break end
  end
  if best then t = best end
  return head(s, keep - t) .. ELLIPSIS .. tail(s, t)
end

--- The width to fit (see the module's note), nil for no limit.
-- @tparam[opt] boolean wide
-- @treturn ?integer
function M.width(wide)
  if wide then return nil end
  local c = os.getenv("COLUMNS")
  if c and c:match("^%d+$") then
    c = math.tointeger(tonumber(c))
    return c and c > 0 and c or nil
  end
  local core = util.core()
  if not core.terminal_width then return nil end
  local cols = core.terminal_width(1)
  if cols == nil then return nil end -- not a terminal: nothing is cut
  return cols > 0 and cols or M.FALLBACK_WIDTH
end

local function norm(name)
  return (name:lower():gsub("[%s_]", "-"))
end

--- The columns `-o LIST` names (comma-separated, case-insensitive; `_`
-- and `-` alike), in that order; all of `cols` when `list` is nil.
-- Calls `usage(message)` for a name `cols` lacks.
-- @tparam table cols
-- @tparam ?string list
-- @tparam function usage
-- @treturn table
function M.select(cols, list, usage)
  local shown = {}
  for _, c in ipairs(cols) do
    if not c.extra then shown[#shown + 1] = c end
  end
  if list == nil then return shown end
  local by, names = {}, {}
  for _, c in ipairs(cols) do
    by[c.name] = c
    names[#names + 1] = c.name
  end
  local out, seen = {}, {}
  for item in (list .. ","):gmatch("([^,]*),") do
    local n = norm(item:match("^%s*(.-)%s*$"))
    local c = by[n]
    if not c then
      usage(("-o %s: no column '%s' (columns: %s)"):format(list, n, table.concat(names, ",")))
    end
    if not seen[n] then out[#out + 1] = c; seen[n] = true end
  end
  return out
end

local function fit(cols, rows, width, all)
  local w, total = {}, 0
  for i, c in ipairs(cols) do
    w[i] = width_of(c.title)
    for _, r in ipairs(rows) do
      if not r.section then w[i] = math.max(w[i], width_of(r[c.name] or "-")) end
    end
    total = total + w[i]
  end
  total = total + #GAP * (#cols - 1)
  if not width or total <= width then return w end
  local candidates = {}
  for i, c in ipairs(cols) do
    if c.shrink and (all or c.prio) then candidates[#candidates + 1] = i end
  end
  while total > width do
    local best
    for _, i in ipairs(candidates) do
      local floor = math.max(cols[i].min or 8, width_of(cols[i].title))
      if w[i] > floor and (not best or w[i] > w[best]) then best = i end
    end
    if not best then break end
    w[best], total = w[best] - 1, total - 1
  end
  if total > width then return nil end
  return w
end

local function render_row(cols, w, cells)
  local out = {}
  for i, c in ipairs(cols) do
    local s = cells[c.name] or "-"
    if w then s = M.elide(s, w[i], c.shrink) end
    out[i] = (i < #cols and w) and (s .. string.rep(" ", w[i] - width_of(s))) or s
  end
  return (table.concat(out, GAP):gsub("%s+$", ""))
end

local function titles(cols)
  local t = {}
  for _, c in ipairs(cols) do t[c.name] = c.title end
  return t
end

--- Print an aligned table. When the columns do not fit `opts.width`, the
-- column marked `wrap` moves to a line of its own under each row; when even
-- that does not fit, each row becomes a small block.
-- @tparam table cols the columns shown (see `M.select`)
-- @tparam table rows
-- @tparam table opts `width` (nil: nothing cut), `headers` (false: no title
--   line), `extra` (lines printed under row i)
function M.print(cols, rows, opts)
  local width, extra = opts.width, opts.extra or {}
  local headers = opts.headers ~= false
  local out = {}
  local function body(render)
    for i, r in ipairs(rows) do
      if r.section then
        out[#out + 1] = ""
        out[#out + 1] = r.section
      else
        render(r)
        for _, l in ipairs(extra[i] or {}) do out[#out + 1] = l end
      end
    end
  end
  local function done() util.emit(table.concat(out, "\n"), "\n") end
  local wrap
  for i, c in ipairs(cols) do if c.wrap and #cols > 2 then wrap = i end end
  local w = fit(cols, rows, width) or (not wrap and fit(cols, rows, width, true))
  if w then
    if headers then out[#out + 1] = render_row(cols, w, titles(cols)) end
    body(function(r) out[#out + 1] = render_row(cols, w, r) end)
    return done()
  end
  if wrap then
    local narrow = {}
    for i, c in ipairs(cols) do if i ~= wrap then narrow[#narrow + 1] = c end end
    local nw = fit(narrow, rows, width) or fit(narrow, rows, width, true)
    if nw then
      local wc = cols[wrap]
      local label = "    " .. wc.title:lower() .. " "
      if headers then
        out[#out + 1] = render_row(narrow, nw, titles(narrow))
        out[#out + 1] = "    " .. wc.title
      end
      body(function(r)
        out[#out + 1] = render_row(narrow, nw, r)
        out[#out + 1] = label .. M.elide(r[wc.name] or "-", math.max(8, width - width_of(label)), wc.shrink)
      end)
      return done()
    end
  end
  -- blocks: the `head` cells as a title line, then the others
  local heads, rest, tw = {}, {}, 0
  for _, c in ipairs(cols) do
    if c.head or #heads == 0 then heads[#heads + 1] = c else rest[#rest + 1] = c end
  end
  for _, c in ipairs(rest) do tw = math.max(tw, width_of(c.title)) end
  local vw = math.max(8, width - tw - 3)
  body(function(r)
    local t = {}
    for i, c in ipairs(heads) do t[i] = r[c.name] or "-" end
    out[#out + 1] = M.elide(table.concat(t, "  "), math.max(8, width), heads[1].shrink or "middle")
    for _, c in ipairs(rest) do
      local name = c.title:lower()
      out[#out + 1] = "  " .. name .. string.rep(" ", tw - width_of(name)) .. " " ..
        M.elide(r[c.name] or "-", vw, c.shrink or "end")
    end
  end)
  done()
end

--- Add `-o/--output`, `--no-headers` and `--wide` to a command.
-- @tparam table cmd an argparse command
-- @tparam table cols its table's columns
function M.add_options(cmd, cols)
  local names, extra = {}, {}
  for _, c in ipairs(cols) do
    names[#names + 1] = c.name
    if c.extra then extra[#extra + 1] = c.name end
  end
  cmd:option("-o --output", "The table's columns, in order, comma-separated, of\n" .. table.concat(names, ",")
    .. (#extra > 0 and ("\n(" .. table.concat(extra, ", ") .. ": only when named).") or "."))
    :argname("COLUMNS")
  cmd:flag("--no-headers", "Print no title line.")
  cmd:flag("--wide", "Cut nothing, whatever the width of the terminal or $COLUMNS.")
end

--- The options of `M.print` from the parsed arguments.
-- @tparam table a
-- @tparam table cols
-- @tparam function usage
-- @treturn table `{cols=, width=, headers=}`
function M.options(a, cols, usage)
  return { cols = M.select(cols, a.output, usage), width = M.width(a.wide), headers = not a.no_headers }
end

return M
