-- spec/core_path_spec.lua -- katamount.core: clean, realpath, device_for_path.
-- clean is checked against Go's own filepath.Clean table and, on random
-- paths, against a plain-Lua model; device_for_path against the Go original's
-- cases on real tmpfs mounts made in the private namespace.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local lfs = require("lfs")

local E = H.E
local LONG = string.rep("a", 5000)
local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil

---------------------------------------------------------------------------
-- clean

-- Go's path/filepath cleantests and nonwincleantests (path_test.go), whole.
local GO_CLEAN_TESTS = {
  -- Already clean
  { "abc", "abc" },
  { "abc/def", "abc/def" },
  { "a/b/c", "a/b/c" },
  { ".", "." },
  { "..", ".." },
  { "../..", "../.." },
  { "../../abc", "../../abc" },
  { "/abc", "/abc" },
  { "/", "/" },
  -- Empty is current dir
  { "", "." },
  -- Remove trailing slash
  { "abc/", "abc" },
  { "abc/def/", "abc/def" },
  { "a/b/c/", "a/b/c" },
  { "./", "." },
  { "../", ".." },
  { "../../", "../.." },
  { "/abc/", "/abc" },
  -- Remove doubled slash
  { "abc//def//ghi", "abc/def/ghi" },
  { "abc//", "abc" },
  -- Remove . elements
  { "abc/./def", "abc/def" },
  { "/./abc/def", "/abc/def" },
  { "abc/.", "abc" },
  -- Remove .. elements
  { "abc/def/ghi/../jkl", "abc/def/jkl" },
  { "abc/def/../ghi/../jkl", "abc/jkl" },
  { "abc/def/..", "abc" },
  { "abc/def/../..", "." },
  { "/abc/def/../..", "/" },
  { "abc/def/../../..", ".." },
  { "/abc/def/../../..", "/" },
  { "abc/def/../../../ghi/jkl/../../../mno", "../../mno" },
  { "/../abc", "/abc" },
  { "a/../b:/../../c", "../c" },
  -- Combinations
  { "abc/./../def", "def" },
  { "abc//./../def", "def" },
  { "abc/../../././../def", "../../def" },
  -- nonwincleantests: remove leading doubled slash
  { "//abc", "/abc" },
  { "///abc", "/abc" },
  { "//abc//", "/abc" },
}

-- The cases the engine leans on.
local KATAMOUNT_CLEAN_TESTS = {
  { "/../sys", "/sys" },
  { "/sys//", "/sys" },
  { "a/b/../..", "." },
  { "../../x", "../../x" },
  { "/proc/../sys/./fs//cgroup/", "/sys/fs/cgroup" },
  { "///", "/" },
  { "/..", "/" },
  { "/../..", "/" },
  { "...", "..." },
  { "/.../..", "/" },
  { "..a/.b/c.", "..a/.b/c." },
  { "a/..b", "a/..b" },
  { "/\xff\xfe/./x", "/\xff\xfe/x" },
  { "a b/../c d", "c d" },
}

-- A plain-Lua model of filepath.Clean: split on '/', fold '.' and '..'.
local function model_clean(p)
  if p == "" then return "." end
  local rooted = p:sub(1, 1) == "/"
  local out = {}
  for elem in p:gmatch("[^/]+") do
    if elem == ".." then
      if #out > 0 and out[#out] ~= ".." then
        out[#out] = nil
      elseif not rooted then
        out[#out + 1] = ".."
      end
    elseif elem ~= "." then
      out[#out + 1] = elem
    end
  end
  local s = (rooted and "/" or "") .. table.concat(out, "/")
  return s == "" and "." or s
end

local TestCoreClean = {}

function TestCoreClean.test_go_table()
  for _, c in ipairs(GO_CLEAN_TESTS) do
    lu.assertEquals(core.clean(c[1]), c[2], "clean(" .. c[1] .. ")")
    -- Go checks that cleaning is idempotent too
    lu.assertEquals(core.clean(c[2]), c[2], "clean(" .. c[2] .. ")")
  end
end

function TestCoreClean.test_katamount_cases()
  for _, c in ipairs(KATAMOUNT_CLEAN_TESTS) do
    lu.assertEquals(core.clean(c[1]), c[2], "clean(" .. c[1] .. ")")
    lu.assertEquals(core.clean(c[2]), c[2])
  end
end

function TestCoreClean.test_model_tables_agree()
  -- the model itself passes Go's table, so it can judge random paths
  for _, c in ipairs(GO_CLEAN_TESTS) do lu.assertEquals(model_clean(c[1]), c[2], c[1]) end
end

-- A random path of the pieces that matter to cleaning ("" among them).
local PIECES = { "/", "/", "//", ".", "..", "a", "bc", "...", ".a", "a.", "\xff" }
local function random_path()
  local t = {}
  for i = 1, math.random(0, 12) do t[i] = PIECES[math.random(#PIECES)] end
  return table.concat(t)
end

function TestCoreClean.test_random_paths_against_model()
  local rounds = SANITIZED and 200 or 20000
  math.randomseed(4242)
  for _ = 1, rounds do
    local p = random_path()
    local got = core.clean(p)
    lu.assertEquals(got, model_clean(p), ("clean(%q)"):format(p))
    lu.assertEquals(core.clean(got), got)
  end
end

function TestCoreClean.test_long_paths()
  -- exactly KM_PATH_MAX (4096) bytes is accepted, one more is refused
  local max = "/" .. string.rep("a/", 2047) .. "b"
  lu.assertEquals(#max, 4096)
  lu.assertEquals(core.clean(max), max)
  lu.assertEquals(core.clean(string.rep("../", 1365) .. "x"), string.rep("../", 1365) .. "x")
  lu.assertEquals(core.clean(string.rep("a/../", 819)), ".")
  lu.assertEquals(core.clean("/" .. string.rep("/", 4095)), "/")
  local ok, msg, errno = core.clean(max .. "c")
  H.assert_error("clean '", ok, msg, errno, E.ENAMETOOLONG)
  lu.assertStrContains(msg, "KM_PATH_MAX")
end

function TestCoreClean.test_errors()
  local ok, msg, errno = core.clean("/sys\0/../etc")
  H.assert_error("clean '/sys\\0/../etc'", ok, msg, errno, E.EINVAL)
  lu.assertErrorMsgContains("bad argument #1", core.clean)
  lu.assertErrorMsgContains("string expected", core.clean, {})
  lu.assertErrorMsgContains("string expected", core.clean, nil)
  lu.assertEquals(core.clean(12), "12")  -- numbers are coerced as Lua does
  lu.assertEquals(type(core.clean(12)), "string")  -- already clean: the argument, a string
end

---------------------------------------------------------------------------
-- base

local TestCoreBase = {}

-- Go's own cases (src/path/filepath/path_test.go, basetests), which kata's
-- shareFileName relies on (filepath.Base of the destination).
local GO_BASE_TESTS = {
  { "", "." }, { ".", "." }, { "/.", "." }, { "/", "/" }, { "////", "/" },
  { "x/", "x" }, { "abc", "abc" }, { "abc/def", "def" }, { "a/b/.x", ".x" },
  { "a/b/c.", "c." }, { "a/b/c.x", "c.x" },
}

function TestCoreBase.test_go_table()
  for _, t in ipairs(GO_BASE_TESTS) do
    lu.assertEquals(core.base(t[1]), t[2], "base(" .. t[1] .. ")")
  end
  -- not cleaned first, as Go's Base
  lu.assertEquals(core.base("/etc/config/"), "config")
  lu.assertEquals(core.base("/a/.."), "..")
end

function TestCoreBase.test_errors()
  local ok, msg, errno = core.base("/etc\0/x")
  H.assert_error("base '/etc\\0/x'", ok, msg, errno, E.EINVAL)
  ok, msg, errno = core.base("/" .. LONG)
  H.assert_error("base '", ok, msg, errno, E.ENAMETOOLONG)
  lu.assertErrorMsgContains("string expected", core.base, {})
end

---------------------------------------------------------------------------
-- join

local TestCoreJoin = {}

-- Go's own cases (src/path/filepath/path_test.go, jointests), which kata's
-- guest paths rely on (filepath.Join of the shared directory and a name).
local GO_JOIN_TESTS = {
  { {}, "" }, { { "" }, "" }, { { "/" }, "/" }, { { "a" }, "a" },
  { { "a", "b" }, "a/b" }, { { "a", "" }, "a" }, { { "", "b" }, "b" }, { { "/", "a" }, "/a" },
  { { "/", "a/b" }, "/a/b" }, { { "/", "" }, "/" }, { { "/a", "b" }, "/a/b" },
  { { "a/", "b" }, "a/b" }, { { "a/", "" }, "a" }, { { "", "" }, "" },
  { { "/", "a", "b" }, "/a/b" }, { { "//", "a" }, "/a" },
}

function TestCoreJoin.test_go_table()
  for _, t in ipairs(GO_JOIN_TESTS) do
    lu.assertEquals(core.join(table.unpack(t[1])), t[2], "join(" .. table.concat(t[1], ", ") .. ")")
  end
  -- the result is cleaned, as Go's Join
  lu.assertEquals(core.join("/run/kata-containers/shared/", "x/../y", "mounts", "n"),
    "/run/kata-containers/shared/y/mounts/n")
  lu.assertEquals(core.join("a", ".."), ".")
  -- any part may be a path of its own; the joined one matches clean of the text
  math.randomseed(4243)
  for _ = 1, 2000 do
    local a, b = random_path(), random_path()
    local want = (a == "" and b == "") and "" or core.clean((a ~= "" and b ~= "") and (a .. "/" .. b)
      or (a .. b))
    lu.assertEquals(core.join(a, b), want, a .. " + " .. b)
  end
end

function TestCoreJoin.test_errors()
  H.assert_error("join 'a\\0b'", core.join("/x", "a\0b"), select(2, core.join("/x", "a\0b")),
    select(3, core.join("/x", "a\0b")), E.EINVAL)
  local ok, msg, errno = core.join("/" .. ("a"):rep(3000), ("b"):rep(2000))
  H.assert_error("joined path longer than KM_PATH_MAX", ok, msg, errno, E.ENAMETOOLONG)
  -- exactly KM_PATH_MAX bytes joined is a path; one more is not
  lu.assertEquals(#core.join(("a"):rep(2047), ("b"):rep(2048)), 4096)
  lu.assertNil((core.join(("a"):rep(2048), ("b"):rep(2048))))
  lu.assertErrorMsgContains("string expected, got nil", core.join, "a", nil)
  lu.assertErrorMsgContains("string expected, got table", core.join, {})
  local many = {}
  for i = 1, 33 do many[i] = "a" end
  lu.assertErrorMsgContains("at most KM_JOIN_PARTS_MAX (32) parts", core.join, table.unpack(many))
  lu.assertEquals(core.join(table.unpack(many, 1, 32)), ("a/"):rep(31) .. "a")
end

---------------------------------------------------------------------------
-- realpath

local TestCoreRealpath = {}

function TestCoreRealpath:setUp() self.dir = core.realpath(H.tmpdir("realpath")) end
function TestCoreRealpath.tearDown() H.cleanup() end

function TestCoreRealpath:test_resolves_symlinks_and_dots()
  local d = H.mkdir(self.dir .. "/real/sub")
  H.write(d .. "/f", "x")
  H.symlink("real", self.dir .. "/l1")
  H.symlink(self.dir .. "/l1/sub", self.dir .. "/l2")
  lu.assertEquals(core.realpath(self.dir .. "/l1/sub/f"), self.dir .. "/real/sub/f")
  lu.assertEquals(core.realpath(self.dir .. "/l2/f"), self.dir .. "/real/sub/f")
  lu.assertEquals(core.realpath(self.dir .. "/l2/../sub/./f"), self.dir .. "/real/sub/f")
  lu.assertEquals(core.realpath(self.dir .. "//real///sub/"), self.dir .. "/real/sub")
  lu.assertEquals(core.realpath("/"), "/")
  lu.assertEquals(core.realpath("."), H.sh("pwd -P"))
  lu.assertEquals(core.realpath(self.dir .. "/l1"), H.sh("readlink -f " .. H.q(self.dir .. "/l1")))
  lu.assertEquals(core.realpath("/proc/self"), "/proc/" .. H.pid())
end

-- The answer is read back from /proc/self/fd/N, N written by hand: with
-- 1-, 2- and 3-digit descriptors, each other one open on a file of its own,
-- a wrong N would read another file's path back.
function TestCoreRealpath:test_descriptors_of_every_width()
  local d = H.mkdir(self.dir .. "/held")
  local target = H.write(self.dir .. "/target", "x")
  local held = {}
  local ok, err = pcall(function()
    for i = 1, 130 do
      lu.assertEquals(core.realpath(target), target, "with " .. (i - 1) .. " files held open")
      held[i] = assert(io.open(H.write(("%s/f%d"):format(d, i), ""), "r"))
    end
  end)
  for _, f in ipairs(held) do f:close() end
  if not ok then error(err, 0) end
end

function TestCoreRealpath:test_errors()
  local ok, msg, errno = core.realpath("")
  H.assert_error("realpath ''", ok, msg, errno, E.ENOENT)
  local missing = self.dir .. "/missing"
  ok, msg, errno = core.realpath(missing)
  H.assert_error("realpath '" .. missing .. "'", ok, msg, errno, E.ENOENT)
  H.symlink("missing", self.dir .. "/dangling")
  lu.assertEquals(select(3, core.realpath(self.dir .. "/dangling")), E.ENOENT)
  local f = H.write(self.dir .. "/f", "")
  lu.assertEquals(select(3, core.realpath(f .. "/x")), E.ENOTDIR)
  H.symlink("loop2", self.dir .. "/loop1")
  H.symlink("loop1", self.dir .. "/loop2")
  ok, msg, errno = core.realpath(self.dir .. "/loop1")
  H.assert_error("realpath '" .. self.dir .. "/loop1'", ok, msg, errno, 40)
  ok, msg, errno = core.realpath("/tmp\0x")
  H.assert_error("realpath", ok, msg, errno, E.EINVAL)
  ok, msg, errno = core.realpath(LONG)
  H.assert_error("realpath", ok, msg, errno, E.ENAMETOOLONG)
  lu.assertErrorMsgContains("bad argument #1", core.realpath)
  lu.assertErrorMsgContains("string expected", core.realpath, {})
end

-- realpath asks the kernel (open O_PATH + /proc/self/fd/N); without /proc it
-- falls back to realpath(3), with the same answers and errors. A child in a
-- mount namespace of its own, with /proc unmounted, shows the fallback.
function TestCoreRealpath:test_same_answers_without_proc()
  H.need_mounts()
  lu.skipIf(os.getenv("KATAMOUNT_SANITIZED") ~= nil,
    "the child would load a sanitized core without its runtime")
  H.mkdir(self.dir .. "/real/sub")
  H.write(self.dir .. "/real/sub/f", "")
  H.symlink(self.dir .. "/real", self.dir .. "/l1")
  H.symlink("l1/sub", self.dir .. "/l2")
  H.symlink("loop2", self.dir .. "/loop1")
  H.symlink("loop1", self.dir .. "/loop2")
  local script = ([[
    package.cpath = %q .. "/?.so;" .. package.cpath
    local core = require("katamount.core")
    local f = io.open("/proc/self/status")
    print(f == nil and "no-proc" or "proc")
    print(core.realpath(%q))
    print(core.realpath(%q))
    print(select(3, core.realpath(%q)))
    print(select(3, core.realpath(%q)))
  ]]):format(os.getenv("KATAMOUNT_BUILD") or "build", self.dir .. "/l2/f", self.dir .. "/l2/../sub/./f",
    self.dir .. "/loop1", self.dir .. "/missing")
  local out = H.sh("unshare -m --propagation private sh -c " ..
    H.q("umount -l /proc && lua5.4 -e " .. H.q(script)))
  lu.assertEquals(out, table.concat({ "no-proc", self.dir .. "/real/sub/f", self.dir .. "/real/sub/f",
    "40", "2" }, "\n"))
end

---------------------------------------------------------------------------
-- device_for_path

local TestCoreDeviceForPath = {}

function TestCoreDeviceForPath:setUp() self.dir = core.realpath(H.tmpdir("devpath")) end
function TestCoreDeviceForPath.tearDown() H.cleanup() end

local function dev_of(path)
  local st = assert(core.stat(path))
  return st.dev_major, st.dev_minor
end

local function assert_device(path, want_mount_point, want_dev_of)
  local d, msg = core.device_for_path(path)
  lu.assertNotNil(d, msg)
  lu.assertEquals(d.mount_point, want_mount_point, path)
  local maj, min = dev_of(want_dev_of or want_mount_point)
  lu.assertEquals({ d.major, d.minor }, { maj, min }, path)
  return d
end

function TestCoreDeviceForPath.test_empty_path()
  local ok, msg, errno = core.device_for_path("")
  lu.assertNil(ok)
  lu.assertEquals(msg, "device_for_path '': path cannot be empty")
  lu.assertEquals(errno, E.EINVAL)
end

function TestCoreDeviceForPath.test_root_reports_root()
  for _, p in ipairs({ "/", "///", "/..", "/../..", "/.", "/./../." }) do
    assert_device(p, "/", "/")
  end
end

function TestCoreDeviceForPath:test_path_on_a_tmpfs()
  H.need_mounts()
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  H.mkdir(mnt .. "/a/b")
  H.write(mnt .. "/a/b/file", "x")
  local d = assert_device(mnt .. "/a/b/file", mnt)
  assert_device(mnt .. "/a", mnt)
  assert_device(mnt, mnt)
  assert_device(mnt .. "/", mnt)
  assert_device(mnt .. "/a/../a/./b//file", mnt)
  -- the same device numbers as the kernel's own tools give
  lu.assertEquals(("%d:%d"):format(d.major, d.minor), H.sh("mountpoint -d " .. H.q(mnt)))
  lu.assertEquals(core.stat(mnt).dev, tonumber(H.sh("stat -c %d " .. H.q(mnt .. "/a/b/file"))))
  -- and tmpfs is an anonymous device: major 0
  lu.assertEquals(d.major, 0)
end

-- Given the path's device (a stat's `dev`), the walk starts from it: the
-- same answer as a walk that stats the path itself, for a file, a directory
-- and a mount point; a device the path is not on ends the walk at the path.
function TestCoreDeviceForPath:test_walk_from_a_known_device()
  H.need_mounts()
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  H.mkdir(mnt .. "/a/b")
  H.write(mnt .. "/a/b/file", "x")
  for _, p in ipairs({ mnt .. "/a/b/file", mnt .. "/a", mnt, self.dir, "/" }) do
    local st = assert(core.stat(p))
    lu.assertEquals(core.device_for_path(p, st.dev), core.device_for_path(p), p)
  end
  -- the parent of mnt/a is on mnt's device, not on the root's: the walk
  -- stops at once, mnt/a reported as its own mount point on that device
  local root = assert(core.stat("/"))
  local d = assert(core.device_for_path(mnt .. "/a", root.dev))
  lu.assertEquals(d.mount_point, mnt .. "/a")
  lu.assertEquals({ d.major, d.minor }, { root.dev_major, root.dev_minor })
  -- a missing path given a device is not stat'ed: its parents are walked
  lu.assertEquals(core.device_for_path(mnt .. "/missing", core.stat(mnt).dev).mount_point, mnt)
  -- dev must be an integer; nil is no dev
  lu.assertErrorMsgContains("number expected", core.device_for_path, mnt, "x")
  lu.assertErrorMsgContains("number has no integer representation", core.device_for_path, mnt, 1.5)
  lu.assertEquals(core.device_for_path(mnt, nil), core.device_for_path(mnt))
end

function TestCoreDeviceForPath:test_nested_mounts_and_bind_on_same_device()
  H.need_mounts()
  local outer = H.mount_tmpfs(self.dir .. "/outer")
  local inner = H.mount_tmpfs(outer .. "/x/inner")
  H.write(inner .. "/f", "")
  assert_device(inner .. "/f", inner)
  assert_device(outer .. "/x", outer)
  -- a bind mount within the same file system keeps st_dev: the walk, like
  -- the Go original, only sees device changes
  H.mkdir(outer .. "/src/deep")
  H.bind(outer .. "/src", outer .. "/dst")
  assert_device(outer .. "/dst/deep", outer)
  -- a bind of another file system is seen
  local other = H.mount_tmpfs(self.dir .. "/other")
  H.mkdir(other .. "/d")
  H.bind(other .. "/d", outer .. "/b2")
  assert_device(outer .. "/b2", outer .. "/b2", other)
end

function TestCoreDeviceForPath.test_path_on_the_root_device_is_not_found()
  -- a directory of the root's own file system (never assume /tmp is one:
  -- Debian 13 mounts a tmpfs there)
  local rmaj, rmin = dev_of("/")
  local dir
  for _, p in ipairs({ "/etc", "/usr", "/var", "/root", "/opt", "/srv" }) do
    local st = core.stat(p)
    if st and st.type == "directory" and core.is_mount_point(p) == false then
      local maj, min = dev_of(p)
      if maj == rmaj and min == rmin then dir = p break end
    end
  end
  lu.skipIf(dir == nil, "no directory of the root file system found")
  for _, p in ipairs({ dir, dir .. "/../" .. dir:sub(2), dir .. "//" }) do
    local ok, msg, errno = core.device_for_path(p)
    lu.assertNil(ok, p)
    lu.assertEquals(msg, "device_for_path '" .. p .. "': mount point not found")
    lu.assertEquals(errno, E.ENOENT)
  end
end

function TestCoreDeviceForPath.test_proc_paths()
  assert_device("/proc/self", "/proc")
  assert_device("/proc/self/fd", "/proc")
  assert_device("/proc/1", "/proc")
  assert_device("/proc/self/", "/proc")
  assert_device("/sys/kernel", "/sys")
end

function TestCoreDeviceForPath:test_relative_paths()
  H.need_mounts()
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  H.mkdir(mnt .. "/a/b")
  local cwd = assert(lfs.currentdir())
  assert(lfs.chdir(mnt .. "/a"))
  local ok1, r1 = pcall(core.device_for_path, "b")
  local ok2, r2 = pcall(core.device_for_path, ".")
  local ok3, r3 = pcall(core.device_for_path, "../a/./b/..")
  local ok4, r4 = pcall(core.device_for_path, "..")
  assert(lfs.chdir(cwd))
  lu.assertTrue(ok1 and ok2 and ok3 and ok4)
  for _, r in ipairs({ r1, r2, r3, r4 }) do
    lu.assertIsTable(r)
    lu.assertEquals(r.mount_point, mnt)
  end
end

function TestCoreDeviceForPath:test_symlinks()
  H.need_mounts()
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  H.mkdir(mnt .. "/data")
  -- a link on the mount to elsewhere on it: followed for the device
  H.symlink("data", mnt .. "/ln")
  assert_device(mnt .. "/ln", mnt)
  -- a link on another device to the tmpfs: stat follows it, the walk is
  -- lexical, so the link itself is the last path on the tmpfs's device (the
  -- Go original's answer; the engine resolves symlinks first)
  local other = H.mount_tmpfs(self.dir .. "/other")
  local ln = H.symlink(mnt .. "/data", other .. "/to-mnt")
  assert_device(ln, ln, mnt)
end

function TestCoreDeviceForPath:test_deep_path_is_walked()
  H.need_mounts()
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  local deep = mnt .. string.rep("/d", 1000)
  H.mkdir(deep)
  assert_device(deep, mnt)
end

function TestCoreDeviceForPath:test_errors()
  local missing = self.dir .. "/missing"
  local ok, msg, errno = core.device_for_path(missing)
  H.assert_error("device_for_path '" .. missing .. "'", ok, msg, errno, E.ENOENT)
  local f = H.write(self.dir .. "/f", "")
  lu.assertEquals(select(3, core.device_for_path(f .. "/x")), E.ENOTDIR)
  H.symlink("loop2", self.dir .. "/loop1")
  H.symlink("loop1", self.dir .. "/loop2")
  lu.assertEquals(select(3, core.device_for_path(self.dir .. "/loop1")), E.ELOOP)
  ok, msg, errno = core.device_for_path("/proc\0/self")
  H.assert_error("device_for_path '/proc\\0/self'", ok, msg, errno, E.EINVAL)
  ok, msg, errno = core.device_for_path(LONG)
  H.assert_error("device_for_path", ok, msg, errno, E.ENAMETOOLONG)
  lu.assertErrorMsgContains("bad argument #1", core.device_for_path)
  lu.assertErrorMsgContains("string expected", core.device_for_path, {})
  lu.assertErrorMsgContains("string expected", core.device_for_path, false)
end

function TestCoreDeviceForPath:test_lexical_parent_missing()
  H.need_mounts()
  -- stat follows the link out of <mnt>/x, but the cleaned path's parent
  -- <mnt>/sub does not exist: the walk's lstat fails and says so
  local mnt = H.mount_tmpfs(self.dir .. "/mnt")
  H.mkdir(mnt .. "/real/dir")
  H.mkdir(mnt .. "/real/sub")
  H.write(mnt .. "/real/sub/f", "")
  H.mkdir(mnt .. "/x")
  H.symlink(mnt .. "/real/dir", mnt .. "/x/link")
  local p = mnt .. "/x/link/../sub/f"
  lu.assertNotNil(core.stat(p))
  local ok, msg, errno = core.device_for_path(p)
  H.assert_error("device_for_path '" .. p .. "'", ok, msg, errno, E.ENOENT)
  lu.assertStrContains(msg, "lstat '" .. mnt .. "/x/sub'")
end

function TestCoreDeviceForPath:test_no_descriptor_leak()
  collectgarbage()  -- descriptors of earlier specs\' garbage go first
  local before = H.open_fds()
  for _ = 1, 200 do
    core.device_for_path("/proc/self"); core.device_for_path(self.dir .. "/missing")
    core.realpath(self.dir); core.realpath(self.dir .. "/missing")
  end
  lu.assertEquals(H.open_fds(), before)
end

return {
  TestCoreClean = TestCoreClean,
  TestCoreBase = TestCoreBase,
  TestCoreJoin = TestCoreJoin,
  TestCoreRealpath = TestCoreRealpath,
  TestCoreDeviceForPath = TestCoreDeviceForPath,
}
