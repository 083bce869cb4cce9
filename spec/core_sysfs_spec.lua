-- spec/core_sysfs_spec.lua -- katamount.core.block_device: fake sysfs trees
-- built in a temporary directory (real symlinks, like /sys/dev/block), and
-- the live /sys for the root file system's device.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

local E = H.E

-- A fake sysfs: <root>/devices/... holds the devices, <root>/dev/block/M:m
-- links to them with relative targets, as the kernel's do.
local function fake_sysfs(root)
  H.mkdir(root .. "/dev/block")
  H.mkdir(root .. "/devices/virtual/block/dm-0/dm")
  H.write(root .. "/devices/virtual/block/dm-0/dm/name", "vg-root\n")
  H.mkdir(root .. "/devices/pci0000:00/0000:00:1f.2/ata1/block/sda/sda1")
  H.mkdir(root .. "/devices/virtual/block/loop3")
  H.symlink("../../devices/virtual/block/dm-0", root .. "/dev/block/253:0")
  H.symlink("../../devices/pci0000:00/0000:00:1f.2/ata1/block/sda/sda1", root .. "/dev/block/8:1")
  H.symlink("../../devices/virtual/block/loop3/", root .. "/dev/block/7:3")
  -- large numbers: major 4000, minor 70000
  H.mkdir(root .. "/devices/virtual/block/big0/dm")
  H.symlink("../../devices/virtual/block/big0", root .. "/dev/block/4000:70000")
  return root
end

local TestCoreBlockDevice = {}

function TestCoreBlockDevice:setUp() self.dir = H.tmpdir("sysfs") end
function TestCoreBlockDevice.tearDown() H.cleanup() end

function TestCoreBlockDevice:test_fake_tree()
  local root = fake_sysfs(self.dir .. "/sys")
  lu.assertEquals(core.block_device(253, 0, root), { name = "dm-0", dm = true })
  lu.assertEquals(core.block_device(8, 1, root), { name = "sda1", dm = false })
  lu.assertEquals(core.block_device(7, 3, root), { name = "loop3", dm = false })
  lu.assertEquals(core.block_device(4000, 70000, root), { name = "big0", dm = true })
  -- a root given with a trailing slash works the same
  lu.assertEquals(core.block_device(253, 0, root .. "/"), { name = "dm-0", dm = true })
  -- numbers are coerced as Lua does
  lu.assertEquals(core.block_device("8", 1.0, root), { name = "sda1", dm = false })
end

function TestCoreBlockDevice:test_missing_entry_is_false()
  local root = fake_sysfs(self.dir .. "/sys")
  lu.assertIsFalse(core.block_device(8, 2, root))
  lu.assertIsFalse(core.block_device(0, 0, root))
  lu.assertIsFalse(core.block_device(4095, 0xfffff, root))
  -- a root with no dev/block at all: no such device either
  lu.assertIsFalse(core.block_device(8, 1, H.mkdir(self.dir .. "/empty")))
  lu.assertIsFalse(core.block_device(8, 1, self.dir .. "/does-not-exist"))
end

-- kata-containers src/runtime/virtcontainers/mount.go, isBlockDevice: HEAD
-- stats "/sys/dev/block/M:m/" (a trailing slash), so the entry must resolve
-- to a directory; the seed only looked for the link.
function TestCoreBlockDevice:test_dangling_entry_is_no_block_device()
  local root = fake_sysfs(self.dir .. "/sys")
  H.symlink("../../devices/virtual/block/gone0", root .. "/dev/block/9:9")
  lu.assertIsFalse(core.block_device(9, 9, root))
  -- the same link once its target exists
  H.mkdir(root .. "/devices/virtual/block/gone0")
  lu.assertEquals(core.block_device(9, 9, root), { name = "gone0", dm = false })
  -- an entry that is a directory rather than a link is a block device too
  H.mkdir(root .. "/dev/block/9:8/dm")
  lu.assertEquals(core.block_device(9, 8, root), { name = "9:8", dm = true })
end

function TestCoreBlockDevice:test_dm_is_a_file_still_counts()
  -- the Go original only stats <entry>/dm
  local root = fake_sysfs(self.dir .. "/sys")
  H.mkdir(root .. "/devices/virtual/block/odd0")
  H.write(root .. "/devices/virtual/block/odd0/dm", "")
  H.symlink("../../devices/virtual/block/odd0", root .. "/dev/block/9:1")
  lu.assertEquals(core.block_device(9, 1, root), { name = "odd0", dm = true })
end

function TestCoreBlockDevice:test_error_returns()
  local root = fake_sysfs(self.dir .. "/sys")
  -- an entry that is a regular file: "<entry>/" says ENOTDIR
  H.write(root .. "/dev/block/9:2", "")
  local ok, msg, errno = core.block_device(9, 2, root)
  H.assert_error("block_device '" .. root .. "/dev/block/9:2'", ok, msg, errno, E.ENOTDIR)
  -- dev/block is a file: ENOTDIR
  local bad = H.mkdir(self.dir .. "/bad/dev")
  H.write(bad .. "/block", "")
  ok, msg, errno = core.block_device(8, 1, self.dir .. "/bad")
  H.assert_error("block_device '" .. self.dir .. "/bad/dev/block/8:1'", ok, msg, errno, E.ENOTDIR)
  -- a symlink loop on the way: ELOOP
  local loop = H.mkdir(self.dir .. "/loop")
  H.symlink("dev", loop .. "/dev")
  ok, msg, errno = core.block_device(8, 1, loop)
  H.assert_error("block_device", ok, msg, errno, E.ELOOP)
  -- the entry's target has a regular file on its way: ENOTDIR from stat
  H.write(root .. "/devices/plain", "")
  H.symlink("../../devices/plain/x", root .. "/dev/block/9:3")
  ok, msg, errno = core.block_device(9, 3, root)
  H.assert_error("block_device '" .. root .. "/dev/block/9:3'", ok, msg, errno, E.ENOTDIR)
  -- the entry resolves, its dm is a symlink loop: ELOOP from the stat of dm
  H.mkdir(root .. "/devices/virtual/block/looped0")
  H.symlink("dm", root .. "/devices/virtual/block/looped0/dm")
  H.symlink("../../devices/virtual/block/looped0", root .. "/dev/block/9:4")
  ok, msg, errno = core.block_device(9, 4, root)
  H.assert_error("block_device '" .. root .. "/dev/block/9:4/dm'", ok, msg, errno, E.ELOOP)
  -- the root itself: NUL byte, too long (alone, or once the entry is added)
  ok, msg, errno = core.block_device(8, 1, "/sys\0/x")
  H.assert_error("block_device '/sys\\0/x'", ok, msg, errno, E.EINVAL)
  ok, msg, errno = core.block_device(8, 1, string.rep("a", 5000))
  H.assert_error("block_device", ok, msg, errno, E.ENAMETOOLONG)
  ok, msg, errno = core.block_device(8, 1, "/" .. string.rep("a", 4090))
  H.assert_error("block_device", ok, msg, errno, E.ENAMETOOLONG)
end

function TestCoreBlockDevice.test_wrong_arguments_raise()
  lu.assertErrorMsgContains("bad argument #1", core.block_device)
  lu.assertErrorMsgContains("bad argument #2", core.block_device, 8)
  lu.assertErrorMsgContains("number expected", core.block_device, "sda", 1)
  lu.assertErrorMsgContains("number has no integer representation", core.block_device, 8.5, 1)
  lu.assertErrorMsgContains("major out of range", core.block_device, -1, 0)
  lu.assertErrorMsgContains("minor out of range", core.block_device, 8, -1)
  lu.assertErrorMsgContains("major out of range", core.block_device, 1 << 32, 0)
  lu.assertErrorMsgContains("bad argument #3", core.block_device, 8, 1, {})
  lu.assertErrorMsgContains("string expected", core.block_device, 8, 1, true)
end

function TestCoreBlockDevice.test_live_sysfs()
  local st = assert(core.stat("/"))
  local entry = ("/sys/dev/block/%d:%d"):format(st.dev_major, st.dev_minor)
  local target, ok = H.run("readlink " .. entry)
  lu.skipIf(not ok, "the root file system is not on a block device listed in /sys")
  local want = { name = target:match("([^/]+)/*$"),
                 dm = select(2, H.run("test -e " .. entry .. "/dm")) == true }
  lu.assertEquals(core.block_device(st.dev_major, st.dev_minor), want)
  lu.assertEquals(core.block_device(st.dev_major, st.dev_minor, "/sys"), want)
  lu.assertEquals(core.block_device(st.dev_major, st.dev_minor, nil), want)
  -- proc is an anonymous device: not a block device
  local p = assert(core.stat("/proc"))
  lu.assertIsFalse(core.block_device(p.dev_major, p.dev_minor))
end

function TestCoreBlockDevice:test_no_descriptor_leak()
  local root = fake_sysfs(self.dir .. "/sys")
  collectgarbage()  -- descriptors of earlier specs\' garbage go first
  local before = H.open_fds()
  for _ = 1, 200 do
    core.block_device(253, 0, root); core.block_device(1, 1, root)
    core.block_device(8, 1, self.dir .. "/none")
  end
  lu.assertEquals(H.open_fds(), before)
end

return { TestCoreBlockDevice = TestCoreBlockDevice }
