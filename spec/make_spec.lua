-- spec/make_spec.lua -- README's two commands as a user without root: one
-- line says what is needed, before anything is installed or built.
local lu = require("luaunit")
local H = require("helpers")

local TestMakeWithoutRoot = {}
function TestMakeWithoutRoot.tearDown() H.cleanup() end

function TestMakeWithoutRoot.test_one_line_before_anything()
  H.need_root()
  local d = H.tmpdir("make")
  H.sh("chmod 755 " .. H.q(d) .. " && cp " .. H.q(H.root .. "/Makefile") .. " " .. H.q(d))
  for _, goal in ipairs({ "test", "demo", "bench", "asan", "valgrind" }) do
    local out, _, code = H.run("cd " .. H.q(d) .. " && timeout 60 setpriv --reuid=65534 --regid=65534 "
      .. "--clear-groups env -u MAKEFLAGS -u MAKELEVEL make -s " .. goal)
    lu.assertEquals(code, 2, goal .. ": " .. out)
    local line = out:match("Makefile:(%d+)")
    lu.assertEquals(out, "make " .. goal .. ": needs root (it installs Debian packages and mounts"
      .. " tmpfs inside `unshare -m`)\nmake: *** [Makefile:" .. tostring(line) .. ": need-root] Error 2")
    -- nothing was built or installed
    lu.assertEquals(require("katamount.core").list_dir(d), { "Makefile" }, goal)
  end
end

return { TestMakeWithoutRoot = TestMakeWithoutRoot }
