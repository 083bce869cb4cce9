-- spec/core_dest_spec.lua -- katamount.core.ensure_destination on real trees:
-- directories and files both ways, existing destinations of either type,
-- symlinks, a read-only tmpfs, and every argument error.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

local E = H.E
local LONG = string.rep("a", 5000)

local UMASK = (function()
  local f = assert(io.open("/proc/self/status", "r"))
  local m = f:read("a"):match("Umask:%s*(%d+)")
  f:close()
  return m and tonumber(m, 8) or tonumber("022", 8)
end)()

local function perm(path) return core.stat(path).mode & tonumber("7777", 8) end

local TestCoreEnsureDestination = {}

function TestCoreEnsureDestination:setUp()
  self.dir = H.tmpdir("dest")
  self.srcdir = H.mkdir(self.dir .. "/srcdir")
  self.srcfile = H.write(self.dir .. "/srcfile", "content")
end
function TestCoreEnsureDestination.tearDown() H.cleanup() end

function TestCoreEnsureDestination:test_directory_source_makes_directories()
  local dest = self.dir .. "/out/a/b/c"
  lu.assertIsTrue(core.ensure_destination(self.srcdir, dest))
  for _, p in ipairs({ self.dir .. "/out", self.dir .. "/out/a", self.dir .. "/out/a/b", dest }) do
    lu.assertEquals(core.stat(p).type, "directory", p)
    lu.assertEquals(perm(p), tonumber("755", 8) & ~UMASK, p)
  end
  -- again: already there, still true, contents untouched
  H.write(dest .. "/keep", "k")
  lu.assertIsTrue(core.ensure_destination(self.srcdir, dest))
  lu.assertEquals(H.read(dest .. "/keep"), "k")
  -- redundant slashes and dots are fine
  lu.assertIsTrue(core.ensure_destination(self.srcdir, self.dir .. "//out2/./x//y/"))
  lu.assertEquals(core.stat(self.dir .. "/out2/x/y").type, "directory")
  lu.assertIsTrue(core.ensure_destination(self.srcdir, self.dir .. "/out3/p/../q"))
  lu.assertEquals(core.stat(self.dir .. "/out3/q").type, "directory")
end

function TestCoreEnsureDestination:test_file_source_makes_parents_and_empty_file()
  local dest = self.dir .. "/out/a/b/file"
  lu.assertIsTrue(core.ensure_destination(self.srcfile, dest))
  local st = assert(core.stat(dest))
  lu.assertEquals(st.type, "file")
  lu.assertEquals(st.size, 0)
  lu.assertEquals(perm(dest), tonumber("644", 8) & ~UMASK)
  lu.assertEquals(perm(self.dir .. "/out/a/b"), tonumber("755", 8) & ~UMASK)
  -- an existing file is never truncated
  H.write(dest, "already here")
  lu.assertIsTrue(core.ensure_destination(self.srcfile, dest))
  lu.assertEquals(H.read(dest), "already here")
  -- a file right in an existing directory
  lu.assertIsTrue(core.ensure_destination(self.srcfile, self.dir .. "/top"))
  lu.assertEquals(core.stat(self.dir .. "/top").type, "file")
end

function TestCoreEnsureDestination:test_special_sources_are_files()
  -- a device node or a fifo is bind-mounted onto a file
  lu.assertIsTrue(core.ensure_destination("/dev/null", self.dir .. "/dev/null"))
  lu.assertEquals(core.stat(self.dir .. "/dev/null").type, "file")
  local fifo = self.dir .. "/fifo"
  H.sh("mkfifo " .. H.q(fifo))
  lu.assertIsTrue(core.ensure_destination(fifo, self.dir .. "/f/fifo"))
  lu.assertEquals(core.stat(self.dir .. "/f/fifo").type, "file")
  -- an existing fifo destination for a file source is left alone, unopened
  lu.assertIsTrue(core.ensure_destination(self.srcfile, fifo))
  lu.assertEquals(core.lstat(fifo).type, "fifo")
end

function TestCoreEnsureDestination:test_symlinks_are_followed()
  -- the source's type is that of its target
  local ldir = H.symlink(self.srcdir, self.dir .. "/ldir")
  lu.assertIsTrue(core.ensure_destination(ldir, self.dir .. "/d1"))
  lu.assertEquals(core.stat(self.dir .. "/d1").type, "directory")
  -- a destination that is a link to a directory is a directory
  local target = H.mkdir(self.dir .. "/target")
  local ldest = H.symlink(target, self.dir .. "/ldest")
  lu.assertIsTrue(core.ensure_destination(self.srcdir, ldest))
  lu.assertEquals(core.lstat(ldest).type, "link")
  -- a dangling link in the way of a file: an error, nothing created
  local dangling = H.symlink(self.dir .. "/nowhere", self.dir .. "/dangling")
  local ok, msg, errno = core.ensure_destination(self.srcfile, dangling)
  H.assert_error("ensure_destination '" .. dangling .. "'", ok, msg, errno, E.ENOENT)
  lu.assertNil(core.lstat(self.dir .. "/nowhere"))
  ok, msg, errno = core.ensure_destination(self.srcdir, dangling)
  H.assert_error("ensure_destination '" .. dangling .. "'", ok, msg, errno, E.ENOENT)
  lu.assertNil(core.lstat(self.dir .. "/nowhere"))
end

function TestCoreEnsureDestination:test_wrong_type_is_an_error()
  -- Unlike the Go original (whose Mkdir took EEXIST as success, leaving a
  -- file where a directory mount point was wanted), the other type is an error.
  local file = H.write(self.dir .. "/existing-file", "x")
  local ok, msg, errno = core.ensure_destination(self.srcdir, file)
  H.assert_error("ensure_destination '" .. file .. "'", ok, msg, errno, E.EEXIST)
  lu.assertStrContains(msg, "exists and is not a directory")
  lu.assertEquals(H.read(file), "x")
  local dir = H.mkdir(self.dir .. "/existing-dir")
  ok, msg, errno = core.ensure_destination(self.srcfile, dir)
  H.assert_error("ensure_destination '" .. dir .. "'", ok, msg, errno, E.EEXIST)
  lu.assertStrContains(msg, "exists and is a directory")
  -- a link to a directory counts as a directory
  local ldir = H.symlink(dir, self.dir .. "/ldir2")
  ok, msg, errno = core.ensure_destination(self.srcfile, ldir)
  H.assert_error("is a directory", ok, msg, errno, E.EEXIST)
end

function TestCoreEnsureDestination:test_error_returns()
  -- missing source
  local missing = self.dir .. "/missing"
  local ok, msg, errno = core.ensure_destination(missing, self.dir .. "/d")
  H.assert_error("ensure_destination '" .. missing .. "'", ok, msg, errno, E.ENOENT)
  lu.assertNil(core.lstat(self.dir .. "/d"), "nothing is created for a missing source")
  -- empty destination
  ok, msg, errno = core.ensure_destination(self.srcdir, "")
  lu.assertNil(ok)
  lu.assertEquals(msg, "ensure_destination '': path cannot be empty")
  lu.assertEquals(errno, E.EINVAL)
  -- a parent is a regular file: ENOTDIR, for both kinds of source
  local file = H.write(self.dir .. "/plain", "")
  lu.assertEquals(select(3, core.ensure_destination(self.srcdir, file .. "/sub/d")), E.ENOTDIR)
  lu.assertEquals(select(3, core.ensure_destination(self.srcfile, file .. "/sub/f")), E.ENOTDIR)
  -- a symlink loop in the destination or the source
  H.symlink("loop2", self.dir .. "/loop1")
  H.symlink("loop1", self.dir .. "/loop2")
  lu.assertEquals(select(3, core.ensure_destination(self.srcdir, self.dir .. "/loop1/x")), E.ELOOP)
  lu.assertEquals(select(3, core.ensure_destination(self.srcfile, self.dir .. "/loop1/x")), E.ELOOP)
  lu.assertEquals(select(3, core.ensure_destination(self.dir .. "/loop1", self.dir .. "/x")), E.ELOOP)
  -- NUL bytes and over-long paths, in either argument
  ok, msg, errno = core.ensure_destination(self.srcdir .. "\0x", self.dir .. "/d")
  H.assert_error("ensure_destination '", ok, msg, errno, E.EINVAL)
  lu.assertStrContains(msg, "\\0x")
  ok, msg, errno = core.ensure_destination(self.srcdir, self.dir .. "/d\0x")
  H.assert_error("NUL", ok, msg, errno, E.EINVAL)
  lu.assertEquals(select(3, core.ensure_destination(LONG, self.dir .. "/d")), E.ENAMETOOLONG)
  lu.assertEquals(select(3, core.ensure_destination(self.srcdir, LONG)), E.ENAMETOOLONG)
  -- a component too long for the file system
  local name = self.dir .. "/" .. string.rep("n", 300)
  ok, msg, errno = core.ensure_destination(self.srcdir, name .. "/d")
  H.assert_error("ensure_destination '" .. name .. "/d'", ok, msg, errno, E.ENAMETOOLONG)
end

function TestCoreEnsureDestination:test_read_only_file_system()
  H.need_mounts()
  local ro = H.mount_tmpfs(self.dir .. "/ro", "ro")
  local ok, msg, errno = core.ensure_destination(self.srcdir, ro .. "/a/b")
  H.assert_error("mkdir '" .. ro .. "/a'", ok, msg, errno, 30)  -- EROFS
  ok, msg, errno = core.ensure_destination(self.srcfile, ro .. "/f")
  H.assert_error("ensure_destination '" .. ro .. "/f'", ok, msg, errno, 30)
  -- what exists already is accepted without writing
  lu.assertIsTrue(core.ensure_destination(self.srcdir, ro))
  -- and the existing parents of a writable tmpfs below are passed over
  local rw = H.mount_tmpfs(self.dir .. "/rw")
  lu.assertIsTrue(core.ensure_destination(self.srcfile, rw .. "/x/y"))
end

function TestCoreEnsureDestination.test_wrong_types_raise()
  lu.assertErrorMsgContains("bad argument #1", core.ensure_destination)
  lu.assertErrorMsgContains("bad argument #2", core.ensure_destination, "/tmp")
  lu.assertErrorMsgContains("string expected", core.ensure_destination, {}, "/tmp/x")
  lu.assertErrorMsgContains("bad argument #2", core.ensure_destination, "/tmp", false)
end

function TestCoreEnsureDestination:test_no_descriptor_leak()
  collectgarbage()  -- descriptors of earlier specs\' garbage go first
  local before = H.open_fds()
  for i = 1, 100 do
    core.ensure_destination(self.srcfile, self.dir .. "/many/f" .. i)
    core.ensure_destination(self.srcfile, self.dir .. "/many/f" .. i)
    core.ensure_destination(self.srcfile, self.srcdir)
    core.ensure_destination(self.dir .. "/missing", self.dir .. "/x")
  end
  lu.assertEquals(H.open_fds(), before)
end

return { TestCoreEnsureDestination = TestCoreEnsureDestination }
