-- spec/engine_kata_volumes_spec.lua -- volume decisions checked against
-- kata-containers' own code paths (kata-containers/kata-containers,
-- src/runtime/virtcontainers/ unless said): each test class names the
-- upstream file and function it follows. Real files, real mounts, scratch
-- direct-volume directories and fake mount tables.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")
local directvolume = require("katamount.directvolume")

local BLOCK_FILE = "io.katacontainers.fs-opt.block_device=file"
-- a kubelet pod directory, as kata's configVolRegexString wants it
local POD = "/pods/0123abcd-0123-4567-89ab-0123456789ab/volumes/"

local bind = H.bind_mount

local function decide(mount, ctx, e)
  local d, err = (e or katamount.engine):classify(mount, ctx)
  lu.assertNil(err, mount.source)
  return { d.class, d.action }, d
end

local function fails(mount, ctx, e)
  local d, err = (e or katamount.engine):classify(mount, ctx)
  lu.assertNil(d)
  lu.assertIsString(err)
  return err
end

-- A configmap as the kubelet's atomic writer lays it out: the keys in a
-- timestamped directory, "..data" a link to it, each key a link through it.
local function kubelet_volume(dir, keys)
  local ts = "..2026_01_02_03_04_05.123456789"
  H.mkdir(dir .. "/" .. ts)
  for name, content in pairs(keys) do
    H.write(dir .. "/" .. ts .. "/" .. name, content)
    H.symlink("..data/" .. name, dir .. "/" .. name)
  end
  H.symlink(ts, dir .. "/..data")
  return dir
end

-------------------------------------------------------------------------------
-- fs_share_linux.go ShareFile and container.go mountSharedDirMounts: with a
-- shared file system (IsFsSharingSupported: shared_fs is not "none", the
-- hypervisors' Capabilities) a bind mount is shared; without one ShareFile
-- copies the source's tree into the guest (files, directories, links),
-- watches what matches configVolRegexString, and returns nil -- the mount
-- is dropped -- when the source is none of those.
local TestShareFile = {}
function TestShareFile.tearDown() H.cleanup() end

function TestShareFile.test_each_shared_fs_kind_shares()
  local d = H.tmpdir("share")
  local f = H.write(d .. "/f", "x")
  for _, kind in ipairs({ "virtio-fs", "virtio-fs-nydus", "virtio-9p" }) do
    local got, dec = decide(bind(d, "/data"), { shared_fs = kind })
    lu.assertEquals(got, { "shared", "share" }, kind)
    lu.assertStrContains(dec.reasons[1], kind)
    lu.assertEquals(decide(bind(f, "/f"), { shared_fs = kind }), { "shared", "share" }, kind)
  end
end

function TestShareFile.test_no_sharing_copies_files_directories_and_links()
  local d = H.tmpdir("share")
  local f = H.write(d .. "/resolv.conf", "nameserver 10.0.0.1\n")
  local dir = H.fill(d .. "/data", 3)
  local link = H.symlink(f, d .. "/link")
  local none = { shared_fs = "none" }
  local got, dec = decide(bind(f, "/etc/resolv.conf"), none)
  lu.assertEquals(got, { "copy", "copy" })
  lu.assertStrContains(dec.reasons[1], "a regular file")
  got, dec = decide(bind(dir, "/data"), none)
  lu.assertEquals(got, { "copy", "copy" })
  lu.assertStrContains(dec.reasons[1], "a directory")
  -- WalkDir lstat()s its root: a link is copied as a link
  got, dec = decide(bind(link, "/l"), none)
  lu.assertEquals(got, { "copy", "copy" })
  lu.assertStrContains(dec.reasons[1], "symbolic link")
end

function TestShareFile.test_no_sharing_watches_kubelet_volumes()
  local d = H.tmpdir("share")
  local none = { shared_fs = "none" }
  for _, kind in ipairs({ "configmap", "secret", "projected", "downward-api" }) do
    local vol = kubelet_volume(H.mkdir(d .. POD .. "kubernetes.io~" .. kind .. "/v"), { key = "v" })
    lu.assertEquals(decide(bind(vol, "/etc/v"), none), { "copy", "copy-watch" }, kind)
    -- a single key (subPath): the path still matches, the file is watched
    lu.assertEquals(decide(bind(vol .. "/key", "/etc/key"), none), { "copy", "copy-watch" }, kind)
  end
  -- the regex wants a 36-character pod uid: anything else is a plain copy
  local odd = kubelet_volume(H.mkdir(d .. "/pods/short/volumes/kubernetes.io~configmap/v"), { k = "v" })
  lu.assertEquals(decide(bind(odd, "/etc/v"), none), { "copy", "copy" })
  -- an emptyDir is no configmap
  local ed = H.mkdir(d .. POD .. "kubernetes.io~empty-dir/e")
  lu.assertEquals(decide(bind(ed, "/e"), { shared_fs = "none", disable_guest_empty_dir = true }),
    { "copy", "copy" })
end

function TestShareFile.test_no_sharing_drops_what_cannot_be_copied()
  local d = H.tmpdir("share")
  local fifo = d .. "/fifo"
  H.sh("mkfifo " .. H.q(fifo))
  local got, dec = decide(bind(fifo, "/fifo"), { shared_fs = "none" })
  lu.assertEquals(got, { "dropped", "drop" })
  lu.assertStrContains(dec.reasons[1], "fifo")
  local sock = H.make_socket(d .. "/sock")
  lu.assertEquals(decide(bind(sock, "/sock"), { shared_fs = "none" }), { "dropped", "drop" })
end

function TestShareFile.test_no_sharing_missing_source_fails()
  local d = H.tmpdir("share")
  local err = fails(bind(d .. "/gone", "/x"), { shared_fs = "none" })
  lu.assertStrContains(err, d .. "/gone")
  lu.assertStrContains(err, "cannot be copied")
end

-- ShareFile's mustCopyEmptyDir: a disk emptyDir that kata does not make in
-- the guest (disable_guest_empty_dir) is copied once for the sandbox.
function TestShareFile.test_no_sharing_disk_empty_dir_copied_once_per_pod()
  local d = H.tmpdir("share")
  local ed = H.mkdir(d .. POD .. "kubernetes.io~empty-dir/scratch")
  local got, dec = decide(bind(ed, "/scratch"), { shared_fs = "none", disable_guest_empty_dir = true })
  lu.assertEquals(got, { "copy", "copy" })
  lu.assertStrContains(dec.reasons[1], "once for the whole pod")
  -- SetEphemeralStorageType does not look at sharing: a guest emptyDir stays local
  lu.assertEquals(decide(bind(ed, "/scratch"), { shared_fs = "none" }), { "local", "guest-local" })
end

-- What comes before ShareFile is unchanged without sharing: handleShm,
-- createBlockDevices, isHostDevice, isSystemMount, the agent's own mounts.
function TestShareFile.test_no_sharing_leaves_earlier_kinds()
  local d = H.tmpdir("share")
  local none = { shared_fs = "none" }
  lu.assertEquals(decide(bind(d, "/dev/shm"), none), { "shm", "guest-shm" })
  local img = H.write(d .. "/img", "")
  lu.assertEquals(decide({ type = "ext4", source = img, destination = "/v", options = { BLOCK_FILE } }, none),
    { "block", "hotplug-block" })
  lu.assertEquals(decide(bind("/proc/self", "/p"), none), { "system", "skip" })
  lu.assertEquals(decide(bind("/dev/null", "/n"), none), { "host-device", "skip" })
  lu.assertEquals(decide({ type = "tmpfs", source = "tmpfs", destination = "/t" }, none),
    { "passthrough", "guest-mount" })
end

-- pkg/katautils/config.go sharedFS: the four kinds, anything else refused;
-- fs_sharing_supported = false stays an alias of "none".
function TestShareFile.test_kinds_checked_and_deprecated_alias()
  local d = H.tmpdir("share")
  local err = fails(bind(d, "/d"), { shared_fs = "virtiofs" })
  lu.assertStrContains(err, "invalid shared_fs 'virtiofs'")
  lu.assertStrContains(err, "virtio-fs, virtio-fs-nydus, virtio-9p, none")
  lu.assertStrContains(fails(bind(d, "/d"), { shared_fs = 1 }), "invalid shared_fs 1")
  lu.assertEquals(decide(bind(d, "/d"), { fs_sharing_supported = false }), { "copy", "copy" })
  lu.assertEquals(decide(bind(d, "/d"), { fs_sharing_supported = false, shared_fs = "virtio-fs" }),
    { "copy", "copy" })
  lu.assertEquals(decide(bind(d, "/d"), { fs_sharing_supported = true, shared_fs = "none" }),
    { "copy", "copy" })
end

-------------------------------------------------------------------------------
-- mount.go isWatchableMount (1 to 8 files), then the agent's watcher
-- (src/agent/src/watcher.rs Storage::scan_path): past MAX_ENTRIES_PER_STORAGE
-- (16) entries or MAX_SIZE_PER_WATCHABLE_MOUNT (1 MiB) it bind-mounts the
-- volume instead of watching it.
local TestWatcherLimits = {}
function TestWatcherLimits.tearDown() H.cleanup() end

local function shared_reasons(mount)
  local got, d = decide(mount)
  lu.assertEquals(got, { "shared", "share" }, mount.source)
  return table.concat(d.reasons, "\n")
end

function TestWatcherLimits.test_kubelet_configmap_watched()
  local d = H.tmpdir("watch")
  -- 3 keys: 7 files and links, 9 entries with the two directories
  local vol = kubelet_volume(H.mkdir(d .. POD .. "kubernetes.io~configmap/cfg"),
    { a = "1", b = "2", c = "3" })
  lu.assertEquals(decide(bind(vol, "/etc/cfg")), { "watchable", "share-watchable" })
end

function TestWatcherLimits.test_entries_limit()
  local d = H.tmpdir("watch")
  -- 1 file and 14 directories: 16 entries with the mount's own, watched
  local vol = H.mkdir(d .. "/kubernetes.io~configmap/dirs")
  H.write(vol .. "/key", "v")
  for i = 1, 14 do H.mkdir(("%s/d%02d"):format(vol, i)) end
  lu.assertEquals(decide(bind(vol, "/c")), { "watchable", "share-watchable" })
  -- one more: 17, shared and the reason names the agent's limit
  H.mkdir(vol .. "/d15")
  local why = shared_reasons(bind(vol, "/c"))
  lu.assertStrContains(why, "MAX_ENTRIES_PER_STORAGE (16)")
  lu.assertStrContains(why, "not watched")
end

function TestWatcherLimits.test_size_limit()
  local d = H.tmpdir("watch")
  local vol = H.mkdir(d .. "/kubernetes.io~secret/tls")
  H.write(vol .. "/a", string.rep("x", 512 * 1024))
  H.write(vol .. "/b", string.rep("y", 512 * 1024))
  -- exactly 1 MiB: watched (the agent allows size <= the limit)
  lu.assertEquals(decide(bind(vol, "/tls")), { "watchable", "share-watchable" })
  -- a link's size is its target's length, counted as the agent does
  H.symlink("a", vol .. "/c")
  local why = shared_reasons(bind(vol, "/tls"))
  lu.assertStrContains(why, "MAX_SIZE_PER_WATCHABLE_MOUNT (1048576 bytes)")
  lu.assertStrContains(why, "1048577 bytes")
end

function TestWatcherLimits.test_limits_are_params()
  local d = H.tmpdir("watch")
  local vol = H.fill(d .. "/kubernetes.io~configmap/c", 3)
  local rules = H.rules_dir({ ["75-site.lua"] = "params.watchable_max_entries = 3\n" })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local got, dec = decide(bind(vol, "/c"), nil, e)
  lu.assertEquals(got, { "shared", "share" })
  lu.assertStrContains(table.concat(dec.reasons, "\n"), "more than 3 entries")
end

-------------------------------------------------------------------------------
-- pkg/direct-volume/utils.go VolumeMountInfo and container.go
-- createBlockDevices: a mountInfo.json under
-- <root>/<base64.URLEncoding(source)>/ replaces the mount's source, type,
-- options and fsGroup, then createDeviceInfo decides: a block device node
-- or a regular file is hot-plugged. runtime-rs direct_volume.rs names the
-- vfiovol and spdkvol/spoolvol kinds.
local TestVolumeMountInfo = {}
function TestVolumeMountInfo.tearDown() H.cleanup() end

local function add_volume(root, source, json)
  local dir = H.mkdir(root .. "/" .. directvolume.base64url(source))
  H.write(dir .. "/mountInfo.json", json)
  return dir .. "/mountInfo.json"
end

function TestVolumeMountInfo.test_base64url_as_go()
  -- Go's base64.URLEncoding: URL alphabet, with padding
  lu.assertEquals(directvolume.base64url("/a/b"), "L2EvYg==")
  lu.assertEquals(directvolume.base64url("\251\255"), "-_8=")
  lu.assertEquals(directvolume.base64url("/abc"), "L2FiYw==")
  lu.assertEquals(directvolume.base64url("abc"), "YWJj")
  lu.assertEquals(directvolume.base64url(""), "")
end

function TestVolumeMountInfo.test_regular_file_device_hot_plugged()
  local root = H.tmpdir("dv")
  local d = H.tmpdir("vol")
  local src = H.mkdir(d .. "/pv")
  local disk = H.write(d .. "/disk.img", "")
  local path = add_volume(root, src, ('{"volume-type":"directvol","device":%q,"fstype":"ext4",'
    .. '"metadata":{"fsGroup":"2000"},"options":["ro","noatime"]}'):format(disk))
  local got, dec = decide(bind(src, "/data"), { direct_volumes_root = root })
  lu.assertEquals(got, { "direct-volume", "hotplug-block" })
  lu.assertEquals(dec.rule, "direct-block")
  lu.assertEquals(dec.direct_volume, { path = path, volume_type = "directvol", device = disk,
    fstype = "ext4", options = { "ro", "noatime" }, fs_group = 2000, readonly = true })
  lu.assertStrContains(dec.reasons[1], "fsGroup 2000")
  -- the source is the decision's own, as the runtime gave it
  lu.assertEquals(dec.source, src)
  -- without the root, the default one has no such volume: shared
  lu.assertEquals(decide(bind(src, "/data")), { "shared", "share" })
end

function TestVolumeMountInfo.test_block_node_and_other_devices()
  local root = H.tmpdir("dv")
  local d = H.tmpdir("vol")
  local node = d .. "/blk"
  local _, ok = H.run("mknod " .. H.q(node) .. " b 7 0")
  lu.skipIf(not ok, "cannot mknod here")
  -- (vhost-user-blk needs virtio-blk-pci or virtio-mmio: the translation checks it)
  local ctx = { direct_volumes_root = root, block_device_driver = "virtio-blk-pci" }
  add_volume(root, d .. "/a", ('{"device":%q,"fstype":"xfs"}'):format(node))
  local got, dec = decide(bind(d .. "/a", "/a"), ctx)
  lu.assertEquals(got, { "direct-volume", "hotplug-block" })
  lu.assertStrContains(dec.reasons[2], "7:0")
  -- a directory as the device: not hot-plugged, the agent mounts it
  add_volume(root, d .. "/b", ('{"device":%q,"fstype":"virtiofs"}'):format(d))
  got, dec = decide(bind(d .. "/b", "/b"), ctx)
  lu.assertEquals(got, { "direct-volume", "guest-mount" })
  lu.assertStrContains(dec.reasons[2], "type 'virtiofs'")
  -- runtime-rs kinds
  add_volume(root, d .. "/c", '{"volume-type":"vfiovol","device":"0000:3b:00.0","fstype":"ext4"}')
  lu.assertEquals(decide(bind(d .. "/c", "/c"), ctx), { "direct-volume", "vfio" })
  -- (SPDK's vhost-user sockets: the translation checks them as runtime-rs does)
  local s0, s1 = H.make_socket(d .. "/vhost.0"), H.make_socket(d .. "/vhost.1")
  add_volume(root, d .. "/e", ('{"volume-type":"spdkvol","device":%q,"fstype":"ext4"}'):format(s0))
  lu.assertEquals(decide(bind(d .. "/e", "/e"), ctx), { "direct-volume", "vhost-user-blk" })
  add_volume(root, d .. "/f", ('{"volume-type":"spoolvol","device":%q,"fstype":"ext4"}'):format(s1))
  lu.assertEquals(decide(bind(d .. "/f", "/f"), ctx), { "direct-volume", "vhost-user-blk" })
end

function TestVolumeMountInfo.test_when_kata_does_not_read_it()
  local root = H.tmpdir("dv")
  local d = H.tmpdir("vol")
  local disk = H.write(d .. "/disk.img", "")
  add_volume(root, d, ('{"device":%q,"fstype":"ext4"}'):format(disk))
  -- block devices disabled: createBlockDevices skips the mount
  lu.assertEquals(decide(bind(d, "/d"), { direct_volumes_root = root, disable_block_device_use = true }),
    { "shared", "share" })
  -- not a bind mount, not marked: createBlockDevices skips it; the file is not even read
  add_volume(root, "tmpfs", "not json")
  lu.assertEquals(decide({ type = "tmpfs", source = "tmpfs", destination = "/t" },
    { direct_volumes_root = root }), { "passthrough", "guest-mount" })
  -- the source byte for byte: "d/" is another volume
  lu.assertEquals(decide(bind(d .. "/", "/d"), { direct_volumes_root = root }), { "shared", "share" })
end

function TestVolumeMountInfo.test_bad_files_fail_clearly()
  local root = H.tmpdir("dv")
  local d = H.tmpdir("vol")
  local ctx = { direct_volumes_root = root }
  local cases = {
    { "a", "{not json", "not JSON" },
    { "b", "[1,2]", "not a JSON object" },
    { "c", '{"device":5}', "\"device\" must be a string" },
    { "e", '{"device":""}', "\"device\" is empty" },
    { "f", '{"device":"/x","options":"ro"}', "\"options\" must be a list of strings" },
    { "g", '{"device":"/x","options":["ro",1]}', "\"options\"[2] must be a string" },
    { "h", '{"device":"/x","metadata":{"fsGroup":"staff"}}', "\"fsGroup\" 'staff' is not a group id" },
    { "i", '{"device":"/x","metadata":{"k":1}}', "\"metadata\" must be an object of strings" },
    { "j", '{"device":null}', "\"device\" must be a string" },
    { "k", '{"device":"/x","o":' .. string.rep("[", 50) .. string.rep("]", 50) .. "}", "not JSON" },
  }
  for _, c in ipairs(cases) do
    local path = add_volume(root, d .. "/" .. c[1], c[2])
    local err = fails(bind(d .. "/" .. c[1], "/v"), ctx)
    lu.assertStrContains(err, path)
    lu.assertStrContains(err, c[3])
  end
  -- bigger than MAX_BYTES
  local path = add_volume(root, d .. "/big", '{"device":"/x","fstype":"' .. string.rep("e", 70000) .. '"}')
  local err = fails(bind(d .. "/big", "/v"), ctx)
  lu.assertStrContains(err, path)
  lu.assertStrContains(err, "MAX_BYTES (65536)")
  -- a FIFO would block a read: refused without opening it
  local dir = H.mkdir(root .. "/" .. directvolume.base64url(d .. "/fifo"))
  H.sh("mkfifo " .. H.q(dir .. "/mountInfo.json"))
  err = fails(bind(d .. "/fifo", "/v"), ctx)
  lu.assertStrContains(err, "not a regular file (fifo)")
  -- nor is an endless device behind a link read
  dir = H.mkdir(root .. "/" .. directvolume.base64url(d .. "/zero"))
  H.symlink("/dev/zero", dir .. "/mountInfo.json")
  lu.assertStrContains(fails(bind(d .. "/zero", "/v"), ctx), "not a regular file (char)")
  -- a bad root setting
  lu.assertStrContains(fails(bind(d, "/v"), { direct_volumes_root = "" }), "direct_volumes_root")
end

function TestVolumeMountInfo.test_plan_and_param_root()
  local root = H.tmpdir("dv")
  local d = H.tmpdir("vol")
  local disk = H.write(d .. "/disk.img", "")
  add_volume(root, d .. "/pv", ('{"device":%q,"fstype":"ext4"}'):format(disk))
  add_volume(root, d .. "/bad", "{")
  local rules = H.rules_dir({ ["45-dv.lua"] = ("params.direct_volumes_root = %q\n"):format(root) })
  local e = assert(katamount.new({ rules_path = { rules } }))
  local plan, errors = e:plan({ root = { path = d },
    mounts = { bind(d .. "/pv", "/pv"), bind(d .. "/bad", "/b") } })
  lu.assertEquals({ plan.mounts[1].class, plan.mounts[1].action }, { "direct-volume", "hotplug-block" })
  lu.assertEquals(plan.mounts[1].direct_volume.device, disk)
  lu.assertStrContains(plan.mounts[2].error, "not JSON")
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(errors[1], "mount 2 (/b)")
end

-------------------------------------------------------------------------------
-- pkg/katautils/create.go SetEphemeralStorageType and container.go
-- createEphemeralDisks/setupEphemeralDisk/createBlockDevices: with
-- emptydir_mode block-encrypted or block-plain a disk emptyDir gets a sparse
-- disk.img and a mountInfo.json, and is hot-plugged even when block devices
-- are disabled; it is never a guest-local directory then.
local TestSetupEphemeralDisk = {}
function TestSetupEphemeralDisk.tearDown() H.cleanup() end

function TestSetupEphemeralDisk.test_block_modes()
  local d = H.tmpdir("ed")
  local ed = H.mkdir(d .. POD .. "kubernetes.io~empty-dir/scratch")
  local got, dec = decide(bind(ed, "/scratch"), { emptydir_mode = "block-encrypted" })
  lu.assertEquals(got, { "block-emptydir", "hotplug-block" })
  lu.assertStrContains(dec.reasons[1], "encrypted")
  got, dec = decide(bind(ed, "/scratch"), { emptydir_mode = "block-plain", disable_block_device_use = true })
  lu.assertEquals(got, { "block-emptydir", "hotplug-block" })
  lu.assertStrContains(dec.reasons[1], "discard")
  lu.assertStrContains(dec.reasons[1], "disk.img")
  -- not a bind mount: disk.img is made, but createBlockDevices skips it
  lu.assertEquals(decide({ type = "ext4", source = ed, destination = "/s" },
    { emptydir_mode = "block-plain" }), { "passthrough", "guest-mount" })
  -- shared-fs: as before
  lu.assertEquals(decide(bind(ed, "/scratch"), { emptydir_mode = "shared-fs" }), { "local", "guest-local" })
  lu.assertEquals(decide(bind(ed, "/scratch"), { disable_guest_empty_dir = true }), { "shared", "share" })
  lu.assertStrContains(fails(bind(ed, "/s"), { emptydir_mode = "virtio-blk" }),
    "invalid emptydir_mode 'virtio-blk' (kata accepts shared-fs, block-encrypted, block-plain)")
end

function TestSetupEphemeralDisk.test_memory_empty_dirs_unchanged()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local mem = H.mount_tmpfs(d .. POD .. "kubernetes.io~empty-dir/mem")
  lu.assertEquals(decide(bind(mem, "/m"), { emptydir_mode = "block-encrypted" }),
    { "ephemeral", "guest-tmpfs" })
end

-------------------------------------------------------------------------------
-- kata_agent.go handleHugepages (and runtime-rs volume/hugepage.rs): the
-- page size is the pagesize= of the hugetlbfs (an error without one), the
-- size the pod's hugepageLimits entry for that page size.
local TestHandleHugepages = {}
function TestHandleHugepages.tearDown() H.cleanup() end

function TestHandleHugepages.test_page_bytes_as_units_RAMInBytes()
  local e = katamount.engine
  for text, want in pairs({ ["2M"] = 2097152, ["2MB"] = 2097152, ["2Mi"] = 2097152, ["2MiB"] = 2097152,
    ["1GB"] = 1073741824, ["1G"] = 1073741824, ["64KB"] = 65536, ["1.5k"] = 1536, ["4096"] = 4096 }) do
    lu.assertEquals(e:page_bytes(text), want, text)
  end
  for _, text in ipairs({ "", "M", "2X", "2MBB", "2.M", "-2M" }) do
    lu.assertNil(e:page_bytes(text), text)
  end
end

local function huge_dir()
  H.need_mounts()
  local vol = H.mkdir(H.tmpdir("hp") .. POD .. "kubernetes.io~empty-dir/huge")
  local _, ok = H.run("mount -t hugetlbfs -o pagesize=2M none " .. H.q(vol))
  lu.skipIf(not ok, "hugetlbfs cannot be mounted here")
  return vol
end

function TestHandleHugepages.test_limits_from_the_spec()
  local vol = huge_dir()
  local spec = { root = { path = "/" }, mounts = { bind(vol, "/hugepages") },
    linux = { resources = { hugepageLimits = {
      { pageSize = "1GB", limit = 2147483648 }, { pageSize = "2MB", limit = 4194304.0 } } } } }
  local plan, errors = katamount.plan(spec)
  lu.assertEquals(errors, {})
  local d = plan.mounts[1]
  lu.assertEquals({ d.class, d.action }, { "hugepages", "guest-hugetlbfs" })
  lu.assertStrContains(d.reasons[1], "pagesize=2M")
  lu.assertEquals(d.reasons[2], "pagesize=2097152,size=4194304 (the pod's hugepageLimits)")
  -- classify gets them through ctx
  local _, dec = decide(bind(vol, "/h"), { hugepage_limits = { { pageSize = "2Mi", limit = 8388608 } } })
  lu.assertStrContains(dec.reasons[2], "size=8388608")
  -- no entry for 2M pages (or a limit of 0): kata sends an empty size
  _, dec = decide(bind(vol, "/h"), { hugepage_limits = { { pageSize = "2MB", limit = 0 } } })
  lu.assertStrContains(dec.reasons[2], "pagesize=2097152,size= ")
  -- a bad pageSize fails, as units.RAMInBytes fails handleHugepages
  plan, errors = katamount.plan({ root = { path = "/" }, mounts = { bind(vol, "/h") },
    linux = { resources = { hugepageLimits = { { pageSize = "huge", limit = 1 } } } } })
  lu.assertEquals(#errors, 1)
  lu.assertStrContains(plan.mounts[1].error, "pageSize huge: not a page size")
end

-- A hugetlbfs without pagesize= cannot be mounted on Linux (the kernel
-- always shows it): a mount table file shows one, as another host might.
function TestHandleHugepages.test_no_pagesize_fails()
  local d = H.tmpdir("hp")
  local vol = d .. POD .. "kubernetes.io~empty-dir/huge"
  local mi = H.write(d .. "/mountinfo",
    "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n" ..
    ("62 1 0:38 / %s rw,relatime - hugetlbfs none rw\n"):format(vol))
  local e = assert(katamount.new({ mountinfo = mi }))
  local err = fails(bind(vol, "/h"), nil, e)
  lu.assertStrContains(err, vol)
  lu.assertStrContains(err, "no pagesize= option")
end

-------------------------------------------------------------------------------
-- kata's defaults today (src/runtime/Makefile: DEFDISABLEGUESTEMPTYDIR,
-- DEFEMPTYDIRMODE, DEFSHAREDFS_QEMU_VIRTIOFS): examples/rules, an operator
-- rules directory, loaded as a user would.
local TestKataDefaults = {}
function TestKataDefaults.tearDown() H.cleanup() end

function TestKataDefaults.test_examples_rules_directory()
  local files = {}
  for _, name in ipairs(assert(require("katamount.core").list_dir(H.root .. "/examples/rules"))) do
    if name:match("%.lua$") then files[name] = H.read(H.root .. "/examples/rules/" .. name) end
  end
  lu.assertNotNil(next(files))
  local e = assert(katamount.new({ rules_path = { H.rules_dir(files) } }))
  local p = e:params()
  lu.assertEquals({ p.disable_guest_empty_dir, p.shared_fs, p.emptydir_mode, p.disable_block_device_use },
    { true, "virtio-fs", "shared-fs", false })
  lu.assertEquals(#e:warnings(), 0)
  -- a disk emptyDir is shared, not made in the guest
  local ed = H.mkdir(H.tmpdir("kd") .. POD .. "kubernetes.io~empty-dir/scratch")
  lu.assertEquals(decide(bind(ed, "/s"), nil, e), { "shared", "share" })
  -- the bundled defaults stay the seed's
  lu.assertEquals(decide(bind(ed, "/s")), { "local", "guest-local" })
end

return {
  TestShareFile = TestShareFile,
  TestWatcherLimits = TestWatcherLimits,
  TestVolumeMountInfo = TestVolumeMountInfo,
  TestSetupEphemeralDisk = TestSetupEphemeralDisk,
  TestHandleHugepages = TestHandleHugepages,
  TestKataDefaults = TestKataDefaults,
}
