-- spec/run.lua -- the one test runner: points package.path/cpath at the
-- source tree and the build, loads every spec/*_spec.lua (each returns a
-- table of luaunit test classes) and runs them all.
--
--   lua5.4 spec/run.lua [spec/foo_spec.lua ...] [luaunit options, e.g. -p pattern -v]
--
-- KATAMOUNT_BUILD names the build directory holding katamount/core.so
-- (default "build"; `make asan` points it at build-asan).
-- Run from the checkout's root, wherever we were started from.
local root = (arg and arg[0] or ""):match("^(.*)/spec/run%.lua$")
if root and root ~= "" and root ~= "." then assert(require("lfs").chdir(root)) end
local build = os.getenv("KATAMOUNT_BUILD") or "build"
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath

local lu = require("luaunit")
local core = require("katamount.core")
local H = require("helpers")

local files, lu_args = {}, {}
for _, a in ipairs(arg) do
  if a:match("_spec%.lua$") then files[#files + 1] = a else lu_args[#lu_args + 1] = a end
end
if #files == 0 then
  for _, name in ipairs(assert(core.list_dir("spec"))) do
    if name:match("_spec%.lua$") then files[#files + 1] = "spec/" .. name end
  end
end
table.sort(files)
-- compiled before the scratch root is made: a missing or broken spec file
-- stops the run here, leaving nothing behind
local chunks = {}
for i, file in ipairs(files) do chunks[i] = assert(loadfile(file, "t")) end

-- Every spec's temporary files live in one scratch root (a tmpfs of its own
-- inside the private mount namespace); the mount table is noted before the
-- specs run, so that a mount they leave anywhere is found afterwards.
H.scratch_open()
local function mount_points()
  local set = {}
  local t <close> = assert(core.mounts())
  for e in t:entries() do set[#set + 1] = e.mount_point end
  table.sort(set)
  return set
end
local mounts_before = mount_points()

local suites = {}
for i, file in ipairs(files) do
  local classes = chunks[i]()
  assert(type(classes) == "table", file .. " must return a table of test classes")
  local names = {}
  for name in pairs(classes) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do suites[#suites + 1] = { name, classes[name] } end
end

local runner = lu.LuaUnit.new()
runner:setOutputType("text")
-- luaunit 3.4 takes its options as varargs, or else from the `arg` table it
-- captured at require time: hand it only the luaunit options, through `arg`.
local argv = rawget(_G, "arg")
for i = #argv, 1, -1 do argv[i] = nil end
for i, a in ipairs(lu_args) do argv[i] = a end
local failures = runner:runSuiteByInstances(suites)
local r = runner.result

-- Nothing a spec made may be left: no file in the scratch root, no mount
-- below it, no mount anywhere that was not there before.
H.private_copy_remove()
local litter = H.litter()
local have = {}
for _, m in ipairs(mounts_before) do have[m] = (have[m] or 0) + 1 end
for _, m in ipairs(mount_points()) do
  if (have[m] or 0) > 0 then have[m] = have[m] - 1
  elseif m:sub(1, #H.scratch + 1) ~= H.scratch .. "/" then litter[#litter + 1] = "mount " .. m end
end
H.scratch_close()
if #litter > 0 then
  print("the specs left behind:")
  for _, l in ipairs(litter) do print("  " .. l) end
  r.failureCount = r.failureCount + 1
  failures = failures + 1
end
-- The plain closing line that CI reads.
print(string.format("%d passed, %d failed, %d skipped",
  r.successCount, r.failureCount + r.errorCount, r.skippedCount))
-- close the state (true): every object is collected, so valgrind and
-- LeakSanitizer report only what the C core really leaks
os.exit(failures == 0 and r.runCount > 0 and 0 or 1, true)
