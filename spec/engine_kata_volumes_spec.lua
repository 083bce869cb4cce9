-- spec/engine_kata_volumes_spec.lua -- volume decisions checked against
-- kata-containers' own code paths (kata-containers/kata-containers,
-- src/runtime/virtcontainers/ unless said): each test class names the
-- upstream file and function it follows. Real files, real mounts, scratch
-- direct-volume directories and fake mount tables.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

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
  local _, have = H.run("command -v python3")
  if have then
    local sock = d .. "/sock"
    H.sh(("python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(%q)'"):format(sock))
    lu.assertEquals(decide(bind(sock, "/sock"), { shared_fs = "none" }), { "dropped", "drop" })
  end
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

return {
  TestShareFile = TestShareFile,
  TestWatcherLimits = TestWatcherLimits,
  TestSetupEphemeralDisk = TestSetupEphemeralDisk,
  TestHandleHugepages = TestHandleHugepages,
}
