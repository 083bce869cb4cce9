--- The `katamount` command: the parser, one module per command
-- (`katamount.cli.plan`, `.why`, `.classify`, `.rules`, `.mounts`,
-- `.completion`), one per output form (`katamount.cli.table`,
-- `katamount.cli.json`), and the one place failures become one line and an
-- exit status.
--
-- Exit status: 0 done; 1 some mount could not be decided (each failure on
-- stderr, the other decisions still printed); 2 bad usage or bad input (one
-- line on stderr: "katamount: <file>: <what is wrong>"), and also an
-- unexpected internal error ("katamount: internal error: ...";
-- KATAMOUNT_DEBUG=1 adds the traceback). Out of memory, an input larger
-- than INPUT_MAX, and a standard output that is closed, full or a broken
-- pipe each end in one such line and exit status 2. Control characters of
-- any message are shown as \xNN.
-- @module katamount.cli
local util = require("katamount.cli.util")

local M = {}

--- The commands, in the order `--help` lists them.
M.COMMANDS = { "plan", "why", "classify", "rules", "diff", "mounts", "completion" }

--- The parser of the whole command.
-- @treturn table an argparse parser
function M.parser()
  local argparse = require("argparse")
  local plan = require("katamount.cli.plan")
  local parser = argparse("katamount",
    "Show how a VM container runtime (Kata Containers style) handles each mount of a container.")
    :epilog(plan.EXIT_HELP .. "\nRun `katamount COMMAND --help` for a command's options; man katamount.")
  parser:flag("--version", "Print the version and exit.")
    :action(function()
      local ok = io.stdout:write("katamount ", util.version(), "\n") and io.stdout:flush()
      if not ok then io.stderr:write("katamount: cannot write the output\n") end
      os.exit(ok and 0 or 2)
    end)
  parser:command_target("command")
  parser:require_command(true)
  for _, name in ipairs(M.COMMANDS) do require("katamount.cli." .. name).add(parser) end
  -- usage errors: one line naming the command, exit 2 (argparse would exit 1)
  parser.error = function(p, msg)
    local name = p._name or "katamount"
    if name ~= "katamount" then name = "katamount " .. name end
    io.stderr:write(("%s: %s (see '%s --help')\n"):format(name, util.one_line(msg), name))
    os.exit(2)
  end
  return parser
end

local function run(argv)
  -- a write to a broken pipe then fails (EPIPE) and is reported, rather
  -- than SIGPIPE ending the command without a word
  local c = util.core()
  if c.ignore_sigpipe then c.ignore_sigpipe() end
  local _, serr, errno = io.stdout:seek("cur")
  if errno == 9 then
    util.fail(2, "cannot write the output: standard output is closed (" .. tostring(serr) .. ")")
  end
  local parser = M.parser()
  local a = parser:parse(argv)
  local function usage(msg) parser.error({ _name = a.command }, msg) end
  return require("katamount.cli." .. a.command).run(a, usage, parser)
end

--- Run the command with `argv` and return its exit status, having printed
-- any failure as one line on stderr.
-- @tparam {string,...} argv
-- @treturn integer
function M.main(argv)
  -- Out of memory, Lua calls no message handler: the result is the bare
  -- string, reported as one line like any other failure.
  local ok, res = xpcall(run, function(e)
    if getmetatable(e) == util.Failure then return e end
    if e == "not enough memory" then return e end -- allocate nothing more here
    return { code = 2, msg = "internal error: " .. util.one_line(e), traceback = debug.traceback(nil, 2) }
  end, argv)
  if ok then
    -- what is still buffered must reach stdout, or the command failed
    local fok, ferr = io.stdout:flush()
    if fok then return res or 0 end
    res = { code = 2, msg = "cannot write the output: " .. util.one_line(ferr) }
  end
  if type(res) ~= "table" then
    local oom = res == "not enough memory"
    res = { code = 2, msg = oom and "out of memory" or ("internal error: " .. util.one_line(res)) }
  end
  io.stderr:write("katamount: ", res.msg, "\n")
  if res.traceback and os.getenv("KATAMOUNT_DEBUG") then io.stderr:write(res.traceback, "\n") end
  return res.code or 2
end

return M
