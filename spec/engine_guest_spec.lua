-- spec/engine_guest_spec.lua -- the guest side of each decision
-- (rules/guest-*.lua) checked against kata-containers' own code: each test
-- names the upstream function (src/runtime/virtcontainers/ unless said) and,
-- where kata has one, feeds the mount its unit test feeds and asserts the
-- same storage and rewritten mount, field by field.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")
local agent = require("katamount.agent")
local cjson = require("cjson")

local BLOCK_FILE = "io.katacontainers.fs-opt.block_device=file"
local EPHEMERAL = "/run/kata-containers/sandbox/ephemeral"
local SHARED = "/run/kata-containers/shared/containers"
local IDS = { container_id = "c1", sandbox_id = "s1" }

local function with(ctx, extra)
  local c = {}
  for k, v in pairs(ctx or IDS) do c[k] = v end
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

local function classify(mount, ctx, e)
  local d, err = (e or katamount.engine):classify(mount, ctx or IDS)
  lu.assertNil(err, mount.source)
  return d
end

local function esc(p) return (p:gsub("%p", "%%%0")) end
local SHARED_P = esc(SHARED)

local function basename(p) return (p:match("([^/]*)/*$")) end

local function empty_dir(tag, name)
  return H.tmpdir(tag) .. "/pods/p/volumes/kubernetes.io~empty-dir/" .. name
end

local T = {}

-------------------------------------------------------------------------------
-- kata_agent.go handleEphemeralStorage; kata_agent_test.go TestHandleEphemeralStorage
T.TestHandleEphemeralStorage = {}
function T.TestHandleEphemeralStorage.tearDown() H.cleanup() end

function T.TestHandleEphemeralStorage.test_kata_unit_test_mount()
  H.need_mounts()
  -- the test's mount: type "ephemeral", the source a directory (here a tmpfs emptyDir)
  local src = H.mount_tmpfs(empty_dir("eph", "cache"))
  local d = classify({ type = "ephemeral", source = src, destination = "/cache" })
  lu.assertEquals({ d.class, d.action }, { "ephemeral", "guest-tmpfs" })
  local mp = EPHEMERAL .. "/" .. basename(src)
  lu.assertEquals(d.storages, { { driver = "ephemeral", source = "tmpfs", fstype = "tmpfs", mount_point = mp,
    options = {} } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/cache", type = "bind", options = {} })
  lu.assertEquals(d.host, { action = "none" })
  lu.assertEquals(d.translation.name, "ephemeral/*")
  lu.assertStrContains(d.translation.file, "guest-ephemeral.lua")
end

-- runtime-rs volume/ephemeral_volume.rs test_ephemeral_volume_uses_guest_sandbox_path:
-- the same mount point, the mount's options kept (set_options(m.options()))
function T.TestHandleEphemeralStorage.test_fs_group_and_bind_options()
  H.need_mounts()
  local src = H.mount_tmpfs(empty_dir("eph", "shared-data"))
  H.sh("chgrp 2345 " .. H.q(src))
  local d = classify(H.bind_mount(src, "/data"))
  -- the volume's group is not root: "fsgid=<gid>" (kata's fsGid)
  lu.assertEquals(d.storages[1].options, { "fsgid=2345" })
  lu.assertEquals(d.guest_mount, { source = EPHEMERAL .. "/shared-data", destination = "/data", type = "bind",
    options = { "rbind" } })
end

-------------------------------------------------------------------------------
-- kata_agent.go handleLocalStorage; kata_agent_test.go TestHandleLocalStorage
T.TestHandleLocalStorage = {}
function T.TestHandleLocalStorage.tearDown() H.cleanup() end

function T.TestHandleLocalStorage.test_kata_unit_test_mount()
  -- the test's mount: type "local", a directory (an emptyDir that is no mount
  -- point of its own: on the disk), sandbox "sandboxid", suffix "rootfs"
  local src = H.mkdir(empty_dir("local", "scratch"))
  local d = classify({ type = "local", source = src, destination = "/scratch" },
    with(IDS, { sandbox_id = "sandboxid" }))
  lu.assertEquals({ d.class, d.action }, { "local", "guest-local" })
  local mp = SHARED .. "/sandboxid/rootfs/local/scratch"
  lu.assertEquals(d.storages, { { driver = "local", source = "local", fstype = "local", mount_point = mp,
    options = { "mode=0777" } } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/scratch", type = "local", options = {} })
  H.sh("chgrp 77 " .. H.q(src))
  lu.assertEquals(classify(H.bind_mount(src, "/s")).storages[1].options, { "mode=0777", "fsgid=77" })
end

-------------------------------------------------------------------------------
-- kata_agent.go handleHugepages; kata_agent_linux_test.go TestHandleHugepages
T.TestHandleHugepages = {}
function T.TestHandleHugepages.tearDown() H.cleanup() end

function T.TestHandleHugepages.test_kata_unit_test_mounts()
  H.need_mounts()
  -- as the test: one hugetlbfs per page size the host has, mounted with
  -- pagesize=<size>, the pod's limit 1,000,000 pages of it
  local sizes = {}
  for name in H.sh("ls /sys/kernel/mm/hugepages 2>/dev/null || true"):gmatch("hugepages%-(%S+)") do
    sizes[#sizes + 1] = name
  end
  lu.skipIf(#sizes == 0, "no huge page sizes on this host")
  local e = katamount.engine
  local base = H.tmpdir("huge") .. "/pods/p/volumes/kubernetes.io~empty-dir/"
  for _, size in ipairs(sizes) do
    local bytes = assert(e:call("ram_in_bytes", size))
    local target = H.mkdir(base .. "hugepages-" .. size)
    local _, ok = H.run(("mount -t hugetlbfs -o pagesize=%s nodev %s"):format(size, H.q(target)))
    lu.skipIf(not ok, "hugetlbfs cannot be mounted here")
    local spec = { root = { path = "/" },
      mounts = { { type = "local", source = target, destination = "/hp" } },
      linux = { resources = { hugepageLimits = { { pageSize = size, limit = 1000000 * bytes } } } } }
    local plan, errs = e:plan(spec, IDS)
    lu.assertEquals(errs, {})
    local d = plan.mounts[1]
    lu.assertEquals({ d.class, d.action }, { "hugepages", "guest-hugetlbfs" })
    local mp = EPHEMERAL .. "/hugepages-" .. size
    lu.assertEquals(d.storages, { { driver = "ephemeral", source = "nodev", fstype = "hugetlbfs",
      mount_point = mp, options = { ("pagesize=%d,size=%d"):format(bytes, 1000000 * bytes) } } })
    lu.assertEquals(d.guest_mount, { source = mp, destination = "/hp", type = "bind", options = {} })
    -- no limit for that page size: kata writes "size=" with nothing after it
    local d2 = classify({ type = "local", source = target, destination = "/hp" })
    lu.assertEquals(d2.storages[1].options, { ("pagesize=%d,size="):format(bytes) })
    -- a limit kata cannot read fails the decision, as kata fails
    local _, err = e:classify({ type = "local", source = target, destination = "/hp" },
      with(IDS, { hugepage_limits = { { pageSize = "2XB", limit = 1 } } }))
    -- (the decision's own rule, 30-kubernetes.lua's, fails first)
    lu.assertStrContains(err, "hugepage_limits[1].pageSize 2XB: not a page size")
  end
end

-- docker's units.RAMInBytes, which kata uses for both page sizes
function T.TestHandleHugepages.test_ram_in_bytes()
  local e = katamount.engine
  local cases = { { "2M", 2097152 }, { "2MB", 2097152 }, { "2MiB", 2097152 }, { "2048kB", 2097152 },
    { "1G", 1073741824 }, { "1 GB", 1073741824 }, { "512", 512 }, { "1.5k", 1536 }, { "2X", nil },
    { "", nil }, { "M", nil } }
  for _, c in ipairs(cases) do
    lu.assertEquals(e:call("ram_in_bytes", c[1]), c[2], c[1])
  end
  -- runtime-rs volume/hugepage.rs test_get_huge_page_option: "1GB" and
  -- "2MB" limits are keyed by 1Gi and 2Mi
  lu.assertEquals(e:call("ram_in_bytes", "1GB"), 1 << 30)
  lu.assertEquals(e:call("ram_in_bytes", "2MB"), 2 << 20)
end

-------------------------------------------------------------------------------
-- kata_agent.go handleShm; kata_agent_test.go TestHandleShm
T.TestHandleShm = {}

function T.TestHandleShm.test_kata_unit_test_mount()
  local mount = { type = "bind", destination = "/dev/shm" }
  -- the sandbox has an shm (shmSize 8192): an rbind of it
  local d = classify(mount, with(IDS, { sandbox_shm_size = 8192 }))
  lu.assertEquals(d.guest_mount, { destination = "/dev/shm", type = "bind",
    source = "/run/kata-containers/sandbox/shm", options = { "rbind" } })
  lu.assertEquals(d.storages, {})
  -- none (shmSize 0): a tmpfs of DefaultShmSize
  d = classify(mount, with(IDS, { sandbox_shm_size = 0 }))
  lu.assertEquals(d.guest_mount, { destination = "/dev/shm", type = "tmpfs", source = "shm",
    options = { "noexec", "nosuid", "nodev", "mode=1777", "size=" .. 65536 * 1024 } })
end

-- runtime-rs crates/resource/src/volume/shm_volume.rs
-- test_shm_volume_uses_guest_sandbox_path: runtime-rs always binds the
-- sandbox's shm (it always has one), as Go does when shmSize > 0
function T.TestHandleShm.test_runtime_rs_shm_volume()
  local d = classify({ destination = "/dev/shm" }, with(IDS, { sandbox_shm_size = 65536 * 1024 }))
  lu.assertEquals(d.guest_mount, { destination = "/dev/shm", type = "bind",
    source = "/run/kata-containers/sandbox/shm", options = { "rbind" } })
  lu.assertEquals(d.storages, {})
end

-------------------------------------------------------------------------------
-- kata_agent.go handleDeviceBlockVolume + handleBlkOCIMounts;
-- kata_agent_test.go TestHandleBlockVolume (its standard DeviceBlock mount)
T.TestHandleBlockVolume = {}
function T.TestHandleBlockVolume.tearDown() H.cleanup() end

function T.TestHandleBlockVolume.test_kata_unit_test_mount()
  H.need_root()
  local node = H.tmpdir("blk") .. "/disk"
  H.sh("mknod " .. H.q(node) .. " b 7 200")
  -- bMount: type "bind", options {"bind"}, PCI path 03/04, driver virtio-blk-pci
  local ctx = with(IDS, { block_device_driver = "virtio-blk-pci", block_addresses = { [node] = "03/04" } })
  local d = classify({ type = "bind", options = { "bind" }, source = node,
    destination = "/DeviceBlock/destination" }, ctx)
  lu.assertEquals({ d.class, d.action }, { "block", "hotplug-block" })
  -- createBlkStorageObject's storage, its mount point then moved by
  -- handleBlkOCIMounts to storage/<base64url("03/04")>
  local mp = "/run/kata-containers/sandbox/storage/MDMvMDQ="
  lu.assertEquals(d.storages, { { driver = "blk", source = "03/04", fstype = "bind", options = { "bind" },
    mount_point = mp } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/DeviceBlock/destination", type = "bind",
    options = { "bind" } })
  lu.assertEquals(d.host, { action = "hotplug", path = node, file = false, read_only = false })
  -- each block device driver's agent driver (handleBlockVolume)
  for drv, want in pairs({ ["virtio-scsi"] = "scsi", ["virtio-mmio"] = "mmioblk",
    ["virtio-blk-ccw"] = "blk-ccw" }) do
    lu.assertEquals(classify(H.bind_mount(node, "/b"), with(ctx, { block_device_driver = drv }))
      .storages[1].driver, want)
  end
end

function T.TestHandleBlockVolume.test_block_file_is_bound()
  local img = H.write(H.tmpdir("blk") .. "/vol.img", "x")
  local d = classify({ type = "ext4", source = img, destination = "/vol", options = { "ro", BLOCK_FILE } },
    with(IDS, { block_addresses = { [img] = "0:0:1:0" } }))
  lu.assertEquals({ d.class, d.action }, { "block", "hotplug-block" })
  local mp = "/run/kata-containers/sandbox/storage/MDowOjE6MA=="
  lu.assertEquals(d.storages, { { driver = "scsi", source = "0:0:1:0", fstype = "ext4",
    options = { "ro", BLOCK_FILE }, mount_point = mp } })
  -- the device is mounted already: the container's mount binds it
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/vol", type = "ext4", options = { "bind" } })
  lu.assertEquals(d.host, { action = "hotplug", path = img, file = true, read_only = true })
  -- without an address yet, the host path stands for it
  local d2 = classify({ type = "ext4", source = img, destination = "/vol", options = { BLOCK_FILE } })
  lu.assertEquals(d2.storages[1].source, img)
  lu.assertEquals(d2.storages[1].mount_point,
    "/run/kata-containers/sandbox/storage/" .. katamount.base64_url(img))
end

-------------------------------------------------------------------------------
-- container.go createBlockDevices (a direct-assigned volume's mountInfo.json
-- replaces the mount's source, type, options and fsGroup) then
-- kata_agent.go handleDeviceBlockVolume + handleBlkOCIMounts;
-- kata_agent_test.go TestHandleDeviceBlockVolume: its mounts (FSGroup with
-- OnRootMismatch, BlockDeviceCreateFs with "discard", EncryptionKey) are
-- what a mountInfo.json's metadata and options give createBlockDevices.
T.TestHandleDeviceBlockVolume = {}
function T.TestHandleDeviceBlockVolume.tearDown() H.cleanup() end

local STORAGE = "/run/kata-containers/sandbox/storage/"

-- a direct volume: <root>/<base64url(source)>/mountInfo.json
local function direct_volume(root, source, info)
  local dir = H.mkdir(root .. "/" .. katamount.base64_url(source))
  H.write(dir .. "/mountInfo.json", cjson.encode(info))
end

function T.TestHandleDeviceBlockVolume.test_kata_unit_test_mounts()
  local dir = H.tmpdir("dv")
  local root = H.mkdir(dir .. "/direct-volumes")
  local disk = H.write(dir .. "/disk.img", "")
  local ctx = with(IDS, { direct_volumes_root = root, block_device_driver = "virtio-blk-pci",
    block_addresses = { [disk] = "01/02" } })
  local cases = {
    -- FSGroup 2000, FSGroupChangePolicy OnRootMismatch
    { info = { device = disk, fstype = "ext4", metadata = { fsGroup = "2000",
      fsGroupChangePolicy = "OnRootMismatch" } },
      want = { fstype = "ext4", options = {},
        fs_group = { group_id = 2000, group_change_policy = "OnRootMismatch" } } },
    -- BlockDeviceCreateFs with Options {"discard"}
    { info = { device = disk, fstype = "ext4", options = { "discard" },
      metadata = { createFilesystem = "true" } },
      want = { fstype = "ext4", options = { "discard" }, driver_options = { "create_filesystem" } } },
    -- EncryptionKey "ephemeral" and BlockDeviceCreateFs
    { info = { device = disk, fstype = "ext4",
      metadata = { encryptionKey = "ephemeral", createFilesystem = "1" } },
      want = { fstype = "ext4", options = {},
        driver_options = { "encryption_key=ephemeral", "create_filesystem" } } },
    -- a policy without a group is ignored (kata logs it); a bad bool too
    { info = { device = disk, fstype = "xfs", options = { "ro" },
      metadata = { fsGroupChangePolicy = "OnRootMismatch", createFilesystem = "yes" } },
      want = { fstype = "xfs", options = { "ro" } } },
    -- any other policy is Always (getFSGroupChangePolicy)
    { info = { device = disk, fstype = "ext4",
      metadata = { fsGroup = "7", fsGroupChangePolicy = "Sometimes" } },
      want = { fstype = "ext4", options = {}, fs_group = { group_id = 7, group_change_policy = "Always" } } },
  }
  for i, c in ipairs(cases) do
    local src = H.mkdir(dir .. "/pv" .. i)
    direct_volume(root, src, c.info)
    local d = classify(H.bind_mount(src, "/data"), ctx)
    lu.assertEquals({ d.class, d.action }, { "direct-volume", "hotplug-block" }, i)
    local want = { driver = "blk", source = "01/02", mount_point = STORAGE .. "MDEvMDI=" }
    for k, v in pairs(c.want) do want[k] = v end
    lu.assertEquals(d.storages, { want }, i)
    -- handleBlkOCIMounts: only the spec mount's source changes
    lu.assertEquals(d.guest_mount, { source = STORAGE .. "MDEvMDI=", destination = "/data", type = "bind",
      options = { "rbind" } }, i)
    lu.assertEquals(d.host, { action = "hotplug", path = disk, file = true,
      read_only = c.info.options ~= nil and c.info.options[1] == "ro" }, i)
  end
  -- a group id of 0: kata fails the create ("m.FSGroup value was out of range")
  local src = H.mkdir(dir .. "/root-group")
  direct_volume(root, src, { device = disk, fstype = "ext4", metadata = { fsGroup = "0" } })
  local _, err = katamount.classify(H.bind_mount(src, "/data"), ctx)
  lu.assertStrContains(err, "fsGroup 0 is out of range")
end

-- kata_agent_test.go TestHandleDeviceBlockVolume's VirtioBlockCCW case:
-- Type "bind", Options {"ro"}: a block device node as the volume's device
function T.TestHandleDeviceBlockVolume.test_block_node_ccw()
  H.need_root()
  local dir = H.tmpdir("dv")
  local root = H.mkdir(dir .. "/direct-volumes")
  local node = dir .. "/blk"
  H.sh("mknod " .. H.q(node) .. " b 7 201")
  local src = H.mkdir(dir .. "/pv")
  direct_volume(root, src, { device = node, fstype = "bind", options = { "ro" } })
  local d = classify(H.bind_mount(src, "/b"), with(IDS, { direct_volumes_root = root,
    block_device_driver = "virtio-blk-ccw", block_addresses = { [node] = "0.0.0005" } }))
  lu.assertEquals({ d.class, d.action }, { "direct-volume", "hotplug-block" })
  lu.assertEquals(d.storages, { { driver = "blk-ccw", source = "0.0.0005", fstype = "bind",
    options = { "ro" },
    mount_point = STORAGE .. katamount.base64_url("0.0.0005") } })
  lu.assertEquals(d.host, { action = "hotplug", path = node, file = false, read_only = true })
end

-- the device is neither a block device nor a file: the Go runtime hot-plugs
-- nothing and the agent gets the spec's mount as it is; a "bind" volume has
-- its device shared (mountSharedDirMounts, replaceOCIMountSource)
function T.TestHandleDeviceBlockVolume.test_not_hot_plugged()
  local dir = H.tmpdir("dv")
  local root = H.mkdir(dir .. "/direct-volumes")
  local dev = H.mkdir(dir .. "/share")
  local a, b = H.mkdir(dir .. "/a"), H.mkdir(dir .. "/b")
  direct_volume(root, a, { device = dev, fstype = "virtiofs" })
  direct_volume(root, b, { device = dev, fstype = "bind", options = { "ro" } })
  local ctx = with(IDS, { direct_volumes_root = root })
  local d = classify(H.bind_mount(a, "/a"), ctx)
  lu.assertEquals({ d.class, d.action }, { "direct-volume", "guest-mount" })
  lu.assertEquals(d.guest_mount, H.bind_mount(a, "/a"))
  lu.assertEquals(d.storages, {})
  lu.assertEquals(d.host, { action = "none" })
  d = classify(H.bind_mount(b, "/b"), ctx)
  lu.assertStrMatches(d.guest_mount.source, "^" .. SHARED_P .. "/c1%-%x+%-b$")
  lu.assertEquals(d.guest_mount.options, { "rbind" })
  lu.assertEquals(d.host.source, dev)
  lu.assertEquals(d.host.read_only, true)
end

-- runtime-rs direct_volumes/vfio_volume.rs VfioVolume and spdk_volume.rs
-- SPDKVolume (utils.rs filter_block_storage_options,
-- build_bind_mount_options, generate_shared_path; their unit tests
-- test_build_bind_mount_options_*: the mount's options, then the volume's,
-- "bind" appended when neither has bind or rbind)
function T.TestHandleDeviceBlockVolume.test_runtime_rs_vfio_and_spdk()
  local dir = H.tmpdir("dv")
  local root = H.mkdir(dir .. "/direct-volumes")
  local v, s = H.mkdir(dir .. "/v"), H.mkdir(dir .. "/s")
  direct_volume(root, v, { ["volume-type"] = "vfiovol", device = "/dev/vfio/12", fstype = "xfs",
    options = { "ro", "nosuid" } })
  local sock = H.make_socket(dir .. "/vhost.sock")
  direct_volume(root, s, { ["volume-type"] = "spdkvol", device = sock, fstype = "ext4" })
  local ctx = with(IDS, { direct_volumes_root = root, block_device_driver = "virtio-blk-pci",
    block_addresses = { ["/dev/vfio/12"] = "/dev/vdb" } })
  local d = classify({ type = "bind", source = v, destination = "/v", options = { "rbind", "noexec" } }, ctx)
  lu.assertEquals({ d.class, d.action }, { "direct-volume", "vfio" })
  local mp = d.storages[1].mount_point
  lu.assertStrMatches(mp, "^" .. SHARED_P .. "/passthrough/c1%-%x+%-v$")
  -- a bind mount: DEFAULT_VOLUME_FS_TYPE; the volume's options without bind/rbind
  lu.assertEquals(d.storages, { { driver = "mmioblk", source = "/dev/vdb", fstype = "ext4",
    options = { "ro", "nosuid" }, mount_point = mp } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/v", type = "bind",
    options = { "rbind", "noexec", "ro", "nosuid" } })
  lu.assertEquals(d.host, { action = "vfio", path = "/dev/vfio/12", read_only = false })
  -- SPDK: the mount's options when the volume has none, "ro" added, "bind" appended
  d = classify({ type = "bind", source = s, destination = "/s", options = { "ro" } }, ctx)
  lu.assertEquals({ d.class, d.action }, { "direct-volume", "vhost-user-blk" })
  mp = d.storages[1].mount_point
  lu.assertEquals(d.storages, { { driver = "blk", source = sock, fstype = "ext4", options = { "ro" },
    mount_point = mp } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/s", type = "bind",
    options = { "ro", "bind" } })
  lu.assertEquals(d.host, { action = "vhost-user-blk", path = "spdk://" .. sock, read_only = true })
  -- a destination under /dev: the storage is a bind with the mount's options
  d = classify({ type = "bind", source = s, destination = "/dev/xvdz", options = { "ro" } }, ctx)
  lu.assertEquals(d.storages[1].fstype, "bind")
  lu.assertEquals(d.storages[1].options, { "ro", "ro" })
  -- create_vhost_user_blk_device knows virtio-blk-pci and virtio-blk-mmio only
  local _, err = katamount.classify(H.bind_mount(s, "/s"), with(ctx, { block_device_driver = "virtio-scsi" }))
  lu.assertStrContains(err, "unsupported driver type virtio-scsi")
  -- a device that is no socket fails, as SPDKVolume::new does
  local t = H.mkdir(dir .. "/t")
  direct_volume(root, t, { ["volume-type"] = "spoolvol", device = dir .. "/v", fstype = "ext4" })
  _, err = katamount.classify(H.bind_mount(t, "/t"), ctx)
  lu.assertStrContains(err, 'device "spool://' .. dir .. '/v" is not valid')
end

-------------------------------------------------------------------------------
-- container.go createEphemeralDisks/setupEphemeralDisk: a disk emptyDir in
-- emptydir_mode block-encrypted or block-plain is a disk.img with a
-- mountInfo.json, then hot-plugged as a direct volume
-- (handleDeviceBlockVolume: the TestHandleDeviceBlockVolume cases above
-- with EncryptionKey "ephemeral" and with "discard")
T.TestBlockEmptyDir = {}
function T.TestBlockEmptyDir.tearDown() H.cleanup() end

function T.TestBlockEmptyDir.test_encrypted_and_plain()
  local ed = H.mkdir(empty_dir("bed", "scratch"))
  H.sh("chgrp 3000 " .. H.q(ed))
  local disk = ed .. "/disk.img"
  local ctx = with(IDS, { emptydir_mode = "block-encrypted", block_device_driver = "virtio-blk-pci",
    block_addresses = { [disk] = "00/05" } })
  local d = classify(H.bind_mount(ed, "/scratch"), ctx)
  lu.assertEquals({ d.class, d.action }, { "block-emptydir", "hotplug-block" })
  local mp = STORAGE .. katamount.base64_url("00/05")
  lu.assertEquals(d.storages, { { driver = "blk", source = "00/05", fstype = "ext4", options = {},
    driver_options = { "encryption_key=ephemeral", "create_filesystem" }, mount_point = mp,
    fs_group = { group_id = 3000, group_change_policy = "Always" } } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/scratch", type = "bind",
    options = { "rbind" } })
  lu.assertEquals(d.host, { action = "hotplug", path = disk, file = true, read_only = false,
    create = "disk.img" })
  -- plain: "discard", no key; a root-owned emptyDir has no fsGroup
  H.sh("chgrp 0 " .. H.q(ed))
  d = classify(H.bind_mount(ed, "/scratch"), with(ctx, { emptydir_mode = "block-plain" }))
  lu.assertEquals(d.storages, { { driver = "blk", source = "00/05", fstype = "ext4", options = { "discard" },
    driver_options = { "create_filesystem" }, mount_point = mp } })
  -- nothing is made on the host by a plan
  lu.assertNil(io.open(disk))
end

-------------------------------------------------------------------------------
-- fs_share_linux.go ShareFile, container.go mountSharedDirMounts
T.TestShareFile = {}
function T.TestShareFile.tearDown() H.cleanup() end

function T.TestShareFile.test_shared_read_only_kept()
  local src = H.tmpdir("share")
  local d = classify(H.bind_mount(src, "/etc/app", { "ro" }))
  lu.assertEquals({ d.class, d.action }, { "shared", "share" })
  local name = d.guest_mount.source:match("^" .. SHARED_P .. "/(.*)$")
  -- shareFileName: <container>-<16 hex digits>-<basename of the destination>
  lu.assertStrMatches(name, "c1%-%x+%-app")
  lu.assertEquals(#name:match("%-(%x+)%-"), 16)
  lu.assertEquals(d.guest_mount, { source = SHARED .. "/" .. name, destination = "/etc/app", type = "bind",
    options = { "rbind", "ro" } })
  lu.assertEquals(d.host, { action = "share", source = src, read_only = true,
    path = "/run/kata-containers/shared/sandboxes/s1/mounts/" .. name })
  lu.assertEquals(d.storages, {})
  -- the digits are a hash, not a draw: the same plan twice says the same
  lu.assertEquals(classify(H.bind_mount(src, "/etc/app", { "ro" })).guest_mount.source, d.guest_mount.source)
  lu.assertNotEquals(classify(H.bind_mount(src, "/etc/app2")).guest_mount.source, d.guest_mount.source)
  -- filepath.Base of the destination drops its trailing slashes, as kata's
  -- shareFileName (fs_share_linux.go) does: "/etc/app/" is named "app" too
  local slash = classify(H.bind_mount(src, "/etc/app/", { "ro" }))
  lu.assertStrMatches(slash.guest_mount.source, "^" .. SHARED_P .. "/c1%-%x+%-app$")
end

function T.TestShareFile.test_copied_without_sharing()
  local dir = H.tmpdir("copy")
  -- a kubelet path (a 36-character pod uid: kata's configVolRegex)
  local cm = H.fill(dir .. "/pods/00000000-0000-4000-8000-000000000000/volumes/kubernetes.io~configmap/cfg",
    2)
  -- (the watchable rule reads fs_sharing_supported; the translation either)
  lu.assertFalse(katamount.fs_sharing({ shared_fs = "none", fs_sharing_supported = true }))
  lu.assertTrue(katamount.fs_sharing({ shared_fs = "virtio-fs" }))
  for _, ctx in ipairs({ with(IDS, { fs_sharing_supported = false }),
    with(IDS, { shared_fs = "none", fs_sharing_supported = false }) }) do
    local d = classify(H.bind_mount(cm, "/cfg"), ctx)
    lu.assertEquals({ d.class, d.action }, { "copy", "copy-watch" })
    lu.assertStrMatches(d.guest_mount.source, "^" .. SHARED_P .. "/c1%-%x+%-cfg$")
    lu.assertEquals(d.host, { action = "copy", source = cm, path = d.guest_mount.source, watch = true })
  end
  -- a socket cannot be copied: kata ignores the mount, and it leaves the spec
  local sock = dir .. "/s.sock"
  H.make_socket(sock)
  local d = classify(H.bind_mount(sock, "/run/s.sock"), with(IDS, { fs_sharing_supported = false }))
  lu.assertNil(d.guest_mount)
  lu.assertStrContains(d.guest_reason, "not copied")
end

-- container.go mountSharedDirMounts: the watchable-bind storage
function T.TestShareFile.test_watchable()
  local cm = H.fill(H.tmpdir("watch") .. "/pods/p/volumes/kubernetes.io~secret/token", 2)
  local d = classify(H.bind_mount(cm, "/var/run/secrets/token", { "ro" }))
  lu.assertEquals({ d.class, d.action }, { "watchable", "share-watchable" })
  local shared = d.storages[1].source
  lu.assertStrMatches(shared, "^" .. SHARED_P .. "/c1%-%x+%-token$")
  local mp = SHARED .. "/watchable/" .. basename(shared)
  lu.assertEquals(d.storages, { { driver = "watchable-bind", source = shared, fstype = "bind",
    mount_point = mp, options = { "rbind", "ro" } } })
  lu.assertEquals(d.guest_mount, { source = mp, destination = "/var/run/secrets/token", type = "bind",
    options = { "rbind", "ro" } })
  lu.assertEquals(d.host.action, "share")
  lu.assertEquals(d.host.read_only, true)
end

-------------------------------------------------------------------------------
-- fs_share_linux.go ShareRootFilesystem, kata_agent.go handleBlkOCIMounts and
-- removeIgnoredOCIMount, containerd-shim-v2/create.go copyLayersToMounts
T.TestRootfs = {}
function T.TestRootfs.tearDown() H.cleanup() end

function T.TestRootfs.test_overlay_of_layers()
  local dir = H.tmpdir("layers")
  local img = H.write(dir .. "/base.img", "x")
  -- a layer option is a container mount with its own options
  -- (copyLayersToMounts); with is-layer and hot-plugged, a layer
  local opts = { "io.katacontainers.fs-opt.layer=" .. img .. ",erofs,ro," .. BLOCK_FILE
      .. ",io.katacontainers.fs-opt.is-layer",
    "io.katacontainers.fs-opt.layer=" .. dir .. "/plain,overlay", "lowerdir=x" }
  local plan, errs = katamount.plan({ root = { path = "/" } }, with(IDS, {
    rootfs = { source = "overlay", target = dir, mounted = true, type = "fuse3.kata-overlay",
      options = opts },
    block_addresses = { [img] = "02/00" }, block_device_driver = "virtio-blk-pci" }))
  lu.assertEquals(errs, {})
  local l1, l2 = plan.layers[1], plan.layers[2]
  lu.assertEquals(l1.storages, { { driver = "blk", source = "02/00", fstype = "erofs",
    options = { "ro", BLOCK_FILE, "io.katacontainers.fs-opt.is-layer" },
    mount_point = "/run/kata-containers/sandbox/layers/base.img" } })
  lu.assertNil(l1.guest_mount)
  lu.assertStrContains(l1.guest_reason, "removed from the container's mounts")
  lu.assertEquals(l1.host, { action = "hotplug", path = img, file = true, read_only = true })
  -- a layer option without is-layer: an ordinary mount, left to the agent
  lu.assertEquals({ l2.class, l2.action }, { "passthrough", "guest-mount" })
  lu.assertEquals(l2.guest_mount.destination, "/run/kata-containers/sandbox/layers/plain")
  local r = plan.rootfs
  lu.assertEquals({ r.class, r.action }, { "rootfs", "overlay" })
  lu.assertEquals(r.storages, { { driver = "overlayfs", source = "none", fstype = "fuse3.kata-overlay",
    options = opts, mount_point = "/run/kata-containers/c1/rootfs" } })
  lu.assertEquals(r.guest_mount.source, "/run/kata-containers/c1/rootfs")
  -- what the agent gets: the layer's storage before the overlay's
  local doc = agent.document(plan)
  lu.assertEquals(doc.storages, { l1.storages[1], r.storages[1] })
  lu.assertEquals(doc.root, { path = "/run/kata-containers/c1/rootfs" })
end

function T.TestRootfs.test_shared_root()
  local root = H.tmpdir("root")
  local plan = katamount.plan({ root = { path = root } }, IDS)
  local r = plan.rootfs
  if r.action ~= "share" then lu.skip("the scratch directory sits on a block device here") end
  lu.assertEquals(r.storages, {})
  lu.assertEquals(r.guest_mount.source, SHARED .. "/c1/rootfs")
  lu.assertEquals(r.host, { action = "share", source = root, read_only = false,
    path = "/run/kata-containers/shared/sandboxes/s1/mounts/c1/rootfs" })
end

-- fs_share_linux.go shareRootFilesystemWithVirtualVolume, handleVirtualVolume
-- and kata_agent.go handleImageGuestPullBlockVolume; the volume of
-- types/virtual_volume_test.go TestParseKataVirtualVolume (direct_block:
-- no storage) and an image_guest_pull one
local function b64(s) return (H.sh("printf %s " .. H.q(s) .. " | base64 -w0")) end

local function guest_pull_plan(volume, annotations, extra)
  local opt = "io.katacontainers.volume=" .. b64(volume)
  local ctx = with(IDS, { rootfs = { source = "overlay", type = "overlay", options = { opt } } })
  for k, v in pairs(extra or {}) do ctx[k] = v end
  return katamount.plan({ mounts = {}, annotations = annotations }, ctx)
end

function T.TestRootfs.test_guest_pull()
  local root = "/run/kata-containers/c1/rootfs"
  -- TestParseKataVirtualVolume's valid volume: no storage, the root there
  local plan, errs = guest_pull_plan('{"volume_type":"direct_block","source":"/dev/sdb","fs_type":"ext4",'
    .. '"options":["rw"],"direct_volume":{"metadata":{"key":"value"}}}')
  lu.assertEquals(errs, {})
  lu.assertEquals({ plan.rootfs.class, plan.rootfs.action }, { "rootfs", "guest-pull" })
  lu.assertEquals(plan.rootfs.storages, {})
  lu.assertEquals(plan.rootfs.guest_mount.source, root)
  lu.assertEquals(plan.rootfs.host, { action = "none" })
  -- image_guest_pull: the image from containerd's annotation, the metadata
  -- merged with the annotations and kata's container type, as Go's
  -- json.Marshal writes it (keys sorted, <, > and & escaped)
  local pull = '{"volume_type":"image_guest_pull","image_pull":{"metadata":{"a":"1","x":"<&>"}}}'
  plan, errs = guest_pull_plan(pull, { ["io.kubernetes.cri.container-type"] = "container",
    ["io.kubernetes.cri.image-name"] = "nginx:1.27", a = "2" })
  lu.assertEquals(errs, {})
  lu.assertEquals(plan.rootfs.storages, { { driver = "image_guest_pull", source = "nginx:1.27",
    fstype = "overlay", mount_point = root, driver_options = { 'image_guest_pull={"metadata":{"a":"2",'
      .. '"io.katacontainers.pkg.oci.container_type":"pod_container",'
      .. '"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.image-name":"nginx:1.27",'
      .. '"x":"\\u003c\\u0026\\u003e"}}' } } })
  lu.assertEquals(agent.document(plan).root, { path = root })
  -- the pod's sandbox container pulls "pause"; CRI-O names the image its way
  plan = guest_pull_plan(pull, { ["io.kubernetes.cri.container-type"] = "sandbox" })
  lu.assertEquals(plan.rootfs.storages[1].source, "pause")
  plan = guest_pull_plan(pull, { ["io.kubernetes.cri-o.ContainerType"] = "container",
    ["io.kubernetes.cri-o.ImageName"] = "quay.io/x:1", ["io.kubernetes.cri.image-name"] = "no" })
  lu.assertEquals(plan.rootfs.storages[1].source, "quay.io/x:1")
  -- no CRI container type (nerdctl): containerd's image-name annotation
  plan = guest_pull_plan(pull, { ["io.kubernetes.cri.image-name"] = "busybox" })
  lu.assertEquals(plan.rootfs.storages[1].source, "busybox")
  lu.assertStrContains(plan.rootfs.storages[1].driver_options[1], '"single_container"')
  -- ctx's annotations win over the spec's
  plan = guest_pull_plan(pull, { ["io.kubernetes.cri.image-name"] = "busybox" },
    { annotations = { ["io.kubernetes.cri.image-name"] = "alpine" } })
  lu.assertEquals(plan.rootfs.storages[1].source, "alpine")
  -- no image name, an unknown container type, no image_pull: kata fails the create
  for _, c in ipairs({ { pull, {}, "Failed to get image name from annotations" },
    { pull, { ["io.kubernetes.cri.container-type"] = "pod" }, "Unknown container type pod" },
    { '{"volume_type":"image_guest_pull"}', { ["io.kubernetes.cri.image-name"] = "x" },
      "image_pull.metadata" } }) do
    _, errs = guest_pull_plan(c[1], c[2])
    lu.assertEquals(#errs, 1)
    lu.assertStrContains(errs[1], c[3])
  end
end

-- fs_share_linux.go shareRootFilesystemWithNydus with nydusd_test.go
-- TestParseExtraOption's options: the valid one, then those it refuses
function T.TestRootfs.test_nydus()
  local function nydus(extra, shared_fs)
    return katamount.plan({ mounts = {} }, with(IDS, { shared_fs = shared_fs or "virtio-fs-nydus", rootfs = {
      source = "overlay", type = "fuse.nydus-overlayfs",
      options = { "lowerdir=/x", "extraoption=" .. b64(extra) } } }))
  end
  local plan, errs = nydus('{"source":"/path/to/bootstrap","config":"config content",'
    .. '"snapshotdir":"/path/to/snapshotdir"}')
  lu.assertEquals(errs, {})
  local r = plan.rootfs
  lu.assertEquals({ r.class, r.action }, { "rootfs", "nydus" })
  lu.assertEquals(r.storages, { { driver = "overlayfs", source = "overlay", fstype = "overlay",
    mount_point = SHARED .. "/c1/rootfs", options = {
      "upperdir=" .. SHARED .. "/c1/snapshotdir/fs", "workdir=" .. SHARED .. "/c1/snapshotdir/work",
      "lowerdir=/run/kata-containers/shared/rafs/c1/lowerdir", "index=off" } } })
  lu.assertEquals(r.guest_mount.source, SHARED .. "/c1/rootfs")
  lu.assertEquals(r.host, { action = "nydus", source = "/path/to/snapshotdir", read_only = true,
    path = "/run/kata-containers/shared/sandboxes/s1/mounts/c1/snapshotdir",
    rafs = { mount_point = "/rafs/c1/lowerdir", source = "/path/to/bootstrap", config = "config content" } })
  for _, bad in ipairs({ '{"config":config content,"snapshotdir":/path/to/snapshotdir}',
    '{"source":"/b","snapshotdir":"/s"}', '{"source":"/b","config":"c"}' }) do
    local _, e = nydus(bad)
    lu.assertEquals(#e, 1, bad)
    lu.assertNotNil(e[1]:find("extra ?option"), e[1])
  end
  -- virtiofsd cannot mount a RAFS (its Mount is unimplemented)
  local _, errs2 = nydus('{"source":"/b","config":"c","snapshotdir":"/s"}', "virtio-fs")
  lu.assertStrContains(errs2[1], "needs shared_fs virtio-fs-nydus")
end

-- container.go createErofsDevices, fs_share_linux.go
-- shareRootFilesystemWithErofs: each layer.erofs hot-plugged read-only,
-- the rwlayer.img under upperdir too, an overlay of them
function T.TestRootfs.test_erofs_layers()
  H.need_mounts()
  local _, have = H.run("command -v mkfs.erofs && grep -qw erofs /proc/filesystems")
  lu.skipIf(not have, "needs mkfs.erofs (erofs-utils) and erofs in the kernel")
  local snaps = H.tmpdir("erofs") .. "/io.containerd.snapshotter.v1.erofs/snapshots"
  local lower, files = {}, {}
  for i = 1, 2 do
    local s = H.mkdir(snaps .. "/" .. i)
    H.write(H.mkdir(s .. "/src") .. "/f", "x")
    files[i] = s .. "/layer.erofs"
    H.sh(("mkfs.erofs --quiet %s %s/src"):format(H.q(files[i]), H.q(s)))
    local out, ok = H.run(("mount -t erofs %s %s"):format(H.q(files[i]), H.q(H.mkdir(s .. "/fs"))))
    lu.skipIf(not ok, "cannot mount erofs from a file here: " .. out)
    lower[i] = s .. "/fs"
    -- the host file behind the mount: the layer file, or the loop device
    -- the kernel put in between (standing for its backing file)
    files[i] = katamount.mount_entry(lower[i]).source
  end
  local upper = H.mkdir(snaps .. "/3/fs")
  local ctx = with(IDS, { block_device_driver = "virtio-blk-pci",
    block_addresses = { [files[1]] = "02/01", [files[2]] = "02/02" },
    rootfs = { source = "overlay", type = "overlay", options = { "lowerdir=" .. table.concat(lower, ":"),
      "upperdir=" .. upper } } })
  local plan, errs = katamount.plan({ mounts = {} }, ctx)
  lu.assertEquals(errs, {})
  local r = plan.rootfs
  lu.assertEquals({ r.class, r.action }, { "rootfs", "erofs-layers" })
  local vv = "/run/kata-containers/virtual-volumes/"
  local l1, l2 = vv .. katamount.base64_url("02/01"), vv .. katamount.base64_url("02/02")
  -- no rwlayer.img mounted above upperdir: upper and work in the container's directory
  lu.assertEquals(r.storages, {
    { driver = "blk", source = "02/01", fstype = "erofs", options = { "ro" }, mount_point = l1 },
    { driver = "blk", source = "02/02", fstype = "erofs", options = { "ro" }, mount_point = l2 },
    { driver = "overlayfs", source = "overlay", fstype = "overlay",
      mount_point = "/run/kata-containers/c1/rootfs",
      driver_options = { "io.katacontainers.volume.overlayfs.create_directory=/run/kata-containers/c1/fs",
        "io.katacontainers.volume.overlayfs.create_directory=/run/kata-containers/c1/work" },
      options = { "lowerdir=" .. l1 .. ":" .. l2, "upperdir=/run/kata-containers/c1/fs",
        "workdir=/run/kata-containers/c1/work" } } })
  lu.assertEquals(r.guest_mount.source, "/run/kata-containers/c1/rootfs")
  local is_file = files[1]:sub(1, 9) ~= "/dev/loop"
  lu.assertEquals(r.host, { action = "hotplug", devices = {
    { path = files[1], read_only = true, file = is_file },
    { path = files[2], read_only = true, file = is_file } } })
  -- a disk mounted at upperdir's directory: the rw layer (a loop device
  -- here, standing for its rwlayer.img)
  local mnt = H.disk_dir("rw")
  H.bind(mnt, snaps .. "/3")
  H.mkdir(upper)
  local dev = katamount.mount_entry(snaps .. "/3").source
  plan, errs = katamount.plan({ mounts = {} }, with(ctx, { block_addresses = {
    [files[1]] = "02/01", [files[2]] = "02/02", [dev] = "02/03" } }))
  lu.assertEquals(errs, {})
  r = plan.rootfs
  local rw = vv .. katamount.base64_url("02/03")
  lu.assertEquals(r.storages[3], { driver = "blk", source = "02/03", fstype = "ext4", options = {},
    mount_point = rw })
  lu.assertEquals(r.storages[4].options, { "lowerdir=" .. l1 .. ":" .. l2, "upperdir=" .. rw .. "/upper",
    "workdir=" .. rw .. "/work" })
  lu.assertEquals(r.host.devices[3], { path = dev, read_only = false, file = false })
  lu.assertEquals(r.host.remount_read_only, snaps .. "/3")
  H.umount(snaps .. "/3")
end

-------------------------------------------------------------------------------
-- the mounts kata leaves in the spec as they are
T.TestUnchanged = {}

function T.TestUnchanged.test_system_device_passthrough()
  for _, m in ipairs({
    { source = "proc", destination = "/proc", type = "proc", options = { "nosuid" } },
    H.bind_mount("/sys/fs/cgroup", "/sys/fs/cgroup"),
    H.bind_mount("/dev/null", "/dev/null"),
  }) do
    local d = classify(m)
    lu.assertEquals(d.guest_mount, m, m.source)
    lu.assertEquals(d.storages, {})
    lu.assertEquals(d.host, { action = "none" })
  end
end

-------------------------------------------------------------------------------
-- an operator's rules directory changes the guest paths and sizes
T.TestOperator = {}
function T.TestOperator.tearDown() H.cleanup() end

function T.TestOperator.test_ephemeral_dir_and_shm_size_from_a_rules_directory()
  H.need_mounts()
  local rules = H.rules_dir({ ["50-site.lua"] = [[
    params.guest_ephemeral_dir = "/run/site/ephemeral"
    params.shm_size = 128 * 1024 * 1024
  ]] })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local src = H.mount_tmpfs(empty_dir("op", "cache"))
  local plan, errs = e:plan({ root = { path = "/" }, mounts = { H.bind_mount(src, "/cache"),
    { type = "bind", source = "shm", destination = "/dev/shm", options = { "rbind" } } } }, IDS)
  lu.assertEquals(errs, {})
  lu.assertEquals(plan.mounts[1].storages[1].mount_point, "/run/site/ephemeral/cache")
  lu.assertEquals(plan.mounts[1].guest_mount.source, "/run/site/ephemeral/cache")
  lu.assertEquals(plan.mounts[2].guest_mount.options[5], "size=134217728")
  -- a wrong type is refused where it is set
  local bad = H.rules_dir({ ["50-site.lua"] = 'params.shm_size = "128M"' })
  local none, err = katamount.new({ rules_path = { bad } })
  lu.assertNil(none)
  lu.assertStrContains(err, "param 'shm_size' expects an integer")
end

function T.TestOperator.test_a_new_class_is_one_file()
  local dir = H.tmpdir("cls")
  local rules = H.rules_dir({ ["50-quarantine.lua"] = [[
    declare("class", "quarantine", "mounts kept out of the guest")
    declare("action", "drop", "removed from the spec")
    rule { name = "quarantine", order = 10, class = "quarantine", action = "drop",
      when = function(m) return m.destination == "/q" end }
  ]], ["guest-quarantine.lua"] = [[
    guest { class = "quarantine", build = function(m)
      return { why = "quarantined: " .. m.destination } end }
  ]] })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local d = classify(H.bind_mount(dir, "/q"), nil, e)
  lu.assertNil(d.guest_mount)
  lu.assertEquals(d.guest_reason, "quarantined: /q")
  lu.assertEquals(d.storages, {})
  lu.assertEquals(d.host, { action = "none" })
  -- without its guest file the class has no guest side, and the agent's
  -- document names it
  local rules2 = H.rules_dir({ ["50-quarantine.lua"] = H.read(rules .. "/50-quarantine.lua") })
  local e2 = assert(katamount.new({ rules_path = { rules2 } }))
  local plan = e2:plan({ root = { path = "/" }, mounts = { H.bind_mount(dir, "/q") } }, IDS)
  lu.assertNil(plan.mounts[1].storages)
  lu.assertNil(plan.mounts[1].translation)
  local doc = agent.document(plan)
  lu.assertEquals(doc.untranslated, { { destination = "/q", source = dir, class = "quarantine",
    action = "drop" } })
  lu.assertEquals(doc.mounts[1].source, dir)
end

-- runtime-rs rootfs/erofs_rootfs.rs ErofsMultiLayerRootfs::new, fsmerge
-- form (one erofs file, raw): the rw layer's storage, then the erofs', both
-- at the root's passthrough path, the overlay's mkdir hints on the erofs
function T.TestRootfs.test_erofs_multi_layer_runtime_rs()
  local d = H.tmpdir("erofs-rs")
  local layer, rw = H.write(d .. "/layer.erofs", ""), H.write(d .. "/rwlayer.img", "")
  local list = { { source = rw, type = "ext4", options = { "loop", "rw" } },
    { source = layer, type = "erofs", options = { "ro", "loop", "X-kata.x=1" } },
    { source = "overlay", type = "format/mkdir/overlay", options = { "X-containerd.mkdir.path=/u/fs:0755",
      "lowerdir={{ mount 1 }}" } } }
  local ctx = with(IDS, { rootfs = list, block_device_driver = "virtio-blk-pci",
    block_addresses = { [layer] = "03/00", [rw] = "03/01" } })
  local plan, errs = katamount.plan({ mounts = {} }, ctx)
  lu.assertEquals(errs, {})
  local r = plan.rootfs
  lu.assertEquals({ r.class, r.action }, { "rootfs", "erofs-layers" })
  local root = SHARED .. "/passthrough/c1/rootfs"
  lu.assertEquals(r.storages, {
    { driver = "blk", source = "03/01", fstype = "ext4", mount_point = root,
      options = { "rw", "X-kata.overlay-upper", "X-kata.multi-layer=true" } },
    { driver = "blk", source = "03/00", fstype = "erofs", mount_point = root,
      options = { "ro", "X-kata.overlay-lower", "X-kata.multi-layer=true",
        "X-kata.mkdir.path=/u/fs:0755" } },
  })
  lu.assertEquals(r.guest_mount.source, root)
  lu.assertEquals(r.host, { action = "hotplug", devices = { { path = rw, read_only = false, file = true },
    { path = layer, read_only = true, file = true } } })
  -- what runtime-rs builds on the host first (a VMDK of device= files, a
  -- GPT disk of several layers) is not translated: the decision fails
  local two = { list[2], { source = H.write(d .. "/l2.erofs", ""), type = "erofs", options = {} }, list[3] }
  local _, errs2 = katamount.plan({ mounts = {} }, with(ctx, { rootfs = two }))
  lu.assertStrContains(errs2[1], "GPT+VMDK mode")
  local merged = { { source = layer, type = "erofs", options = { "device=" .. d .. "/l2.erofs" } }, list[3] }
  local _, errs3 = katamount.plan({ mounts = {} }, with(ctx, { rootfs = merged }))
  lu.assertStrContains(errs3[1], "fsmerge mode")
end

-------------------------------------------------------------------------------
-- every decision the bundled rules can make has a translation: for each
-- (class, action) a bundled rule declares, a bundled guest-*.lua translates
-- it (by class and action, else by class), so document().untranslated stays
-- empty; a class the rules never decide has no translation left over
T.TestEveryDecisionTranslated = {}

function T.TestEveryDecisionTranslated.test_bundled_pairs()
  local e = assert(katamount.new({ rules_path = {} }))
  local by = {}
  for _, g in ipairs(e:translations()) do by[g.name] = g end
  local pairs_seen, classes = {}, {}
  for _, r in ipairs(e:rules()) do
    local key = r.class .. "/" .. r.action
    local g = by[key] or by[r.class .. "/*"]
    lu.assertNotNil(g, ("rule '%s' (%s:%d) decides %s: no translation"):format(r.name, r.file, r.line, key))
    lu.assertStrMatches(g.file, ".*/rules/guest%-[%w%-]+%.lua", nil, nil, key)
    pairs_seen[key], classes[r.class] = true, true
  end
  -- the pairs the issue names are among them
  for _, key in ipairs({ "direct-volume/hotplug-block", "direct-volume/guest-mount", "direct-volume/vfio",
    "direct-volume/vhost-user-blk", "block-emptydir/hotplug-block", "rootfs/guest-pull", "rootfs/nydus",
    "rootfs/erofs-layers" }) do
    lu.assertTrue(pairs_seen[key], key)
  end
  for name, g in pairs(by) do
    lu.assertTrue(classes[g.class], "translation " .. name .. " of a class no rule decides")
    if g.action then
      lu.assertTrue(pairs_seen[name], "translation " .. name .. " of a pair no rule decides")
    end
  end
end

-- `guest { class =, unchanged = true }`: the mount as the spec gives it,
-- no storage, nothing on the host, without a build; declared wrongly, the
-- load fails at its line.
function T.TestOperator.test_an_unchanged_translation()
  local dir = H.tmpdir("unch")
  local rules = H.rules_dir({ ["50-keep.lua"] = [[
    declare("class", "keep", "mounts the agent gets as given")
    rule { name = "keep", order = 10, class = "keep", action = "guest-mount",
      when = function(m) m.source = "/elsewhere"; return m.destination == "/k" end }
  ]], ["guest-keep.lua"] = "guest { class = 'keep', unchanged = true }\n" })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local d = classify(H.bind_mount(dir, "/k", { "ro" }), nil, e)
  -- the mount as the spec gave it (what the rule wrote on m stays in the rule)
  lu.assertEquals(d.guest_mount, { source = dir, destination = "/k", type = "bind",
    options = { "rbind", "ro" } })
  lu.assertEquals(d.storages, {})
  lu.assertEquals(d.host, { action = "none" })
  lu.assertEquals(d.translation.name, "keep/*")
  lu.assertStrContains(d.translation.file, "guest-keep.lua")
  -- its own copy of the options
  d.guest_mount.options[1] = "x"
  lu.assertEquals(d.options, { "rbind", "ro" })
  -- the translation's place follows a reload (the host keeps it per rule set)
  lu.assertEquals(d.translation.line, 1)
  H.write(rules .. "/guest-keep.lua", "\nguest { class = 'keep', unchanged = true }\n")
  assert(e:reload())
  lu.assertEquals(classify(H.bind_mount(dir, "/k"), nil, e).translation.line, 2)
  for _, c in ipairs({
    { "guest { class = 'keep', unchanged = 1 }", "unchanged must be true or nil" },
    { "guest { class = 'keep', unchanged = true, build = function() end }", "either build or unchanged" },
    { "guest { class = 'keep' }", "build must be a function (m, ctx, d), or unchanged = true" },
  }) do
    H.write(rules .. "/guest-keep.lua", c[1] .. "\n")
    local ok, err = e:reload()
    lu.assertNil(ok, c[1])
    lu.assertStrContains(err, rules .. "/guest-keep.lua:1: guest 'keep': " .. c[2])
  end
end

-------------------------------------------------------------------------------
-- attacks and failures
T.TestGuestAttacks = {}
function T.TestGuestAttacks.tearDown() H.cleanup() end

function T.TestGuestAttacks.test_ids_never_add_a_directory()
  local src = H.tmpdir("ids")
  for _, id in ipairs({ "../../etc", "a/b", "", ".hidden", "x\0y", ("a"):rep(10) .. "/" }) do
    local _, err = katamount.classify(H.bind_mount(src, "/x"), with(IDS, { container_id = id }))
    lu.assertStrContains(err, "container_id must match", id)
  end
  local _, err = katamount.classify(H.bind_mount(src, "/x"), with(IDS, { sandbox_id = 7 }))
  lu.assertStrContains(err, "sandbox_id must match")
end

function T.TestGuestAttacks.test_a_source_named_dot_dot_fails()
  lu.assertEquals(katamount.base_name("/a/b//"), "b")
  for _, p in ipairs({ "/", "", "..", "." }) do
    local ok, err = katamount.engine:call("base_name", p)
    lu.assertNil(ok)
    lu.assertStrContains(err, "has no name")
  end
end

-- guest paths are Go's filepath.Join (kata_agent.go, fs_share_linux.go):
-- empty parts left out, the result cleaned; a part no path can hold raises
function T.TestGuestAttacks.test_guest_join_is_go_join()
  local e = katamount.engine
  lu.assertEquals(e:call("guest_join", "/run/kata-containers/shared/containers/", "c-1-x"),
    "/run/kata-containers/shared/containers/c-1-x")
  lu.assertEquals(e:call("guest_join", "", "x"), "x")            -- Go: Join("", "x") == "x"
  lu.assertEquals(e:call("guest_join", "/a", "", "b"), "/a/b")
  lu.assertEquals(e:call("guest_join", "/a", "../../b"), "/b")
  local ok, err = e:call("guest_join", "/a", "x\0y")
  lu.assertNil(ok)
  lu.assertStrContains(err, "path contains a NUL byte")
  ok, err = e:call("guest_join", "/a", ("x"):rep(5000))
  lu.assertNil(ok)
  lu.assertStrContains(err, "longer than KM_PATH_MAX")
end

-- the JSON some root filesystem options carry is decoded in the rule state:
-- bounded nesting, no trailing text, escapes as JSON says
function T.TestGuestAttacks.test_json_in_options()
  local e = katamount.engine
  lu.assertEquals(e:call("json_decode", '{"a":["x",1,true,false,null],"b":{"c":"\\u00e9\\ud83d\\ude00\\n"}}'),
    { a = { "x", 1, true, false }, b = { c = "\195\169\240\159\152\128\n" } })
  for _, c in ipairs({ { ("["):rep(9) .. ("]"):rep(9), "JSON_DEPTH (8)" },
    { '{"a":1} x', "text after the value" }, { '"abc', "unterminated string" },
    { '{"a":"\1"}', "control character" }, { "{1:2}", "a key must be a string" },
    { '"\\x"', "bad escape" }, { "", "end of text" }, { "[1,]", "unexpected ']'" } }) do
    local ok, err = e:call("json_decode", c[1])
    lu.assertNil(ok, c[1])
    lu.assertStrContains(err, c[2], false, c[1])
  end
  -- Go's map encoding: sorted, HTML characters and line separators escaped
  lu.assertEquals(e:call("json_string_map", { b = "\226\128\168<", a = 'q"\\\1' }),
    '{"a":"q\\"\\\\\\u0001","b":"\\u2028\\u003c"}')
end

function T.TestGuestAttacks.test_a_failing_translation_names_itself()
  local rules = H.rules_dir({ ["guest-shared.lua"] = [[
    guest { class = "shared", build = function() error("boom") end }
  ]], ["guest-shm.lua"] = [[
    guest { class = "shm", build = function() while true do end end }
  ]], ["guest-system.lua"] = [[
    guest { class = "passthrough", build = function() return { host = "share" } end }
  ]] })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local _, err = e:classify(H.bind_mount(H.tmpdir("f"), "/x"), IDS)
  lu.assertStrMatches(err, "guest 'shared/%*' %(.*guest%-shared%.lua:1%): .*boom")
  _, err = e:classify({ type = "bind", source = "x", destination = "/dev/shm" }, IDS)
  lu.assertStrContains(err, "guest 'shm/*'")
  _, err = e:classify({ type = "proc", source = "proc", destination = "/proc" }, IDS)
  lu.assertStrContains(err, "host must be a table with an action")
  -- in a plan the failure is that mount's error; the others go on
  local plan, errs = e:plan({ root = { path = "/" }, mounts = {
    { type = "proc", source = "proc", destination = "/proc" },
    { type = "tmpfs", source = "tmpfs", destination = "/dev/shm" } } }, IDS)
  lu.assertEquals(#errs, 2)
  lu.assertNotNil(plan.rootfs.class)
end

-- What a build returns is checked, by runtime.guest_result when it is
-- plain data (what builds return), else by the sandbox: the same answers.
function T.TestGuestAttacks.test_what_a_build_returns_is_checked()
  local dir = H.rules_dir({ ["guest-passthrough.lua"] = [[
    guest { class = "passthrough", build = function(m) return OUT(m) end }
  ]] })
  local proc = { type = "proc", source = "proc", destination = "/proc" }
  local function with_out(body)
    H.write(dir .. "/guest-out.lua", "predicate('OUT', function(m) " .. body .. " end)\n")
    local e = assert(katamount.new({ rules_path = { dir } }))
    return e:classify(proc, IDS)
  end
  for _, c in ipairs({
    { "return 'x'", "build must return a table" },
    { "return { storages = 's' }", "storages must be a list of tables" },
    { "return { storages = { {}, 1 } }", "storage 2 is not a table" },
    { "return { guest_mount = 5 }", "guest_mount must be a table or nil" },
    { "return { guest_mount = false }", "guest_mount must be a table or nil" },
    { "return { host = { action = 1 } }", "host must be a table with an action" },
    { "return { host = 'share' }", "host must be a table with an action" },
  }) do
    local d, err = with_out(c[1])
    lu.assertNil(d, c[1])
    lu.assertStrContains(err, c[2], false, c[1])
  end
  -- plain data of the right shape crosses as it is
  local d = assert(with_out("return { storages = { { driver = 'x', options = { 'ro' } } },"
    .. " guest_mount = { source = '/g' }, host = { action = 'share', path = '/h' }, why = 'w' }"))
  lu.assertEquals(d.storages, { { driver = "x", options = { "ro" } } })
  -- (what the guest mount leaves out is the container mount's own)
  lu.assertEquals(d.guest_mount, { source = "/g", destination = "/proc", type = "proc", options = {} })
  lu.assertEquals(d.host, { action = "share", path = "/h" })
  lu.assertNil(d.guest_reason)
  -- no guest mount: the reason given, else the default one; no host: none
  d = assert(with_out("return { why = 'gone' }"))
  lu.assertEquals({ d.guest_reason, d.host, d.storages }, { "gone", { action = "none" }, {} })
  d = assert(with_out("return { why = 7, host = false }"))
  lu.assertEquals({ d.guest_reason, d.host }, { "removed from the container's mounts", { action = "none" } })
  -- not plain (the mount's own view, a function): copied plain
  d = assert(with_out("return { guest_mount = m, host = { action = 'none', f = tostring } }"))
  lu.assertEquals({ d.guest_mount.source, d.guest_mount.destination }, { "proc", "/proc" })
  lu.assertEquals(d.host, { action = "none" })
end

-- A guest mount's destination, type and options default to the container
-- mount's (each alone; options a copy), filled in on the host; what the
-- build gives, even an empty list, stays.
function T.TestGuestAttacks.test_a_guest_mount_defaults_to_the_mount()
  local dir = H.rules_dir({ ["guest-shared.lua"] = [[
    guest { class = "shared", build = function(m)
      if m.destination == "/all" then return { guest_mount = { source = "/g" } } end
      if m.destination == "/type" then return { guest_mount = { source = "/g", type = "local" } } end
      return { guest_mount = { source = "/g", destination = "/elsewhere", type = "bind", options = {} } }
    end }
  ]] })
  local e = assert(katamount.new({ rules_path = { dir } }))
  local src = H.mkdir(H.tmpdir("gdef") .. "/src")
  local mount = { source = src, destination = "/all", type = "bind", options = { "rbind", "ro" } }
  local d = assert(e:classify(mount, IDS))
  lu.assertEquals(d.guest_mount, { source = "/g", destination = "/all", type = "bind",
    options = { "rbind", "ro" } })
  lu.assertNotIs(d.guest_mount.options, d.options)     -- a copy: the decision's own
  lu.assertNotIs(d.guest_mount.options, mount.options)
  mount.destination = "/type"
  d = assert(e:classify(mount, IDS))
  lu.assertEquals(d.guest_mount, { source = "/g", destination = "/type", type = "local",
    options = { "rbind", "ro" } })
  mount.destination = "/given"
  local plan = e:plan({ root = { path = src }, mounts = { mount } }, IDS)
  lu.assertEquals(plan.mounts[1].guest_mount, { source = "/g", destination = "/elsewhere", type = "bind",
    options = {} })
end

function T.TestGuestAttacks.test_build_cannot_change_the_decision()
  local rules = H.rules_dir({ ["guest-passthrough.lua"] = [[
    guest { class = "passthrough", build = function(m, ctx, d)
      d.class = "shared"
      return { host = { action = "none" } } end }
  ]] })
  local e = assert(katamount.new({ rules_path = { rules } }))
  -- build gets a copy of the decision's names: the decision stays the rule's
  local d = classify({ type = "proc", source = "proc", destination = "/proc" }, IDS, e)
  lu.assertEquals({ d.class, d.action, d.rule }, { "passthrough", "guest-mount", "passthrough" })
  lu.assertEquals(d.host, { action = "none" })
end

-- What build returns crosses as plain data: its own plain tables as they
-- are, views of the mount (m.options) and tables with metatables copied
-- raw, functions dropped; a later build changing the table an earlier
-- one returned changes nothing the host already has once the plan is copied.
function T.TestGuestAttacks.test_build_output_crosses_as_plain_data()
  local rules = H.rules_dir({ ["guest-passthrough.lua"] = [[
    local shared = { action = "none" }
    guest { class = "passthrough", build = function(m)
      return { guest_mount = { source = m.source, destination = m.destination, type = m.type,
          options = m.options, extra = function() end },
        storages = { setmetatable({ driver = "x" }, { __index = function() return "leak" end }) },
        host = shared }
    end }
  ]] })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local plan, errs = e:plan({ root = { path = "/" }, mounts = {
    { type = "proc", source = "proc", destination = "/proc", options = { "nosuid", "noexec" } },
    { type = "sysfs", source = "sysfs", destination = "/sys" } } }, IDS)
  lu.assertEquals(errs, {})
  local gm = plan.mounts[1].guest_mount
  lu.assertEquals(gm, { source = "proc", destination = "/proc", type = "proc",
    options = { "nosuid", "noexec" } })
  lu.assertEquals(plan.mounts[1].storages, { { driver = "x" } })
  lu.assertNil(getmetatable(plan.mounts[1].storages[1]))
  lu.assertNil(plan.mounts[1].storages[1].missing)
  lu.assertEquals(plan.mounts[2].host, { action = "none" })
  lu.assertEquals(plan.mounts[2].guest_mount.options, {})
  -- the host's copies are its own
  plan.mounts[1].host.action = "changed"
  lu.assertEquals(plan.mounts[2].host, { action = "none" })
end

function T.TestGuestAttacks.test_translate_false_skips_it()
  local d = classify({ type = "proc", source = "proc", destination = "/proc" },
    with(IDS, { translate = false }))
  lu.assertEquals(d.class, "passthrough")
  lu.assertNil(d.storages)
  lu.assertNil(d.guest_mount)
  lu.assertNil(d.host)
end

-------------------------------------------------------------------------------
-- katamount.agent.document: one table in agent-protocol names, valid JSON
T.TestAgentDocument = {}
function T.TestAgentDocument.tearDown() H.cleanup() end

function T.TestAgentDocument.test_a_pod()
  H.need_mounts()
  local dir = H.tmpdir("pod")
  local eph = H.mount_tmpfs(dir .. "/pods/p/volumes/kubernetes.io~empty-dir/cache")
  local cm = H.fill(dir .. "/pods/p/volumes/kubernetes.io~configmap/cfg", 1)
  local spec = { root = { path = dir }, mounts = {
    { type = "proc", source = "proc", destination = "/proc" },
    H.bind_mount(eph, "/cache"),
    H.bind_mount(cm, "/cfg", { "ro" }),
    { type = "bind", source = "/run/shm", destination = "/dev/shm", options = { "rbind" } },
  } }
  local plan, errs = katamount.plan(spec, with(IDS, { sandbox_shm_size = 65536 }))
  lu.assertEquals(errs, {})
  local doc = agent.document(plan)
  local back = cjson.decode(cjson.encode(doc))
  lu.assertEquals(#back.mounts, 4)
  lu.assertEquals(back.mounts[2].source, EPHEMERAL .. "/cache")
  lu.assertEquals(back.mounts[4], { destination = "/dev/shm", source = "/run/kata-containers/sandbox/shm",
    type = "bind", options = { "rbind" } })
  local drivers = {}
  for _, s in ipairs(back.storages) do
    drivers[#drivers + 1] = s.driver
    for k in pairs(s) do lu.assertNotNil(({ driver = 1, driver_options = 1, source = 1, fstype = 1,
      options = 1, mount_point = 1, fs_group = 1 })[k], k) end
  end
  lu.assertEquals(drivers, { "ephemeral", "watchable-bind" })
  lu.assertEquals(back.untranslated, {})
  lu.assertError(agent.document, "plan")
end

return T
