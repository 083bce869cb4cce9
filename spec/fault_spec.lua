-- spec/fault_spec.lua -- the faults a node meets in production: a directory
-- deleted while it is counted, a directory the caller may not read, the
-- mount table changing between two lookups, damaged mountinfo files, and
-- error paths called 100,000 times with descriptors and memory checked.
-- (The rules-directory permission faults are in the engine's specs.)
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil
local function scaled(n) return SANITIZED and math.max(1, n // 100) or n end

-- The count_files contract: a number in -1..limit, or nil, message, errno.
local function assert_count_shape(limit, n, msg, errno)
  if n == nil then
    lu.assertIsString(msg)
    lu.assertTrue(math.type(errno) == "integer", "errno must be an integer: " .. tostring(errno))
  else
    lu.assertTrue(math.type(n) == "integer", "count must be an integer: " .. tostring(n))
    lu.assertTrue(n >= -1 and n <= limit, "count out of range: " .. tostring(n))
  end
end

-------------------------------------------------------------------------------
local TestFaultCountRace = {}

function TestFaultCountRace.tearDown() H.cleanup() end

-- A background shell deletes and recreates the tree being counted, as a
-- kubelet does when it swaps a configmap's ..data directory. Every result
-- must be a count or nil, message, errno; the process must not crash.
local function race(d)
  local tree, stop, done = d .. "/t", d .. "/STOP", d .. "/DONE"
  H.mkdir(tree .. "/a/b")
  local loop = ("i=0; while [ ! -e %s ] && [ $i -lt 100000 ]; do rm -rf %s; mkdir -p %s/a/b/c; " ..
    "touch %s/f1 %s/a/f2 %s/a/b/f3 %s/a/b/c/f4 %s/a/b/c/f5; i=$((i+1)); done; touch %s")
    :format(H.q(stop), H.q(tree), H.q(tree), H.q(tree), H.q(tree), H.q(tree), H.q(tree), H.q(tree), H.q(done))
  -- bounded: the loop stops on STOP, after 100,000 rounds, or at its 20 s timeout
  H.sh("timeout 20 sh -c " .. H.q(loop) .. " >/dev/null 2>&1 &")
  local seen = { number = 0, error = 0 }
  local errnos = {}
  local ok, err = pcall(function()
    for i = 1, scaled(10000) do
      local limit = (i % 2 == 0) and 8 or 1000
      local n, msg, errno = core.count_files(tree, limit)
      assert_count_shape(limit, n, msg, errno)
      if n == nil then
        seen.error = seen.error + 1
        errnos[errno] = msg
        lu.assertStrContains(msg, d)
      else
        seen.number = seen.number + 1
      end
    end
  end)
  H.write(stop, "")
  for _ = 1, 200 do
    local f = io.open(done)
    if f then f:close() break end
    H.run("sleep 0.05")
  end
  if not ok then error(err, 0) end
  lu.assertTrue(seen.number > 0, "no count ever succeeded")
  -- What a vanishing directory may report: ENOENT, or ENOTDIR if replaced.
  -- (On ext4, lseek back to a saved getdents64 position of a directory
  -- removed meanwhile fails with EINVAL: the core reports ENOENT for it.)
  for e, msg in pairs(errnos) do
    lu.assertTrue(e == H.E.ENOENT or e == H.E.ENOTDIR,
      ("unexpected errno %d: %s"):format(e, msg))
  end
end

function TestFaultCountRace.test_deleted_while_counted_disk()
  race(H.tmpdir("race"))
end

function TestFaultCountRace.test_deleted_while_counted_tmpfs()
  H.need_mounts()
  race(H.mount_tmpfs(H.tmpdir("race") .. "/tmpfs"))
end

-------------------------------------------------------------------------------
local TestFaultPermission = {}

function TestFaultPermission.tearDown() H.cleanup() end

-- Run `code` as nobody (uid/gid 65534) with a private copy of the core on
-- its cpath; returns the printed output.
local function as_nobody(code)
  local out, ok = H.run_as_nobody("local core = require('katamount.core'); " .. code)
  lu.assertTrue(ok, out)
  return out
end

function TestFaultPermission.test_unreadable_dir_is_eacces()
  H.need_root()
  local d = H.tmpdir("perm")
  H.sh("chmod 755 " .. H.q(d))
  H.fill(d .. "/locked", 3)
  H.sh("chmod 700 " .. H.q(d .. "/locked"))
  H.fill(d .. "/open/inner", 2)
  H.sh("chmod 700 " .. H.q(d .. "/open/inner"))
  H.write(d .. "/open/file", "x")
  -- root counts both
  lu.assertEquals(core.count_files(d .. "/locked", 8), 3)
  lu.assertEquals(core.count_files(d .. "/open", 8), 3)
  -- nobody: the top directory itself unreadable
  local out = as_nobody(("print(core.count_files(%q, 8))"):format(d .. "/locked"))
  local v, msg, errno = out:match("^(%S+)\t(.-)\t(%d+)$")
  lu.assertEquals(v, "nil", out)
  lu.assertStrContains(msg, d .. "/locked")
  lu.assertEquals(tonumber(errno), H.E.EACCES, out)
  -- nobody: a subdirectory unreadable fails the count too (as the Go original)
  out = as_nobody(("print(core.count_files(%q, 8))"):format(d .. "/open"))
  v, msg, errno = out:match("^(%S+)\t(.-)\t(%d+)$")
  lu.assertEquals(v, "nil", out)
  lu.assertStrContains(msg, "inner")
  lu.assertEquals(tonumber(errno), H.E.EACCES, out)
  -- and nothing crashed: the process printed its result and exited 0 (H.sh)
end

-------------------------------------------------------------------------------
local TestFaultMountChange = {}

function TestFaultMountChange.tearDown() H.cleanup() end

function TestFaultMountChange.test_table_notices_mount_and_unmount()
  H.need_mounts()
  local d = H.tmpdir("mchg")
  local m = H.mkdir(d .. "/m")
  local t1 = assert(core.mounts())
  lu.assertFalse(t1:changed())
  lu.assertNil(t1:lookup(m))
  H.mount_tmpfs(m)
  lu.assertTrue(t1:changed(), "the table did not notice a new mount")
  lu.assertTrue(t1:changed(), "changed() must stay true")
  lu.assertNil(t1:lookup(m), "an old table does not see later mounts")
  local t2 = assert(core.mounts())
  lu.assertFalse(t2:changed())
  local e = t2:lookup(m)
  lu.assertNotNil(e, "a fresh table sees the new mount")
  lu.assertEquals(e.fstype, "tmpfs")
  lu.assertEquals(e.mount_point, m)
  lu.assertEquals(#t2, #t1 + 1)
  lu.assertEquals(core.mount_entry(m).fstype, "tmpfs")
  H.umount(m)
  lu.assertTrue(t2:changed(), "the table did not notice the unmount")
  local t3 = assert(core.mounts())
  lu.assertNil(t3:lookup(m), "a fresh table no longer sees it")
  lu.assertEquals(#t3, #t1)
  lu.assertNotEquals((core.mount_entry(m) or {}).mount_point, m)
end

function TestFaultMountChange.test_engine_notices()
  H.need_mounts()
  local km = require("katamount")
  local d = H.tmpdir("mchg")
  local cache = H.mkdir(d .. "/pods/0c1a/volumes/kubernetes.io~empty-dir/cache")
  lu.assertFalse(km.is_ephemeral_storage(cache), "a plain directory is not ephemeral")
  H.mount_tmpfs(cache)
  lu.assertTrue(km.is_ephemeral_storage(cache), "the engine did not notice the tmpfs")
  H.umount(cache)
  lu.assertFalse(km.is_ephemeral_storage(cache), "the engine did not notice the unmount")
end

-------------------------------------------------------------------------------
local TestFaultMountinfo = {}

function TestFaultMountinfo.tearDown() H.cleanup() end

local GOOD = {
  "21 26 0:20 / /proc rw,relatime - proc proc rw",
  "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard",
  "40 26 0:37 / /with\\040space rw,nosuid master:3 - tmpfs tmpfs rw,size=1024k",
}
local GOOD_POINTS = { "/proc", "/", "/with space" }

local function check_good(t, extra)
  for _, p in ipairs(GOOD_POINTS) do
    local e = t:lookup(p)
    lu.assertNotNil(e, "good line lost: " .. p)
    lu.assertEquals(e.mount_point, p)
  end
  lu.assertEquals(t:lookup("/proc").fstype, "proc")
  lu.assertEquals(t:lookup("/").major, 254)
  lu.assertEquals(#t, #GOOD + (extra or 0))
end

local function mountinfo(name, content)
  return H.write(H.tmpdir("mi") .. "/" .. name, content)
end

function TestFaultMountinfo.test_megabyte_line_is_skipped()
  local huge = "99 26 0:99 / /" .. ("x"):rep(1024 * 1024) .. " rw - tmpfs tmpfs rw"
  local p = mountinfo("huge", GOOD[1] .. "\n" .. huge .. "\n" .. GOOD[2] .. "\n" .. GOOD[3] .. "\n")
  local t = assert(core.mounts(p))
  check_good(t)
  lu.assertNil(t:lookup("/" .. ("x"):rep(1024 * 1024)))
  -- a megabyte line of garbage (no spaces at all) too
  p = mountinfo("garbage", GOOD[1] .. "\n" .. ("y"):rep(1024 * 1024) .. "\n" .. GOOD[2] .. "\n" .. GOOD[3])
  check_good(assert(core.mounts(p)))
  lu.assertEquals(core.mount_entry("/proc", p).fstype, "proc")
end

function TestFaultMountinfo.test_nul_bytes()
  local p = mountinfo("nul", GOOD[1] .. "\n" .. "30 26 0:40 / /a\0b rw - tmpfs t\0mpfs rw\n" ..
    "\0\0\0\n" .. GOOD[2] .. "\n" .. GOOD[3] .. "\n")
  local t = assert(core.mounts(p))
  for _, q in ipairs(GOOD_POINTS) do lu.assertNotNil(t:lookup(q), "good line lost: " .. q) end
  lu.assertTrue(#t == #GOOD or #t == #GOOD + 1, "entries: " .. #t)
  for e in t:entries() do lu.assertIsString(e.mount_point) end
end

function TestFaultMountinfo.test_truncated_last_line()
  -- cut inside the fields: the partial line is skipped
  local p = mountinfo("cut", table.concat(GOOD, "\n") .. "\n" .. "50 26 0:50 / /cut rw - tmp")
  local t = assert(core.mounts(p))
  check_good(t)
  lu.assertNil(t:lookup("/cut"))
  -- a complete last line without its newline is still a line
  p = mountinfo("nonl", table.concat(GOOD, "\n") .. "\n" .. "51 26 0:51 / /last rw - tmpfs tmpfs rw")
  t = assert(core.mounts(p))
  check_good(t, 1)
  lu.assertEquals(t:lookup("/last").fstype, "tmpfs")
end

function TestFaultMountinfo.test_empty_and_missing()
  local t = assert(core.mounts(mountinfo("empty", "")))
  lu.assertEquals(#t, 0)
  lu.assertNil(t:lookup("/"))
  local d = H.tmpdir("mi")
  H.assert_error(d .. "/missing", core.mounts(d .. "/missing"))
  local _, _, errno = core.mounts(d .. "/missing")
  lu.assertEquals(errno, H.E.ENOENT)
end

-------------------------------------------------------------------------------
-- Each primitive called over and over on its error paths; the process's
-- descriptors and memory must be where they were. Every primitive takes
-- 100,000 calls on its NUL-byte path (the message building, no syscall);
-- each error path that makes syscalls (open/stat failing, half-done work to
-- undo) takes 10,000, or 100,000 with KATAMOUNT_FAULT_FULL=1 (about 20 s
-- here: too slow for every `make test`). 100 times fewer when sanitized.
local TestFaultLeaks = {}

function TestFaultLeaks.tearDown() H.cleanup() end

local FULL = os.getenv("KATAMOUNT_FAULT_FULL") == "1"

local function vm_rss_kb()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  -- RssAnon: the heap; VmRSS also counts code and file pages first touched
  return tonumber(s:match("RssAnon:%s*(%d+)") or s:match("VmRSS:%s*(%d+)"))
end

local function lua_kb()
  collectgarbage("collect")
  collectgarbage("collect")
  return collectgarbage("count")
end

local function no_leak(name, n, f)
  -- the collector stopped, and a full collection every 1,000 calls: the Lua
  -- heap's high-water mark (and so RSS) is the same in every round, where
  -- the incremental collector's own pacing would move it by hundreds of KiB;
  -- so what grows is what leaks
  local function calls(k)
    collectgarbage("stop")
    for i = 1, k do
      f()
      if i % 1000 == 0 then collectgarbage("collect") end
    end
    collectgarbage("restart")
  end
  -- warm up twice with as many calls as are measured: lazy allocations, and
  -- the malloc arenas' high-water mark for this pattern of garbage (glibc
  -- raises its mmap threshold after the first large free, so the second
  -- round may still settle); a leak grows every round alike
  calls(n)
  calls(n)
  -- collect first: a mount table an earlier test dropped closes its
  -- descriptor only when collected, which would look like a change here
  local mem = lua_kb()
  local fds, rss = H.open_fds(), vm_rss_kb()
  calls(n)
  local mem2 = lua_kb()
  local fds2, rss2 = H.open_fds(), vm_rss_kb()
  lu.assertEquals(fds2, fds, name .. ": descriptors leaked")
  lu.assertTrue(mem2 - mem < 64, ("%s: Lua memory grew %.0f KiB"):format(name, mem2 - mem))
  -- a leak of 16 bytes a call is 1.6 MB over 100,000 calls, 160 KB over 10,000
  -- (under ASan or valgrind the allocator keeps freed blocks in quarantine:
  -- VmRSS says nothing there, and their own leak checkers do the job)
  local tolerance = math.max(128, n // 100)
  lu.assertTrue(SANITIZED or rss2 - rss < tolerance,
    ("%s: VmRSS grew %d KiB in %d calls"):format(name, rss2 - rss, n))
end

local NUL = "/a\0b"
-- { test name, core function, call on the scratch dir d, errno wanted (nil: any), calls }
local HEAVY, LIGHT = scaled(100000), math.max(10, scaled(FULL and 100000 or 10000))
local leak_cases = {
  { "stat_nul", "stat", function() return core.stat(NUL) end, H.E.EINVAL, HEAVY },
  { "stat", "stat", function(d) return core.stat(d .. "/missing") end, H.E.ENOENT, LIGHT },
  { "lstat_nul", "lstat", function() return core.lstat(NUL) end, H.E.EINVAL, HEAVY },
  { "lstat_notdir", "lstat", function(d) return core.lstat(d .. "/file/x") end, H.E.ENOTDIR, LIGHT },
  { "realpath_nul", "realpath", function() return core.realpath(NUL) end, H.E.EINVAL, HEAVY },
  { "realpath", "realpath", function(d) return core.realpath(d .. "/missing/x") end, H.E.ENOENT, LIGHT },
  -- (40 symlink hops a call: a tenth of the calls)
  { "realpath_loop", "realpath", function(d) return core.realpath(d .. "/loop") end, H.E.ELOOP, LIGHT // 10 },
  { "device_for_path_nul", "device_for_path", function() return core.device_for_path(NUL) end, H.E.EINVAL,
    HEAVY },
  { "device_for_path", "device_for_path", function(d) return core.device_for_path(d .. "/missing") end,
    H.E.ENOENT, LIGHT },
  { "count_files_nul", "count_files", function() return core.count_files(NUL, 8) end, H.E.EINVAL, HEAVY },
  { "count_files", "count_files", function(d) return core.count_files(d .. "/missing", 8) end, H.E.ENOENT,
    LIGHT },
  { "count_files_notdir", "count_files", function(d) return core.count_files(d .. "/file/x", 8) end,
    H.E.ENOTDIR, LIGHT },
  -- not an error, but the early exit: over the limit four directories deep
  { "count_files_stop_deep", "count_files", function(d) return core.count_files(d .. "/deep", 8) end,
    nil, LIGHT // 3, true },
  { "list_dir_nul", "list_dir", function() return core.list_dir(NUL) end, H.E.EINVAL, HEAVY },
  { "list_dir", "list_dir", function(d) return core.list_dir(d .. "/missing") end, H.E.ENOENT, LIGHT },
  { "list_dir_notdir", "list_dir", function(d) return core.list_dir(d .. "/file") end, H.E.ENOTDIR, LIGHT },
  { "mounts_nul", "mounts", function() return core.mounts(NUL) end, H.E.EINVAL, HEAVY },
  { "mounts", "mounts", function(d) return core.mounts(d .. "/missing") end, H.E.ENOENT, LIGHT },
  { "mount_entry_nul", "mount_entry", function() return core.mount_entry(NUL) end, H.E.EINVAL, HEAVY },
  { "mount_entry", "mount_entry", function(d) return core.mount_entry("/", d .. "/missing") end, H.E.ENOENT,
    LIGHT },
  { "fs_type_nul", "fs_type", function() return core.fs_type(NUL) end, H.E.EINVAL, HEAVY },
  { "fs_type", "fs_type", function(d) return core.fs_type(d .. "/missing") end, H.E.ENOENT, LIGHT },
  { "is_mount_point_nul", "is_mount_point", function() return core.is_mount_point(NUL) end, H.E.EINVAL,
    HEAVY },
  { "is_mount_point", "is_mount_point", function(d) return core.is_mount_point(d .. "/missing") end,
    H.E.ENOENT, LIGHT },
  { "block_device_nul", "block_device", function() return core.block_device(8, 0, NUL) end, H.E.EINVAL,
    HEAVY },
  { "ensure_destination_nul", "ensure_destination",
    function(d) return core.ensure_destination(NUL, d .. "/x") end,
    H.E.EINVAL, HEAVY },
  { "ensure_destination", "ensure_destination",
    function(d) return core.ensure_destination(d .. "/missing", d .. "/dst") end, H.E.ENOENT, LIGHT },
  { "ensure_destination_type", "ensure_destination",
    function(d) return core.ensure_destination(d .. "/sub", d .. "/file") end, nil, LIGHT },
  { "clean_nul", "clean", function() return core.clean(NUL) end, H.E.EINVAL, HEAVY },
}

for _, c in ipairs(leak_cases) do
  local name, fname, call, want, n, root_only = c[1], c[2], c[3], c[4], c[5], c[6]
  TestFaultLeaks["test_" .. name] = function()
    local d = H.tmpdir("leak")
    H.write(d .. "/file", "x")
    H.mkdir(d .. "/sub")
    H.symlink(d .. "/loop", d .. "/loop")
    if root_only then H.fill(d .. "/deep/a/b/c", 20) end
    lu.assertIsFunction(core[fname], "core." .. fname .. " missing")
    local ok, msg, errno = call(d)
    if root_only then
      lu.assertEquals(ok, -1, msg)
    else
      -- it is an error path: nil, message, errno (the errno where it is fixed)
      H.assert_error(nil, ok, msg, errno, want)
    end
    no_leak(name, n, function() return call(d) end)
  end
end

-- Mount tables made and dropped: their descriptors (the poll fd) are freed.
function TestFaultLeaks.test_mount_tables_closed()
  local n = scaled(2000)
  local fds, mem = H.open_fds(), lua_kb()
  for _ = 1, n do
    local t = assert(core.mounts())
    assert(t:lookup("/"))
  end
  collectgarbage("collect")
  lu.assertEquals(H.open_fds(), fds, "mount tables leak descriptors")
  lu.assertTrue(lua_kb() - mem < 64, "mount tables leak Lua memory")
end

return {
  TestFaultCountRace = TestFaultCountRace,
  TestFaultPermission = TestFaultPermission,
  TestFaultMountChange = TestFaultMountChange,
  TestFaultMountinfo = TestFaultMountinfo,
  TestFaultLeaks = TestFaultLeaks,
}
