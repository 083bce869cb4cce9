-- spec/core_term_spec.lua -- katamount.core.terminal_width: one ioctl on
-- descriptor 0, 1 or 2, run in child processes whose standard output is a
-- pipe, /dev/null, or a pseudo-terminal of a set width (util-linux script).
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

-- A Lua one-liner printing terminal_width(fd)'s answers, as a shell command.
local function probe(fd)
  return ("env %s lua5.4 -e %s"):format(H.lua_env(), H.q(
    "package.cpath = os.getenv('KATAMOUNT_BUILD') .. '/?.so;' .. package.cpath " ..
    "local w, msg, errno = require('katamount.core').terminal_width(" .. fd .. ") " ..
    "io.stderr:write(tostring(w), '|', tostring(msg), '|', tostring(errno), '\\n')"))
end

local T = {}

function T.test_not_a_terminal_is_enotty()
  -- stdout a pipe, then /dev/null; the answer comes on stderr (a pipe here)
  for _, cmd in ipairs({ "{ %s | cat >/dev/null; } 2>&1", "{ %s >/dev/null; } 2>&1" }) do
    local out = H.sh(cmd:format(probe(1)))
    lu.assertNotNil(out:match("^nil|terminal_width: [^|]+|25$"), cmd .. ": " .. out)
  end
end

function T.test_width_of_a_pseudo_terminal()
  lu.skipIf(not H.run("command -v script"), "needs util-linux script")
  for _, cols in ipairs({ 60, 100, 200 }) do
    -- stderr of the probe is the pty too: its one line comes back through script
    local out = H.sh(("script -qec %s /dev/null </dev/null"):format(
      H.q(("stty cols %d rows 10; %s"):format(cols, probe(1)))))
    lu.assertStrContains(out, ("%d|nil|nil"):format(cols))
  end
end

function T.test_bad_descriptor_raises()
  for _, fd in ipairs({ -1, 3, 1000 }) do
    lu.assertErrorMsgContains("KM_TERM_FD_MAX", core.terminal_width, fd)
  end
  lu.assertErrorMsgContains("number expected", core.terminal_width, "x")
end

return { TestCoreTerminalWidth = T }
