-- spec/run.lua -- the one test runner: points package.path/cpath at the
-- source tree and the build, loads every spec/*_spec.lua (each returns a
-- table of luaunit test classes) and runs them all.
--
--   lua5.4 spec/run.lua [spec/foo_spec.lua ...] [luaunit options, e.g. -p pattern -v]
--
-- KATAMOUNT_BUILD names the build directory holding katamount/core.so
-- (default "build"; `make asan` points it at build-asan).
local build = os.getenv("KATAMOUNT_BUILD") or "build"
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath

local lu = require("luaunit")

local files, lu_args = {}, {}
for _, a in ipairs(arg) do
  if a:match("_spec%.lua$") then files[#files + 1] = a else lu_args[#lu_args + 1] = a end
end
if #files == 0 then
  local p = assert(io.popen("ls spec/*_spec.lua 2>/dev/null"))
  for line in p:lines() do files[#files + 1] = line end
  p:close()
end
table.sort(files)

local suites = {}
for _, file in ipairs(files) do
  local chunk = assert(loadfile(file, "t"))
  local classes = chunk()
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
-- The plain closing line that CI reads.
print(string.format("%d passed, %d failed, %d skipped",
  r.successCount, r.failureCount + r.errorCount, r.skippedCount))
-- close the state (true): every object is collected, so valgrind and
-- LeakSanitizer report only what the C core really leaks
os.exit(failures == 0 and r.runCount > 0 and 0 or 1, true)
