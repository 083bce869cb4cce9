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

-------------------------------------------------------------------------------
-- containerd-shim-v2/create.go copyLayersToMounts: each rootfs option
-- io.katacontainers.fs-opt.layer=SOURCE,TYPE[,OPTION...] becomes a container
-- mount at /run/kata-containers/sandbox/layers/<base> with exactly its own
-- options; kata_agent.go removeIgnoredOCIMount takes every is-layer mount out
-- of the spec, and handleBlkOCIMounts makes layer storages only of those
-- createBlockDevices hot-plugged: any other is-layer mount is dropped.
local IS_LAYER = "io.katacontainers.fs-opt.is-layer"
local LAYER = "io.katacontainers.fs-opt.layer="
local LAYERS_DIR = "/run/kata-containers/sandbox/layers/"

local function plan_root(root, ctx, spec)
  local c = ctx or {}
  c.rootfs = root
  return katamount.plan(spec or { mounts = {} }, c)
end

local TestCopyLayersToMounts = {}
function TestCopyLayersToMounts.tearDown() H.cleanup() end

function TestCopyLayersToMounts.test_layers_are_ordinary_mounts_unless_is_layer()
  local d = H.tmpdir("lay")
  local tar = H.write(d .. "/l.tar", "")
  local p, errs = plan_root({ source = d, type = "fuse3.kata-overlay", options = {
    LAYER .. tar .. ",tar,ro," .. BLOCK_FILE,                -- marked, not a layer: a block volume
    LAYER .. d .. "/x.erofs,erofs,ro",                       -- the agent mounts it
    LAYER .. tar .. ",bind,rbind",                           -- a bind mount: shared
  } })
  lu.assertEquals(errs, {})
  local got = {}
  for i, l in ipairs(p.layers) do got[i] = { l.class, l.action, l.destination } end
  lu.assertEquals(got, {
    { "block", "hotplug-block", LAYERS_DIR .. "l.tar" },
    { "passthrough", "guest-mount", LAYERS_DIR .. "x.erofs" },
    { "shared", "share", LAYERS_DIR .. "l.tar" },
  })
  lu.assertEquals(p.layers[1].options, { "ro", BLOCK_FILE })
  lu.assertEquals(p.rootfs.action, "overlay")
  lu.assertStrContains(p.rootfs.reasons[1], "3 layer option(s), 0 layer(s) hot-plugged")
end

function TestCopyLayersToMounts.test_is_layer_only_when_hot_plugged()
  H.need_mounts()
  local d = H.tmpdir("lay")
  local tar = H.write(d .. "/l.tar", "")
  local node = d .. "/blk"
  H.sh(("mknod %s b 7 0"):format(H.q(node)))
  local function layer(value, ctx)
    local p, errs = plan_root({ source = d, type = "fuse3.kata-overlay", options = { LAYER .. value } }, ctx)
    lu.assertEquals(errs, {})
    return { p.layers[1].class, p.layers[1].action }, p
  end
  local marked = tar .. ",tar,ro," .. BLOCK_FILE .. "," .. IS_LAYER
  lu.assertEquals(layer(marked), { "layer", "overlay-layer" })
  -- a bind mount of a block device node is hot-plugged too
  lu.assertEquals(layer(node .. ",bind,rbind," .. IS_LAYER), { "layer", "overlay-layer" })
  -- not delivered: block devices disabled, no marker, a missing file, a directory
  local dropped, p = layer(marked, { disable_block_device_use = true })
  lu.assertEquals(dropped, { "layer", "drop" })
  lu.assertStrContains(p.layers[1].reasons[1], "disable_block_device_use")
  lu.assertStrContains(p.rootfs.reasons[1], "1 layer option(s), 0 layer(s) hot-plugged")
  lu.assertEquals(layer(tar .. ",tar,ro," .. IS_LAYER), { "layer", "drop" })
  lu.assertEquals(layer(d .. "/gone.tar,tar," .. BLOCK_FILE .. "," .. IS_LAYER), { "layer", "drop" })
  lu.assertEquals(layer(d .. ",tar," .. BLOCK_FILE .. "," .. IS_LAYER), { "layer", "drop" })
  -- an is-layer mount is never anything else, even from /proc
  lu.assertEquals(layer("/proc/1,bind,rbind," .. IS_LAYER), { "layer", "drop" })
end

-- The AKS tardev snapshotter's root (fuse3.kata-overlay on "/", kata's
-- policy samples): kata HEAD applies no layer-src-prefix= (a relative layer
-- is looked up where the runtime runs) and decodes no base64 value.
function TestCopyLayersToMounts.test_tardev_root_as_kata_head_takes_it()
  local d = H.tmpdir("lay")
  local F = "io.katacontainers.fs-opt."
  local name = "2c342a137e693c7898aec36da1047f191dc7c1687e66198adacc439cf4adf379"
  H.write(d .. "/" .. name, "")
  local value = name .. ",tar,ro," .. BLOCK_FILE .. "," .. IS_LAYER .. "," .. F .. "root-hash=85"
  local opts = { F .. "layer-src-prefix=" .. d, LAYER .. value, F .. "overlay-rw", "lowerdir=" .. name }
  local p, errs = plan_root({ source = "/", type = "fuse3.kata-overlay", options = opts })
  lu.assertEquals(errs, {})
  lu.assertEquals(p.layers[1].source, name)
  lu.assertEquals({ p.layers[1].class, p.layers[1].action }, { "layer", "drop" })
  lu.assertEquals(p.rootfs.action, "overlay")
  -- the same layer named by its full path is delivered
  opts[2] = LAYER .. d .. "/" .. value
  p = plan_root({ source = "/", type = "fuse3.kata-overlay", options = opts })
  lu.assertEquals({ p.layers[1].class, p.layers[1].action }, { "layer", "overlay-layer" })
  -- base64: "Missing fields in rootfs layer"
  p, errs = plan_root({ source = "/", type = "fuse3.kata-overlay",
    options = { LAYER .. "MmMzNDJhMTM3ZTY5M2M3ODk4YWVjMzZkYTEwNDdmMTkxZGM3LHRhcixybw==" } })
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(p.layers[1].error, "base64")
end

-------------------------------------------------------------------------------
-- container.go hotplugDrive (getDeviceForPath of the target when the rootfs
-- is mounted, of the source otherwise) and pkg/katautils/create.go
-- CreateContainer's ResolvePath: a missing path fails the create.
local TestHotplugDrive = {}
function TestHotplugDrive.tearDown() H.cleanup() end

function TestHotplugDrive.test_mounted_rootfs_is_judged_by_its_target()
  H.need_mounts()
  local disk = H.disk_dir("root")                      -- ext4 on a loop device
  local t = H.mount_tmpfs(H.tmpdir("root") .. "/tmpfs")
  -- the source on a block device, mounted at a tmpfs target: shared
  local p, errs = plan_root({ source = disk, type = "ext4", target = t, mounted = true })
  lu.assertEquals(errs, {})
  lu.assertEquals(p.rootfs.action, "share")
  -- not mounted: the source decides
  p = plan_root({ source = disk, type = "ext4", target = t, mounted = false })
  lu.assertEquals(p.rootfs.action, "hotplug-block")
  -- mounted on the block device's mount point: hot-plugged whatever the source says
  p, errs = plan_root({ source = "overlay", type = "overlay", target = disk, mounted = true })
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "hotplug-block", "rootfs-block" })
  lu.assertStrContains(p.rootfs.reasons[1], "the target is on block device")
  -- without ctx.rootfs: oci.ContainerConfig's mounted root at spec.root.path
  p = katamount.plan({ root = { path = disk } })
  lu.assertEquals(p.rootfs.action, "hotplug-block")
end

function TestHotplugDrive.test_missing_paths_fail()
  local d = H.tmpdir("root")
  local cases = {
    { { source = d .. "/gone", type = "ext4" }, d .. "/gone" },
    { { source = "", type = "ext4" }, "empty" },
    { { source = d, type = "overlay", target = d .. "/gone", mounted = true }, d .. "/gone" },
    { { source = d, type = "overlay", mounted = true }, "needs its target" },
    -- an unmounted overlay named "overlay": kata's shim would have mounted it
    { { source = "overlay", type = "overlay" }, "pass mounted = true" },
  }
  for _, c in ipairs(cases) do
    local p, errs = plan_root(c[1])
    lu.assertEquals(#errs, 1, c[2])
    lu.assertStrContains(errs[1], "rootfs")
    lu.assertStrContains(p.rootfs.error, c[2])
    lu.assertNil(p.rootfs.class)
  end
  -- block devices disabled: no hotplugDrive, but ResolvePath still fails
  local _, errs = plan_root({ source = d .. "/gone", type = "ext4" }, { disable_block_device_use = true })
  lu.assertEquals(#errs, 1)
  -- bad shapes
  for _, root in ipairs({ { source = d, mounted = "yes" }, { source = d, target = 5 }, { 1 } }) do
    _, errs = plan_root(root)
    lu.assertEquals(#errs, 1)
  end
end

-------------------------------------------------------------------------------
-- runtime-rs crates/resource/src/rootfs/block_rootfs.rs is_block_rootfs: a
-- regular file with option "loop" (containerd's blockfile snapshotter) is
-- hot-plugged as a disk (the Go shim loop-mounts it and hot-plugs the loop
-- device: the same disk).
local TestIsBlockRootfs = {}
function TestIsBlockRootfs.tearDown() H.cleanup() end

function TestIsBlockRootfs.test_blockfile_snapshotter()
  local d = H.tmpdir("bf")
  local img = H.write(d .. "/rootfs.img", "")
  local p, errs = plan_root({ source = img, type = "ext4", options = { "rw", "loop" } })
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "hotplug-block", "rootfs-blockfile" })
  -- without "loop", or disabled, or a directory: not a block rootfs
  p = plan_root({ source = img, type = "ext4", options = { "rw" } })
  lu.assertNotEquals(p.rootfs.rule, "rootfs-blockfile")
  p = plan_root({ source = img, type = "ext4", options = { "loop" } }, { disable_block_device_use = true })
  lu.assertNotEquals(p.rootfs.rule, "rootfs-blockfile")
  p = plan_root({ source = d, type = "ext4", options = { "loop" } })
  lu.assertNotEquals(p.rootfs.rule, "rootfs-blockfile")
  -- a missing image fails
  local _, e2 = plan_root({ source = d .. "/gone.img", type = "ext4", options = { "loop" } })
  lu.assertEquals(#e2, 1)
end

-------------------------------------------------------------------------------
-- kata_agent.go IsNydusRootFSType, fs_share_linux.go ShareRootFilesystem
-- (shareRootFilesystemWithNydus) and container.go create (no hotplugDrive
-- for nydus): nydusd serves the image, nothing is mounted on the host.
local TestIsNydusRootFSType = {}
function TestIsNydusRootFSType.tearDown() H.cleanup() end

function TestIsNydusRootFSType.test_kata_unit_test_types()
  for _, t in ipairs({ "fuse.nydus-overlayfs", "fuse.nydus-overlayfs-abcde",
                       "fuse./usr/local/bin/nydus-overlayfs" }) do
    -- (the decision alone: its guest side, which needs nydusd's extraoption,
    -- is engine_guest_spec's)
    local p, errs = plan_root({ source = "overlay", type = t, options = { "lowerdir=/x" } },
      { translate = false })
    lu.assertEquals(errs, {}, t)
    lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "nydus", "rootfs-nydus" }, t)
    lu.assertTrue(katamount.is_nydus_rootfs(t), t)
  end
  for _, t in ipairs({ "nydus-overlayfs", "fuse3.kata-overlay", "fuse.other", "overlay", "fuse." }) do
    lu.assertFalse(katamount.is_nydus_rootfs(t), t)
  end
end

-------------------------------------------------------------------------------
-- kata_agent.go IsErofsRootFS and container.go createErofsDevices (Go), and
-- runtime-rs crates/resource/src/rootfs/erofs_rootfs.rs is_erofs_multi_layer:
-- the containerd erofs snapshotter's layers, each a layer.erofs file mounted
-- on the host, are hot-plugged read-only.
local TestIsErofsRootFS = {}
function TestIsErofsRootFS.tearDown() H.cleanup() end

local SNAP = "io.containerd.snapshotter.v1.erofs"

function TestIsErofsRootFS.test_overlay_of_mounted_layer_files()
  H.need_mounts()
  local _, have = H.run("command -v mkfs.erofs && grep -qw erofs /proc/filesystems")
  lu.skipIf(not have, "needs mkfs.erofs (erofs-utils) and erofs in the kernel")
  local d = H.tmpdir("erofs")
  local snaps = d .. "/" .. SNAP .. "/snapshots"
  local lower = {}
  for i = 1, 2 do
    local s = H.mkdir(snaps .. "/" .. i)
    H.mkdir(s .. "/src")
    H.write(s .. "/src/f" .. i, "x")
    H.sh(("mkfs.erofs --quiet %s/layer.erofs %s/src"):format(H.q(s), H.q(s)))
    H.mkdir(s .. "/fs")
    local out, ok = H.run(("mount -t erofs %s/layer.erofs %s/fs"):format(H.q(s), H.q(s)))
    lu.skipIf(not ok, "cannot mount erofs here: " .. out)
    lower[i] = s .. "/fs"
  end
  local opts = { "lowerdir=" .. table.concat(lower, ":"), "upperdir=" .. H.mkdir(snaps .. "/3/fs") }
  local p, errs = plan_root({ source = "overlay", type = "overlay", options = opts })
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "erofs-layers", "rootfs-erofs" })
  lu.assertStrContains(p.rootfs.reasons[1], "2 layer(s)")
  -- found by the file system too, outside the snapshotter's directory
  local plain = H.mkdir(d .. "/plain")
  H.sh(("mount --move %s %s"):format(H.q(lower[1]), H.q(plain)))
  lu.assertTrue(katamount.is_erofs_rootfs("overlay", { "lowerdir=" .. plain }))
  lu.assertFalse(katamount.is_erofs_rootfs("overlay", { "lowerdir=" .. d }))
  lu.assertFalse(katamount.is_erofs_rootfs("ext4", { "lowerdir=" .. plain }))
end

function TestIsErofsRootFS.test_lowerdir_not_an_erofs_mount_fails()
  local d = H.tmpdir("erofs")
  local l = H.mkdir(d .. "/" .. SNAP .. "/snapshots/1/fs")
  local p, errs = plan_root({ source = "overlay", type = "overlay", options = { "lowerdir=" .. l } })
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(p.rootfs.error, "erofs mount not found for " .. l)
end

function TestIsErofsRootFS.test_runtime_rs_multi_layer_list()
  local d = H.tmpdir("erofs")
  local layer = H.write(d .. "/layer.erofs", "")
  local list = { { source = layer, type = "erofs", options = { "ro" } },
                 { source = "overlay", type = "format/mkdir/overlay",
                   options = { "lowerdir={{ mount 0 }}" } } }
  local p, errs = plan_root(list)
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "erofs-layers", "rootfs-erofs" })
  -- no erofs among them: the Go shim mounts them all at the target
  local t = H.mkdir(d .. "/rootfs")
  p, errs = plan_root({ { source = d, type = "ext4" }, { source = "overlay", type = "overlay" }, target = t })
  lu.assertEquals(errs, {})
  lu.assertEquals(p.rootfs.action, "share")
  local _, errs2 = plan_root({ { source = d, type = "ext4" }, { source = "overlay", type = "overlay" } })
  lu.assertEquals(#errs2, 1)
  lu.assertStrContains(errs2[1], "needs its target")
  -- a list of one is that mount
  p = plan_root({ { source = d, type = "fuse.nydus-overlayfs" } }, { translate = false })
  lu.assertEquals(p.rootfs.action, "nydus")
end

-------------------------------------------------------------------------------
-- fs_share_linux.go ShareRootFilesystem (VirtualVolumePrefix first),
-- types/virtual_volume.go ParseKataVirtualVolume; runtime-rs
-- rootfs/virtual_volume.rs is_kata_virtual_volume: the guest pulls the image.
local TestKataVirtualVolume = {}
function TestKataVirtualVolume.tearDown() H.cleanup() end

local function b64(s)
  return (H.sh("printf %s " .. H.q(s) .. " | base64 -w0"))
end

function TestKataVirtualVolume.test_guest_pull()
  local opt = "io.katacontainers.volume=" .. b64('{"volume_type":"image_guest_pull","source":"",'
    .. '"image_pull":{"metadata":{"io.kubernetes.cri.image-name":"nginx:1.27"}}}')
  -- (the decision alone: the guest side, which needs the image's name from
  -- the annotations, is engine_guest_spec's)
  local p, errs = plan_root({ source = "overlay", type = "fuse.nydus-overlayfs", options = { opt } },
    { translate = false })
  lu.assertEquals(errs, {})
  lu.assertEquals({ p.rootfs.action, p.rootfs.rule }, { "guest-pull", "rootfs-guest-pull" })
  lu.assertStrContains(p.rootfs.reasons[1], "image_guest_pull")
  for _, bad in ipairs({ "io.katacontainers.volume=not*base64",
                         "io.katacontainers.volume=" .. b64("[1,2]"),
                         "io.katacontainers.volume=" .. b64('{"volume_type":"teleport"}') }) do
    p, errs = plan_root({ source = "overlay", type = "overlay", options = { bad } })
    lu.assertEquals(#errs, 1, bad)
    lu.assertStrContains(p.rootfs.error, "KataVirtualVolume")
  end
end

return {
  TestCopyLayersToMounts = TestCopyLayersToMounts,
  TestHotplugDrive = TestHotplugDrive,
  TestIsBlockRootfs = TestIsBlockRootfs,
  TestIsNydusRootFSType = TestIsNydusRootFSType,
  TestIsErofsRootFS = TestIsErofsRootFS,
  TestKataVirtualVolume = TestKataVirtualVolume,
  TestHandleShm = TestHandleShm,
  TestCreateBlockDevices = TestCreateBlockDevices,
  TestIsBlockDevice = TestIsBlockDevice,
}
