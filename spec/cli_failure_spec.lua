-- spec/cli_failure_spec.lua -- the `katamount` command never dies badly,
-- run as a process: an endless or huge input file, NUL bytes and over-long
-- paths in config.json, running out of memory, a closed or full stdout and
-- a broken pipe each end in one line `katamount: ...` on stderr and a
-- non-zero status; control characters of the input are escaped.
local lu = require("luaunit")
local H = require("helpers")
local cjson = require("cjson")

local q = H.q
local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil

local T = {}

local slurp, lines, assert_one_line = H.slurp, H.lines, H.assert_one_line

--- Run `pre; katamount ARGS REDIRECT` in bash from the checkout; returns
-- {out=, err=, code=} (code: katamount's own status, also inside a pipe).
local function km(args, redirect, pre)
  local dir = H.sh("mktemp -d " .. q(H.scratch_open() .. "/cli-failure.XXXXXX"))
  local err, out = dir .. "/err", dir .. "/out"
  local script = ("cd %s && %s %s 2>%s %s; echo \"${PIPESTATUS[0]}\" >%s")
    :format(q(H.root), pre or "", H.km_command(args), q(err), redirect or (">" .. q(out)), q(out .. ".rc"))
  local p = assert(io.popen("bash -c " .. q(script)))
  p:read("a")
  p:close()
  local r = { out = slurp(out), err = slurp(err), code = tonumber(slurp(out .. ".rc"):match("%d+")) }
  H.run("rm -rf " .. q(dir))
  return r
end

-- A config.json of `mounts` (a list of {source, destination}), with
-- root.path `root` when given.
local function config(dir, mounts, root)
  local list = {}
  for i, m in ipairs(mounts) do
    list[i] = { source = m[1], destination = m[2], type = m.type or "bind",
      options = m.options or { "rbind" } }
  end
  return H.write(dir .. "/config.json", cjson.encode({ ociVersion = "1.0.2", mounts = list,
    root = root and { path = root } or nil }))
end

T.TestCliInput = { tearDown = H.cleanup }

-- An endless input is cut at INPUT_MAX, read no further.
function T.TestCliInput.test_dev_zero_refused()
  local r = km("plan /dev/zero")
  assert_one_line(r, 2, "katamount: /dev/zero: larger than the input limit of 16777216 bytes (INPUT_MAX")
  lu.assertEquals(r.out, "")
  local d = H.tmpdir("cli-big")
  H.sh("truncate -s 17M " .. q(d .. "/rootfs.json"))
  config(d, { { "/tmp", "/t" } })
  assert_one_line(km(("plan %s/config.json --rootfs %s/rootfs.json"):format(q(d), q(d))), 2,
    "katamount: " .. d .. "/rootfs.json: larger than the input limit")
end

-- A NUL byte or a path longer than PATH_MAX in a mount's source: that
-- mount fails with the core's message naming it; the others are decided.
function T.TestCliInput.test_nul_and_long_paths_fail_their_mount()
  local d = H.tmpdir("cli-nul")
  local long = "/" .. ("a"):rep(4096)
  config(d, { { "/a\0b", "/nul" }, { long, "/long" }, { "/tmp", "/ok" } })
  local r = km("plan " .. q(d .. "/config.json") .. " --json")
  lu.assertEquals(r.code, 1, r.err)
  local l = lines(r.err)
  lu.assertEquals(#l, 3, r.err) -- the two mounts, and the spec has no root filesystem
  lu.assertStrContains(l[1], "katamount: mount /nul (source /a\\x00b): ")
  lu.assertStrContains(l[1], "clean '/a\\0b': path contains a NUL byte")
  lu.assertStrContains(l[2], "katamount: mount /long (source " .. long .. "): ")
  lu.assertStrContains(l[2], "path longer than KM_PATH_MAX (4096 bytes)")
  lu.assertNotStrContains(r.err, "attempt to")
  local doc = cjson.decode(r.out)
  lu.assertNotNil(doc.mounts[1].error)
  lu.assertNotNil(doc.mounts[2].error)
  lu.assertNil(doc.mounts[3].error)
  lu.assertEquals(doc.mounts[3].destination, "/ok")
end

-- Control characters of the input never reach the terminal raw.
function T.TestCliInput.test_control_characters_escaped()
  local d = H.tmpdir("cli-ctl")
  config(d, { { "/a\0\27[31mred\nnext", "/x" } })
  local r = km("plan " .. q(d .. "/config.json"))
  lu.assertEquals(r.code, 1, r.err)
  lu.assertNotStrContains(r.err, "\27")
  lu.assertStrContains(r.err, "\\x1b[31mred\\x0anext")
  lu.assertEquals(#lines(r.err), 2, r.err) -- the mount and the missing root filesystem
  r = km("plan " .. q("/nonexistent/\27]0;title\7.json"))
  assert_one_line(r, 2, "katamount: /nonexistent/\\x1b]0;title\\x07.json: No such file or directory")
end

T.TestCliOutput = { tearDown = H.cleanup }

function T.TestCliOutput.test_closed_stdout()
  local r = km("rules", ">&-")
  assert_one_line(r, 2, "katamount: cannot write the output: standard output is closed")
end

function T.TestCliOutput.test_full_device()
  for _, args in ipairs({ "rules", "rules --json", "mounts", "classify --source /tmp --destination /t" }) do
    assert_one_line(km(args, ">/dev/full"), 2, "katamount: cannot write the output: No space left on device")
  end
end

-- More output than a pipe holds, read by `head -c1`, which then exits:
-- the command's next write fails (EPIPE), reported in one line, status 2.
function T.TestCliOutput.test_broken_pipe()
  local d = H.tmpdir("cli-pipe")
  local mounts = {}
  for i = 1, 3000 do mounts[i] = { "proc", "/proc/" .. i, type = "proc", options = {} } end
  config(d, mounts, H.mkdir(d .. "/rootfs"))
  local r = km("plan " .. q(d .. "/config.json") .. " --json", "| head -c1 >/dev/null")
  assert_one_line(r, 2, "katamount: cannot write the output: Broken pipe")
end

-- Out of memory (decoding a large config.json under `ulimit -v`): one
-- line, status 2.
function T.TestCliOutput.test_out_of_memory()
  lu.skipIf(SANITIZED, "the sanitizers need more address space than the limit")
  local d = H.tmpdir("cli-oom")
  local f = assert(io.open(d .. "/config.json", "wb"))
  f:write('{"mounts":[', ('{"a":[1,2]},'):rep(1200000), '{"a":[1,2]}]}')
  f:close()
  local r = km("plan " .. q(d .. "/config.json"), nil, "ulimit -v 100000;")
  assert_one_line(r, 2, "katamount: out of memory")
end

return T
