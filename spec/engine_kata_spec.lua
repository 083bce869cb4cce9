-- spec/engine_kata_spec.lua -- decisions checked against kata-containers'
-- own code paths: each test names the upstream file and function it follows
-- (kata-containers/kata-containers, src/runtime/virtcontainers/ unless said),
-- and feeds the mounts kata's own unit tests feed where there is one.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

local BLOCK_FILE = "io.katacontainers.fs-opt.block_device=file"

local function decide(mount, ctx, e)
  local d, err = (e or katamount.engine):classify(mount, ctx)
  lu.assertNil(err, mount.source)
  return { d.class, d.action }
end

-------------------------------------------------------------------------------
-- kata_agent.go handleShm (and its TestHandleShm in kata_agent_test.go);
-- runtime-rs crates/resource/src/volume/shm_volume.rs is_shm_volume. Every
-- mount whose destination is "/dev/shm" byte for byte and whose type is not
-- "ephemeral" is the container's shm, before every other kind of volume.
local TestHandleShm = {}
function TestHandleShm.tearDown() H.cleanup() end

function TestHandleShm.test_kata_unit_test_mounts()
  -- TestHandleShm: a bind mount on /dev/shm with no source at all
  lu.assertEquals(decide({ type = "bind", destination = "/dev/shm", source = "" }), { "shm", "guest-shm" })
  -- ... and once its type is "ephemeral", it is no shm
  local d = H.tmpdir("shm")
  lu.assertNotEquals(decide({ type = "ephemeral", destination = "/dev/shm", source = d })[1], "shm")
end

function TestHandleShm.test_any_type_byte_for_byte()
  local d = H.tmpdir("shm")
  -- containerd's default /dev/shm outside Kubernetes: a tmpfs
  lu.assertEquals(decide({ type = "tmpfs", destination = "/dev/shm", source = "shm",
    options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } }), { "shm", "guest-shm" })
  -- the sandbox's shm bound in by the CRI
  lu.assertEquals(decide(H.bind_mount(d, "/dev/shm")), { "shm", "guest-shm" })
  -- "/dev/shm/" and "/dev//shm" are other destinations to kata
  lu.assertEquals(decide(H.bind_mount(d, "/dev/shm/")), { "shared", "share" })
  lu.assertEquals(decide(H.bind_mount(d, "/dev//shm")), { "shared", "share" })
  lu.assertEquals(decide({ type = "tmpfs", destination = "/dev/shm/", source = "shm" }),
    { "passthrough", "guest-mount" })
  -- a source under /proc on /dev/shm: handleShm replaces the source anyway
  lu.assertEquals(decide(H.bind_mount("/proc/self", "/dev/shm")), { "shm", "guest-shm" })
end

-- pkg/katautils/create.go SetEphemeralStorageType runs first: a tmpfs
-- emptyDir becomes an "ephemeral" mount (handleShm leaves it), a hugepage or
-- disk emptyDir a "local" one (handleShm takes it).
function TestHandleShm.test_empty_dirs_on_dev_shm()
  H.need_mounts()
  local d = H.tmpdir("shm")
  local tmpfs_ed = H.mount_tmpfs(d .. "/pods/p/volumes/kubernetes.io~empty-dir/mem")
  lu.assertEquals(decide(H.bind_mount(tmpfs_ed, "/dev/shm")), { "ephemeral", "guest-tmpfs" })
  local disk = H.disk_dir("shm")
  local disk_ed = H.mkdir(disk .. "/pods/p/volumes/kubernetes.io~empty-dir/scratch")
  lu.assertEquals(decide(H.bind_mount(disk_ed, "/dev/shm")), { "shm", "guest-shm" })
  lu.assertEquals(decide(H.bind_mount(disk_ed, "/scratch")), { "local", "guest-local" })
end

function TestHandleShm.test_hugepage_empty_dir_on_dev_shm()
  H.need_mounts()
  local huge = H.mkdir(H.tmpdir("shm") .. "/pods/p/volumes/kubernetes.io~empty-dir/huge")
  local _, ok = H.run("mount -t hugetlbfs none " .. H.q(huge))
  lu.skipIf(not ok, "hugetlbfs cannot be mounted here")
  lu.assertEquals(decide(H.bind_mount(huge, "/dev/shm")), { "shm", "guest-shm" })
  lu.assertEquals(decide(H.bind_mount(huge, "/huge")), { "hugepages", "guest-hugetlbfs" })
end

-------------------------------------------------------------------------------
-- container.go createBlockDevices: only "bind" mounts and mounts marked
-- io.katacontainers.fs-opt.block_device=file are looked at; a marked regular
-- file is hot-plugged whatever the mount's type (createDeviceInfo).
local TestCreateBlockDevices = {}
function TestCreateBlockDevices.tearDown() H.cleanup() end

function TestCreateBlockDevices.test_marked_file_of_any_type()
  local d = H.tmpdir("blk")
  local img = H.write(d .. "/layer.tar", "")
  for _, t in ipairs({ "tar", "ext4", "erofs", "bind" }) do
    lu.assertEquals(decide({ type = t, destination = "/v", source = img, options = { "ro", BLOCK_FILE } }),
      { "block", "hotplug-block" }, t)
  end
  -- not marked: a non-bind mount is the agent's, a bind mount is shared
  lu.assertEquals(decide({ type = "ext4", destination = "/v", source = img, options = { "ro" } }),
    { "passthrough", "guest-mount" })
  lu.assertEquals(decide(H.bind_mount(img, "/v")), { "shared", "share" })
  -- block devices disabled: checkBlockDeviceSupport skips the hot-plug
  lu.assertEquals(decide({ type = "tar", destination = "/v", source = img, options = { BLOCK_FILE } },
    { disable_block_device_use = true }), { "passthrough", "guest-mount" })
  -- a marked directory is no block file
  lu.assertEquals(decide({ type = "ext4", destination = "/v", source = d, options = { BLOCK_FILE } }),
    { "passthrough", "guest-mount" })
end

-------------------------------------------------------------------------------
-- mount.go isBlockDevice at HEAD stats "/sys/dev/block/M:m/": the entry must
-- resolve (the seed only looked for it).
local TestIsBlockDevice = {}
function TestIsBlockDevice.tearDown() H.cleanup() end

function TestIsBlockDevice.test_dangling_sysfs_entry()
  local sys = H.tmpdir("sys")
  H.mkdir(sys .. "/dev/block")
  H.mkdir(sys .. "/devices/virtual/block/vda")
  H.symlink("../../devices/virtual/block/vda", sys .. "/dev/block/252:0")
  H.symlink("../../devices/virtual/block/gone", sys .. "/dev/block/252:1")
  local rules = H.rules_dir({ ["45-sysfs.lua"] = ("params.sysfs_root = %q\n"):format(sys) })
  local e = assert(katamount.new({ rules_path = { rules } }))
  lu.assertTrue(e:is_block_device(252, 0))
  lu.assertFalse(e:is_block_device(252, 1))
  lu.assertFalse(e:is_block_device(252, 2))
end

return {
  TestHandleShm = TestHandleShm,
  TestCreateBlockDevices = TestCreateBlockDevices,
  TestIsBlockDevice = TestIsBlockDevice,
}
