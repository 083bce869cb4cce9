-- spec/core_count_spec.lua -- count_files and list_dir of katamount.core:
-- the Go original's cases, its defects fixed (a sub-directory over the limit
-- makes the answer -1: upstream issue 9780; errors are error returns),
-- symlinks counted once and never followed, a Kubernetes configmap layout,
-- large directories, a tree deeper than the descriptor bound, the work
-- budget (many empty directories are -1, unlike the Go original), and errors.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local lfs = require("lfs")

local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil
local BIG = SANITIZED and 2000 or 20000
local FDS_MAX = 32      -- KM_COUNT_OPEN_FDS_MAX
local DEPTH_MAX = 4096  -- KM_COUNT_DEPTH_MAX

-- A command running `lua5.4 -e code` against this build (with the sanitizer
-- runtimes that `make asan` preloads, which H.run drops for other tools).
local function lua_cmd(code)
  local build = os.getenv("KATAMOUNT_BUILD") or "build"
  if not build:match("^/") then build = H.root .. "/" .. build end
  local pre = os.getenv("LD_PRELOAD")
  local env = pre and ("LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(H.q(pre)) or ""
  local prelude = ("package.cpath = %q .. package.cpath; local c = require('katamount.core'); ")
    :format(build .. "/?.so;")
  return env .. "lua5.4 -e " .. H.q(prelude .. code)
end

-- A chain of `depth` nested directories "d" below dir; returns the deepest.
local function chain(dir, depth)
  H.sh(("cd %s && mkdir -p %s"):format(H.q(dir), ("d/"):rep(depth)))
  return dir .. ("/d"):rep(depth)
end

local TestCountFiles = {}
function TestCountFiles.tearDown() H.cleanup() end

-- The Go original's own cases (kata's isWatchableMount / countFiles).
function TestCountFiles.test_go_original_cases()
  local d = H.tmpdir("cnt")
  lu.assertEquals(core.count_files(d, 8), 0, "an empty directory")
  H.write(d .. "/file1", "x")
  lu.assertEquals(core.count_files(d, 8), 1)
  lu.assertEquals(core.count_files(d .. "/file1", 8), 1, "a file counts itself")
  H.fill(d, 8)       -- f1..f8 next to file1
  lu.assertEquals(core.count_files(d, 8), -1, "9 files pass a limit of 8")
  lu.assertEquals(core.count_files(d, 9), 9)
  local ok, msg, err = core.count_files(d .. "/missing", 8)
  H.assert_error("count_files '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
end

function TestCountFiles.test_limit_exactly_hit_vs_passed()
  local d = H.fill(H.tmpdir("cnt") .. "/x", 8)
  lu.assertEquals(core.count_files(d, 8), 8, "exactly the limit")
  lu.assertEquals(core.count_files(d, 7), -1, "one past the limit")
  lu.assertEquals(core.count_files(d, 0), -1)
  lu.assertEquals(core.count_files(d, math.maxinteger), 8)
  lu.assertEquals(core.count_files(H.mkdir(d .. "/../empty"), 0), 0)
end

function TestCountFiles.test_nested_directories_count_their_contents()
  local d = H.tmpdir("cnt")
  H.fill(d, 2, "top")
  H.fill(d .. "/a", 3)
  H.fill(d .. "/a/b/c", 4)
  H.mkdir(d .. "/empty1/empty2")
  lu.assertEquals(core.count_files(d, 100), 9, "directories count what they hold, not themselves")
  lu.assertEquals(core.count_files(d, 9), 9)
  lu.assertEquals(core.count_files(d, 8), -1)
  lu.assertEquals(core.count_files(d .. "/empty1", 0), 0)
end

-- Back from a sub-directory, the count reads on after its entry: with a
-- seek when the block read holds entries after it, without one when the
-- entry was the block's last (getdents64 left the directory there). Sub-
-- directories among files, in whatever order the file system lists them,
-- and one alone after a single file: every file counted once.
function TestCountFiles.test_entries_after_a_subdirectory_count_once()
  local d = H.tmpdir("cnt")
  H.fill(d, 10, "top")
  for i = 1, 5 do H.fill(d .. "/sub" .. i, 2) end
  lu.assertEquals(core.count_files(d, 100), 20)
  lu.assertEquals(core.count_files(d, 20), 20)
  lu.assertEquals(core.count_files(d, 19), -1)
  -- a file and a sub-directory made in both orders (a tmpfs lists the
  -- newest first: the sub-directory is the block's last entry in one)
  local e = H.tmpdir("cnt")
  H.write(e .. "/file", "")
  H.fill(e .. "/sub", 3)
  lu.assertEquals(core.count_files(e, 100), 4)
  local f = H.tmpdir("cnt")
  H.fill(f .. "/sub", 3)
  H.write(f .. "/file", "")
  lu.assertEquals(core.count_files(f, 100), 4)
  lu.assertEquals(core.count_files(f, 3), -1)
end

-- Upstream issue 9780: the Go original adds a sub-directory's -1 to its
-- running count, so limit 8 over {a_sibling, sub/ with 10 files} answers 0.
function TestCountFiles.test_subdirectory_over_the_limit_is_minus_one()
  local d = H.tmpdir("cnt")
  H.write(d .. "/a_sibling", "")
  H.fill(d .. "/sub", 10)
  lu.assertEquals(core.count_files(d, 8), -1)
  lu.assertEquals(core.count_files(d, 11), 11)
  lu.assertEquals(core.count_files(d, 10), -1)
  -- the sub-directory itself over its limit, deeper down
  local e = H.tmpdir("cnt")
  H.fill(e .. "/x/y/z", 20)
  H.fill(e, 3)
  lu.assertEquals(core.count_files(e, 8), -1)
end

function TestCountFiles.test_symlinks_count_once_never_followed()
  local d = H.tmpdir("cnt")
  local huge = H.fill(d .. "/huge", 50)
  local m = H.mkdir(d .. "/m")
  H.symlink(huge, m .. "/to_huge")
  H.symlink("loop", m .. "/loop")          -- a link to itself
  H.symlink("/nonexistent", m .. "/dangling")
  H.symlink("..", m .. "/up")              -- a cycle if it were followed
  lu.assertEquals(core.count_files(m, 8), 4)
  lu.assertEquals(core.count_files(m, 4), 4)
  lu.assertEquals(core.count_files(m, 3), -1)
  -- the path itself is followed (os.Stat): a link to a directory counts it
  lu.assertEquals(core.count_files(H.symlink(huge, d .. "/link_to_huge"), 100), 50)
  lu.assertEquals(core.count_files(d .. "/link_to_huge", 8), -1)
end

function TestCountFiles.test_symlink_loop_and_through_a_file_are_errors()
  local d = H.tmpdir("cnt")
  local ok, msg, err = core.count_files(H.symlink("self", d .. "/self"), 8)
  H.assert_error("count_files '" .. d .. "/self'", ok, msg, err, H.E.ELOOP)
  local f = H.write(d .. "/file", "")
  ok, msg, err = core.count_files(f .. "/below", 8)
  H.assert_error("count_files '" .. f .. "/below'", ok, msg, err, H.E.ENOTDIR)
end

-- A configmap as the kubelet writes it: a timestamped directory holding the
-- keys, `..data` pointing at it, and one symlink per key.
local function configmap(d, keys)
  local ts = "..2024_01_01_00_00_00.123456789"
  H.mkdir(d .. "/" .. ts)
  H.symlink(ts, d .. "/..data")
  for i = 1, keys do
    H.write(d .. "/" .. ts .. "/key" .. i, "value" .. i)
    H.symlink("..data/key" .. i, d .. "/key" .. i)
  end
  return d
end

function TestCountFiles.test_kubernetes_configmap_layout()
  local base = H.tmpdir("cnt")
  -- 3 keys: 3 files in the data directory, ..data, 3 key links = 7
  lu.assertEquals(core.count_files(configmap(base .. "/small", 3), 8), 7)
  -- 4 keys: 4 + 1 + 4 = 9 > 8
  lu.assertEquals(core.count_files(configmap(base .. "/big", 4), 8), -1)
  lu.assertEquals(core.count_files(base .. "/big", 9), 9)
end

function TestCountFiles.test_large_directory_stops_at_the_limit()
  local d = H.fill(H.tmpdir("cnt") .. "/big", BIG)
  lu.assertEquals(core.count_files(d, 8), -1)
  lu.assertEquals(core.count_files(d, BIG), BIG)
  lu.assertEquals(core.count_files(d, BIG - 1), -1)
  lu.assertEquals(core.count_files(d, BIG * 2), BIG)
  -- a large directory of sub-directories each holding one file
  local s = H.tmpdir("cnt") .. "/subs"
  local n = SANITIZED and 100 or 1000
  H.sh(("mkdir -p %s && cd %s && seq 1 %d | sed 's/^/s/' | xargs mkdir && " ..
    "seq 1 %d | sed 's|.*|s&/f|' | xargs touch"):format(H.q(s), H.q(s), n, n))
  lu.assertEquals(core.count_files(s, n), n)
  lu.assertEquals(core.count_files(s, n - 1), -1)
end

function TestCountFiles.test_long_names()
  local d = H.mkdir(H.tmpdir("cnt") .. "/long")
  for i = 1, 40 do H.write(("%s/%03d%s"):format(d, i, ("n"):rep(250)), "") end
  lu.assertEquals(core.count_files(d, 40), 40)
  lu.assertEquals(core.count_files(d, 39), -1)
  lu.assertEquals(core.count_files(d, 8), -1)
end

function TestCountFiles.test_tree_deeper_than_the_descriptor_bound()
  local d = H.tmpdir("cnt")
  local depth = FDS_MAX * 3 + 5
  local deepest = chain(d, depth)
  -- one file at every level, two at the bottom
  H.sh(("cd %s && find . -type d | sed 's|$|/f|' | xargs touch"):format(H.q(d)))
  H.write(deepest .. "/g", "")
  collectgarbage()
  local before = H.open_fds()
  lu.assertEquals(core.count_files(d, 1000), depth + 2)
  lu.assertEquals(core.count_files(d, depth + 2), depth + 2)
  lu.assertEquals(core.count_files(d, depth + 1), -1, "passed at the very bottom")
  lu.assertEquals(core.count_files(d, 10), -1, "passed on the way down")
  lu.assertEquals(H.open_fds(), before, "no descriptor left open")
  -- the bound holds: a process allowed few descriptors still counts the tree
  local code = ("print(c.count_files(%q, 1000))"):format(d)
  local out = H.sh(("ulimit -n %d; %s"):format(FDS_MAX + 12, lua_cmd(code)))
  lu.assertEquals(out, tostring(depth + 2))
end

function TestCountFiles.test_wider_tree_below_the_fd_bound_is_walked_again()
  -- several deep branches: ancestors closed for one branch are reopened
  -- for the next
  local d = H.tmpdir("cnt")
  for b = 1, 3 do
    local deepest = chain(H.mkdir(d .. "/b" .. b), FDS_MAX + 8)
    H.write(deepest .. "/leaf", "")
    H.write(d .. "/b" .. b .. "/top", "")
  end
  lu.assertEquals(core.count_files(d, 100), 6)
  lu.assertEquals(core.count_files(d, 5), -1)
end

function TestCountFiles.test_depth_bound_is_an_error_naming_it()
  -- a limit whose work budget (KM_COUNT_WORK_PER_LIMIT per unit) lets the
  -- walk reach the depth bound
  local BIG_LIMIT = 1000000
  local d = H.tmpdir("cnt")
  chain(d, DEPTH_MAX + 2)
  local ok, msg, err = core.count_files(d, BIG_LIMIT)
  H.assert_error("KM_COUNT_DEPTH_MAX (4096)", ok, msg, err, H.E.ELOOP)
  lu.assertStrContains(msg, "count_files '" .. d .. "'")
  -- just within the bound is fine
  local e = H.tmpdir("cnt")
  chain(e, DEPTH_MAX - 1)
  lu.assertEquals(core.count_files(e, BIG_LIMIT), 0)
  lu.assertEquals(core.count_files(e, 10), -1, "past the work budget of limit 10")
  -- a file at the bottom, reached one relative chdir at a time (its whole
  -- path is longer than PATH_MAX)
  local here = assert(lfs.currentdir())
  local made = pcall(function()
    assert(lfs.chdir(e))
    for _ = 1, DEPTH_MAX - 1 do assert(lfs.chdir("d")) end
    assert(io.open("f", "w")):close()
  end)
  assert(lfs.chdir(here))
  lu.assertTrue(made)
  lu.assertEquals(core.count_files(e, BIG_LIMIT), 1)
  lu.assertEquals(core.count_files(e, 0), -1)
end

-- The work is bounded as well as the count: directories do not count
-- toward the limit, but each directory opened and each entry read is a
-- unit of work, and past KM_COUNT_WORK_PER_LIMIT * (limit + 1) units the
-- answer is -1 ("too big to watch"). The Go original walks every directory
-- and would answer 0 for these trees: a deliberate difference.
local WORK_PER_LIMIT = 64  -- KM_COUNT_WORK_PER_LIMIT

function TestCountFiles.test_work_budget_exact_boundary()
  -- the top directory is 1 unit, each empty sub-directory 2 (its entry,
  -- its open): with limit 8 the budget is 64 * 9 = 576 units
  local budget = WORK_PER_LIMIT * 9
  local fits = (budget - 1) // 2
  local d = H.tmpdir("cnt")
  H.sh(("cd %s && seq -f e%%g 1 %d | xargs mkdir"):format(H.q(d), fits))
  lu.assertEquals(core.count_files(d, 8), 0, ("%d empty directories: %d units"):format(fits, 1 + 2 * fits))
  H.mkdir(d .. "/one-more")
  lu.assertEquals(core.count_files(d, 8), -1, "one unit past the budget")
  -- the budget grows with the limit
  lu.assertEquals(core.count_files(d, 9), 0)
  -- files still count toward the limit, not just the work
  H.write(d .. "/e1/f", "")
  lu.assertEquals(core.count_files(d, 9), 1)
end

function TestCountFiles.test_many_empty_directories_are_too_big_to_watch()
  -- 20,000 empty directories (300,000 in make bench): -1 with limit 8,
  -- after about 288 of them; the count with a limit to match walks them all
  local n = SANITIZED and 2000 or 20000
  local d = H.tmpdir("cnt")
  H.sh(("cd %s && seq -f e%%g 1 %d | xargs mkdir"):format(H.q(d), n))
  lu.assertEquals(core.count_files(d, 8), -1)
  lu.assertEquals(core.count_files(d, 0), -1)
  lu.assertEquals(core.count_files(d, n), 0, "a budget of 64 * (n + 1) units covers them")
  -- nested: a chain of 400 empty directories, one file at the bottom
  local e = H.tmpdir("cnt")
  H.write(chain(e, 400) .. "/f", "")
  lu.assertEquals(core.count_files(e, 8), -1)
  lu.assertEquals(core.count_files(e, 1000), 1)
end

function TestCountFiles.test_mount_point_inside_the_tree()
  H.need_mounts()
  local d = H.tmpdir("cnt")
  local m = H.mount_tmpfs(d .. "/mnt", "size=1m")
  H.fill(m, 5)
  H.write(d .. "/top", "")
  lu.assertEquals(core.count_files(d, 8), 6)
  lu.assertEquals(core.count_files(d, 5), -1)
end

-- ext2 without the filetype feature gives DT_UNKNOWN for every entry: the
-- type then comes from fstatat(AT_SYMLINK_NOFOLLOW).
function TestCountFiles.test_file_system_without_d_type()
  H.need_mounts()
  local _, have = H.run("command -v mkfs.ext2 && test -e /dev/loop-control")
  lu.skipIf(not have, "needs mkfs.ext2 and loop devices")
  local d = H.tmpdir("cnt")
  local img = d .. "/ext2.img"
  H.sh(("truncate -s 8M %s && mkfs.ext2 -q -F -O ^filetype %s"):format(H.q(img), H.q(img)))
  local m = H.mkdir(d .. "/mnt")
  local out, ok = H.run(("mount -o loop %s %s"):format(H.q(img), H.q(m)))
  lu.skipIf(not ok, "cannot mount a loop device here: " .. out)
  H.write(m .. "/f", "")
  H.fill(m .. "/a/b", 3)
  H.write(m .. "/a/g", "")
  H.symlink("a", m .. "/l")
  H.symlink("s", m .. "/s")
  -- f, a/g, a/b/f1..f3, l, s (lost+found is an empty directory)
  lu.assertEquals(core.count_files(m, 100), 7)
  lu.assertEquals(core.count_files(m, 7), 7)
  lu.assertEquals(core.count_files(m, 6), -1)
  lu.assertEquals(core.list_dir(m), { "a", "f", "l", "lost+found", "s" })
  H.umount(m)
end

function TestCountFiles.test_permission_denied_is_an_error()
  H.need_root()
  local d = H.tmpdir("cnt")
  H.sh("chmod 755 " .. H.q(d))
  local closed = H.mkdir(d .. "/closed")
  H.fill(closed, 3)
  H.sh("chmod 700 " .. H.q(closed))
  H.write(d .. "/f", "")
  local code = ("print(c.count_files(%q, 100)); print(c.count_files(%q, 100)); print(c.list_dir(%q))")
    :format(d, closed, closed)
  local out, ok = H.run_as_nobody("local c = require('katamount.core'); " .. code)
  lu.assertTrue(ok, out)
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  lu.assertEquals(lines[1], "nil\tcount_files '" .. closed .. "': Permission denied\t13")
  lu.assertEquals(lines[2], "nil\tcount_files '" .. closed .. "': Permission denied\t13")
  lu.assertEquals(lines[3], "nil\tlist_dir '" .. closed .. "': Permission denied\t13")
end

function TestCountFiles.test_bad_arguments()
  local d = H.tmpdir("cnt")
  local ok, msg, err = core.count_files(d .. "\0x", 8)
  H.assert_error("NUL", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.count_files("/" .. ("a"):rep(5000), 8)
  H.assert_error("count_files", ok, msg, err, H.E.ENAMETOOLONG)
  lu.assertErrorMsgContains("bad argument #1", core.count_files, {}, 8)
  lu.assertErrorMsgContains("bad argument #1", core.count_files, nil, 8)
  lu.assertErrorMsgContains("bad argument #2", core.count_files, d)
  lu.assertErrorMsgContains("bad argument #2", core.count_files, d, "eight")
  lu.assertErrorMsgContains("bad argument #2", core.count_files, d, 8.5)
  lu.assertErrorMsgContains("bad argument #2", core.count_files, d, -1)
  lu.assertErrorMsgContains("bad argument #2", core.count_files, d .. "\0", {})
  lu.assertEquals(core.count_files(d, 8.0), 0, "an integral float is an integer")
  lu.assertEquals(core.count_files(d, "8"), 0, "a numeric string is coerced")
end

function TestCountFiles.test_errors_leak_no_descriptor()
  local d = H.tmpdir("cnt")
  H.fill(d .. "/a/b", 30)
  chain(d, FDS_MAX + 5)
  collectgarbage()
  local before = H.open_fds()
  for _ = 1, 20 do
    core.count_files(d .. "/missing", 8)
    core.count_files(d, 3)
    core.count_files(d, 1000)
    core.list_dir(d .. "/missing")
    core.list_dir(d)
  end
  lu.assertEquals(H.open_fds(), before)
end

---------------------------------------------------------------- list_dir

local TestListDir = {}
function TestListDir.tearDown() H.cleanup() end

function TestListDir.test_sorted_names_without_dots()
  local d = H.tmpdir("ls")
  for _, n in ipairs({ "b", "a", ".hidden", "B", "10", "9", "with space", "z" }) do
    H.write(d .. "/" .. n, "")
  end
  H.mkdir(d .. "/dir")
  H.symlink("/nonexistent", d .. "/link")
  lu.assertEquals(core.list_dir(d), { ".hidden", "10", "9", "B", "a", "b", "dir", "link", "with space", "z" })
  lu.assertEquals(core.list_dir(H.mkdir(d .. "/dir")), {})
end

function TestListDir.test_follows_a_link_to_a_directory()
  local d = H.tmpdir("ls")
  H.fill(d .. "/real", 3)
  lu.assertEquals(core.list_dir(H.symlink(d .. "/real", d .. "/l")), { "f1", "f2", "f3" })
end

function TestListDir.test_large_directory()
  local d = H.fill(H.tmpdir("ls") .. "/big", BIG)
  local names = core.list_dir(d)
  lu.assertEquals(#names, BIG)
  for i = 2, #names do lu.assertTrue(names[i - 1] < names[i]) end
end

function TestListDir.test_errors()
  local d = H.tmpdir("ls")
  local ok, msg, err = core.list_dir(d .. "/missing")
  H.assert_error("list_dir '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
  ok, msg, err = core.list_dir(H.write(d .. "/file", ""))
  H.assert_error("list_dir '" .. d .. "/file'", ok, msg, err, H.E.ENOTDIR)
  ok, msg, err = core.list_dir(H.symlink("self", d .. "/self"))
  H.assert_error("list_dir", ok, msg, err, H.E.ELOOP)
  ok, msg, err = core.list_dir(d .. "\0")
  H.assert_error("NUL", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.list_dir("/" .. ("a"):rep(5000))
  H.assert_error("list_dir", ok, msg, err, H.E.ENAMETOOLONG)
  lu.assertErrorMsgContains("bad argument #1", core.list_dir, {})
  lu.assertErrorMsgContains("bad argument #1", core.list_dir)
end

return {
  TestCountFiles = TestCountFiles,
  TestListDir = TestListDir,
}
