-- engine_predicates_spec.lua -- every predicate and helper of the engine:
-- the Go original's cases, and the cases it gets wrong that we get right.
local lu = require("luaunit")
local H = require("helpers")
local katamount = require("katamount")

local T = {}

local K8S = "/var/lib/kubelet/pods/366c3a75-4869-11e8-b479-507b9ddd5ce4/volumes/"

local function check(fn, cases, name)
  for _, c in ipairs(cases) do
    local got, err = fn(c[1])
    lu.assertNil(err, name .. "(" .. tostring(c[1]) .. ")")
    lu.assertEquals(got, c[2], name .. "(" .. tostring(c[1]) .. ")")
  end
end

T.TestSystemMount = { tearDown = H.cleanup }

function T.TestSystemMount.test_go_cases()
  check(katamount.is_system_mount, {
    { "/sys", true }, { "/sys/", true }, { "/sys//", true }, { "/sys/fs", true },
    { "/sys/fs/", true }, { "/sys/fs/cgroup", true }, { "/sysfoo", false }, { "/home", false },
    { "/dev/block/", false }, { "/mnt/dev/foo", false }, { "/../sys", true }, { "/../sys/", true },
    { "/../sys/fs/cgroup", true }, { "/../sysfoo", false }, { "/proc", true }, { "/proc/1/status", true },
    { "/procfoo", false }, { "/", false }, { "", false },
  }, "is_system_mount")
end

-- Upstream issue 7030: a link to / must not smuggle /proc into the guest.
function T.TestSystemMount.test_symlinks_of_an_existing_source_are_resolved()
  local d = H.tmpdir("sys")
  H.symlink("/", d .. "/root")
  H.symlink("/sys/kernel", d .. "/kernel")
  H.symlink("/proc/self", d .. "/self")
  H.mkdir(d .. "/plain")
  check(katamount.is_system_mount, {
    { d .. "/root/proc", true }, { d .. "/root/sys/fs", true }, { d .. "/root//proc/", true },
    { d .. "/kernel", true }, { d .. "/self", true },
    { d .. "/root/tmp", false }, { d .. "/plain", false }, { d .. "/root", false },
    -- missing: judged lexically only
    { d .. "/missing/proc", false },
  }, "is_system_mount")
end

function T.TestSystemMount.test_relative_names_are_no_host_paths()
  -- a relative source ("proc" of a proc mount) is never resolved against
  -- the engine's working directory
  check(katamount.is_system_mount, { { "proc", false }, { ("../"):rep(30) .. "proc", false },
    { "sysfs", false } }, "is_system_mount")
end

function T.TestSystemMount.test_bad_argument_is_an_error_not_a_crash()
  local ok, err = katamount.is_system_mount(nil)
  lu.assertNil(ok)
  lu.assertStrContains(err, "predicate 'is_system_mount'")
  lu.assertStrContains(err, "20-system.lua:")
end

T.TestHostDevice = {}
local regular = "/dev/shm/katamount-spec-regular-file"
function T.TestHostDevice.tearDown()
  os.remove(regular)
  H.cleanup()
end

function T.TestHostDevice.test_go_cases()
  H.write(regular, "x")
  check(katamount.is_host_device, {
    { "/dev", true }, { "/dev/", true }, { "/dev/zero", true }, { "/dev/null", true },
    { "/dev/pts", true }, { "/dev/shm", true }, { "/mnt/dev/foo", false }, { "/devfoo", false },
    { regular, false }, { "/dev/does-not-exist-katamount", false }, { "/tmp", false },
  }, "is_host_device")
end

-- A link from elsewhere into /dev is judged where it leads.
function T.TestHostDevice.test_symlink_into_dev()
  H.write(regular, "x")
  local d = H.tmpdir("dev")
  check(katamount.is_host_device, {
    { H.symlink("/dev/null", d .. "/null"), true },
    { H.symlink(regular, d .. "/reg"), false },
    { H.symlink("/etc", d .. "/etc"), false },
  }, "is_host_device")
end

T.TestDockerVolume = {}
function T.TestDockerVolume.test_go_cases_and_fixes()
  check(katamount.is_docker_volume, {
    { "/var/lib/docker/volumes/00da1347c7cf4f15db35f/_data", true },
    { "/var/lib/testdir", false },
    { "/var/lib/docker/volumes/x/_data/", true },
    { "/var/lib/docker/volumes//x//_data", true },
    { "/var/lib/docker/volumes/x/data", false },
    -- the Go original's plain prefix took these
    { "/var/lib/docker/volumesX/a/_data", false },
    { "/var/lib/docker/volumes/../secret/_data", false },
  }, "is_docker_volume")
end

T.TestKubernetesKinds = {}
function T.TestKubernetesKinds.test_kinds()
  local kinds = {
    { katamount.is_empty_dir, "kubernetes.io~empty-dir" },
    { katamount.is_config_map, "kubernetes.io~configmap" },
    { katamount.is_secret, "kubernetes.io~secret" },
    { katamount.is_projected, "kubernetes.io~projected" },
    { katamount.is_downward_api, "kubernetes.io~downward-api" },
  }
  for _, k in ipairs(kinds) do
    local fn, kind = k[1], k[2]
    check(fn, {
      { K8S .. kind .. "/vol", true },
      { K8S .. kind .. "/", false },
      { K8S .. kind, false },
      { kind .. "/vol", true },
      { "/" .. kind, false },
      { K8S .. "kubernetes.io~other/vol", false },
      { K8S .. kind .. "/vol/sub", false },
      -- fixed: judged after cleaning (the Go original said false)
      { K8S .. kind .. "/vol/", true },
      { K8S .. kind .. "//vol", true },
      { K8S .. kind .. "/./vol", true },
      { K8S .. "x/../" .. kind .. "/vol", true },
    }, kind)
  end
  lu.assertEquals(katamount.kubernetes_volume_kind(K8S .. "kubernetes.io~secret/s"), "kubernetes.io~secret")
  lu.assertNil(katamount.kubernetes_volume_kind("vol"))
end

T.TestEmptyDirMedium = { tearDown = H.cleanup }

function T.TestEmptyDirMedium.test_disk_empty_dir_without_mounts()
  local d = H.tmpdir("ed")
  local vol = H.mkdir(d .. "/kubernetes.io~empty-dir/cache")
  lu.assertFalse(katamount.is_ephemeral_storage(vol))
  lu.assertFalse(katamount.is_hugepage_empty_dir(vol))
  lu.assertTrue(katamount.is_host_empty_dir(vol))
  -- a missing emptyDir is not a mount point either: on disk (as in Go)
  lu.assertTrue(katamount.is_host_empty_dir(d .. "/kubernetes.io~empty-dir/missing"))
  -- not an emptyDir at all
  lu.assertFalse(katamount.is_host_empty_dir(d))
  lu.assertFalse(katamount.is_ephemeral_storage(d))
end

function T.TestEmptyDirMedium.test_tmpfs_empty_dir()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local vol = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/tmp-volume")
  lu.assertTrue(katamount.is_ephemeral_storage(vol))
  lu.assertFalse(katamount.is_host_empty_dir(vol))
  lu.assertFalse(katamount.is_hugepage_empty_dir(vol))
  -- cleaned: a trailing slash or // changes nothing
  lu.assertTrue(katamount.is_ephemeral_storage(vol .. "/"))
  lu.assertTrue(katamount.is_ephemeral_storage((vol:gsub("/kubernetes", "//kubernetes"))))
  -- a tmpfs that is not an emptyDir is not ephemeral storage
  local other = H.mount_tmpfs(d .. "/kubernetes.io~secret/s")
  lu.assertFalse(katamount.is_ephemeral_storage(other))
end

function T.TestEmptyDirMedium.test_mount_point_with_spaces()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local vol = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/my cache\tvol")
  lu.assertTrue(katamount.is_ephemeral_storage(vol))
  lu.assertFalse(katamount.is_host_empty_dir(vol))
end

function T.TestEmptyDirMedium.test_stacked_mounts_judged_on_the_visible_one()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local disk = H.disk_dir()              -- a directory on a disk file system (ext4)
  local vol = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/v")
  lu.assertTrue(katamount.is_ephemeral_storage(vol))
  H.bind(disk, vol)                     -- a disk directory on top of the tmpfs
  lu.assertFalse(katamount.is_ephemeral_storage(vol))
  lu.assertTrue(katamount.is_host_empty_dir(vol))
  H.mount_tmpfs(vol)                    -- and a tmpfs again on top
  lu.assertTrue(katamount.is_ephemeral_storage(vol))
  H.umount(vol)
  lu.assertTrue(katamount.is_host_empty_dir(vol))
end

-- Deliberate difference: the Go original matched the mount table exactly,
-- so a kubelet directory reached through a symlink was "on disk".
function T.TestEmptyDirMedium.test_kubelet_dir_behind_a_symlink()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local vol = H.mount_tmpfs(d .. "/data/kubelet/kubernetes.io~empty-dir/v")
  H.symlink(d .. "/data/kubelet", d .. "/kubelet")
  lu.assertTrue(katamount.is_ephemeral_storage(d .. "/kubelet/kubernetes.io~empty-dir/v"))
  lu.assertTrue(katamount.is_ephemeral_storage(vol))
end

function T.TestEmptyDirMedium.test_hugetlbfs_empty_dir()
  H.need_mounts()
  local d = H.tmpdir("ed")
  local vol = H.mkdir(d .. "/kubernetes.io~empty-dir/huge")
  local _, ok = H.run("mount -t hugetlbfs none " .. H.q(vol))
  lu.skipIf(not ok, "hugetlbfs cannot be mounted here")
  lu.assertTrue(katamount.is_hugepage_empty_dir(vol))
  lu.assertFalse(katamount.is_ephemeral_storage(vol))
  -- deliberate difference: the Go original called this a host (disk) emptyDir
  lu.assertFalse(katamount.is_host_empty_dir(vol))
end

-- A mount table that cannot be read is an error, not "on disk".
function T.TestEmptyDirMedium.test_lookup_failure_is_an_error()
  local e = assert(katamount.new({ rules_path = {}, mountinfo = "/nonexistent/katamount/mountinfo" }))
  local vol = K8S .. "kubernetes.io~empty-dir/v"
  for _, name in ipairs({ "is_ephemeral_storage", "is_hugepage_empty_dir", "is_host_empty_dir" }) do
    local ok, err = e[name](e, vol)
    lu.assertNil(ok, name)
    lu.assertStrContains(err, "predicate '" .. name .. "'")
    lu.assertStrContains(err, "/nonexistent/katamount/mountinfo")
  end
  -- what is no emptyDir needs no mount table
  lu.assertFalse(e:is_ephemeral_storage("/tmp"))
end

-- The engine answers mount lookups per path from statmount when it was
-- given no mountinfo file, and from its mount table when it was: both judge
-- stacked mounts and mount points with spaces on the visible mount.
function T.TestEmptyDirMedium.test_both_lookups_judge_the_visible_mount()
  H.need_mounts()
  local engines = {
    table = assert(katamount.new({ rules_path = {}, mountinfo = "/proc/self/mountinfo" })),
    default = assert(katamount.new({ rules_path = {} })),
  }
  lu.assertEquals(engines.table.helpers.mount_lookup, "table")
  lu.assertEquals(engines.default.helpers.mount_lookup,
    require("katamount.facts").statmount_usable(require("katamount.core")) and "statmount" or "table")
  local disk = H.disk_dir()              -- a directory on a disk file system (ext4)
  for name, e in pairs(engines) do
    local d = H.tmpdir("ed")
    local spaced = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/my cache\tvol")
    lu.assertTrue(e:is_ephemeral_storage(spaced), name)
    lu.assertEquals(e:mount_entry(spaced).mount_point, spaced, name)
    local vol = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/v")
    lu.assertTrue(e:is_ephemeral_storage(vol), name)
    H.bind(disk, vol)
    lu.assertFalse(e:is_ephemeral_storage(vol), name)
    lu.assertTrue(e:is_host_empty_dir(vol), name)
    H.umount(vol)
    lu.assertTrue(e:is_ephemeral_storage(vol), name)
    lu.assertTrue(e:is_host_empty_dir(d .. "/kubernetes.io~empty-dir/missing"), name)
    local _, _, errno = e:mount_entry(d .. "/kubernetes.io~empty-dir/missing")
    lu.assertEquals(errno, H.E.EINVAL, name)
  end
end


-- An emptyDir whose lookup fails for a reason other than "not a mount
-- point" is an error of that classification, not silently on disk.
function T.TestEmptyDirMedium.test_lookup_errors_fail_the_classification()
  H.need_root()
  local e = assert(katamount.new({ rules_path = {} }))
  lu.skipIf(e.helpers.mount_lookup ~= "statmount", "statmount is not used here")
  local d = H.tmpdir("ed")
  H.symlink(d .. "/loop", d .. "/loop")
  local cases = {
    { d .. "/loop/kubernetes.io~empty-dir/v", H.E.ELOOP or 40 },
    { d .. "/" .. ("x"):rep(300) .. "/kubernetes.io~empty-dir/v", H.E.ENAMETOOLONG or 36 },
  }
  for _, c in ipairs(cases) do
    local _, _, errno = e:mount_entry(c[1])
    lu.assertEquals(errno, c[2], c[1])
    local none, err = e:classify({ source = c[1], destination = "/v", type = "bind", options = { "rbind" } })
    lu.assertNil(none, c[1])
    lu.assertStrContains(err, "rule 'ephemeral'")
    local p, errs = e:plan({ root = { path = d }, mounts = {
      { source = c[1], destination = "/v", type = "bind" },
      { source = d, destination = "/d", type = "bind" } } })
    lu.assertEquals(#errs, 1)
    lu.assertNil(p.mounts[1].class)
    lu.assertEquals(p.mounts[2].class, "shared")
  end
  -- a directory without search permission, for an unprivileged runtime
  H.sh("chmod 755 " .. H.q(d) .. " && mkdir -p " .. H.q(d .. "/locked/kubernetes.io~empty-dir/v")
    .. " && chmod 700 " .. H.q(d .. "/locked"))
  local vol = d .. "/locked/kubernetes.io~empty-dir/v"
  local code = ("local k = require('katamount'); "
    .. "print(select(3, k.mount_entry(%q))); "
    .. "print(k.classify({ source = %q, destination = '/v', type = 'bind' }))"):format(vol, vol)
  local out, ok = H.run_as_nobody(code)
  lu.assertTrue(ok, out)
  lu.assertStrContains(out, "13\nnil\trule 'ephemeral'")
  lu.assertStrContains(out, "Permission denied")
  -- root may search it: an emptyDir on disk
  lu.assertEquals(e:classify({ source = vol, destination = "/v", type = "bind" }).class, "local")
end

T.TestWatchable = { tearDown = H.cleanup }

function T.TestWatchable.test_counts()
  local d = H.tmpdir("w")
  local function secret(name, n)
    local p = H.mkdir(d .. "/kubernetes.io~secret/" .. name)
    if n > 0 then H.fill(p, n) end
    return p
  end
  check(katamount.is_watchable_mount, {
    { secret("two", 2), true },
    { secret("eight", 8), true },
    { secret("nine", 9), false },
    { secret("empty", 0), false },
    { H.fill(d .. "/kubernetes.io~configmap/cm", 3), true },
    { H.fill(d .. "/kubernetes.io~projected/p", 3), false },
    { H.fill(d .. "/plain/x", 3), false },
    { d .. "/kubernetes.io~secret/missing", false },
  }, "is_watchable_mount")
  -- files in sub-directories count (the directories themselves do not, as in Go)
  local nested = secret("nested", 3)
  H.fill(nested .. "/sub", 5)
  lu.assertTrue(katamount.is_watchable_mount(nested))     -- 3 + 5 files = 8
  H.write(nested .. "/sub/f6", "")
  lu.assertFalse(katamount.is_watchable_mount(nested))
end

T.TestBlockDevices = { tearDown = H.cleanup }

function T.TestBlockDevices.test_real_sysfs()
  local st = require("katamount.core").stat("/sys/dev/block/7:0")
  lu.assertEquals(katamount.is_block_device(7, 0), st ~= nil)
  lu.assertFalse(katamount.is_block_device(0, 1))
  lu.assertFalse(katamount.is_device_mapper(0, 1))
  local ok, err = katamount.is_block_device("x", 1)
  lu.assertNil(ok)
  lu.assertStrContains(err, "is_block_device")
end

-- A fake sysfs tree through params.sysfs_root (an operator rules file).
function T.TestBlockDevices.test_device_mapper_on_a_fake_sysfs()
  local d = H.tmpdir("sysfs")
  local fake = d .. "/sys"
  H.mkdir(fake .. "/devices/virtual/block/dm-0/dm")
  H.mkdir(fake .. "/devices/pci0000:00/block/sda")
  H.mkdir(fake .. "/dev/block")
  H.symlink("../../devices/virtual/block/dm-0", fake .. "/dev/block/253:0")
  H.symlink("../../devices/pci0000:00/block/sda", fake .. "/dev/block/8:0")
  local rules = H.mkdir(d .. "/rules")
  H.write(rules .. "/50-sysfs.lua", ("params.sysfs_root = %q\n"):format(fake))
  local e = assert(katamount.new({ rules_path = { rules } }))
  lu.assertTrue(e:is_block_device(253, 0))
  lu.assertTrue(e:is_device_mapper(253, 0))
  lu.assertTrue(e:is_block_device(8, 0))
  lu.assertFalse(e:is_device_mapper(8, 0))
  lu.assertFalse(e:is_block_device(8, 1))
  lu.assertFalse(e:is_device_mapper(8, 1))
end

T.TestOptions = {}
function T.TestOptions.test_has_option()
  local opts = { "ro", "bind", "io.katacontainers.fs-opt.block_device=file" }
  lu.assertTrue(katamount.has_option(opts, "ro"))
  lu.assertTrue(katamount.has_option(opts, "bind"))
  lu.assertFalse(katamount.has_option(opts, "rw"))
  lu.assertFalse(katamount.has_option(opts, "b"))
  lu.assertFalse(katamount.has_option({}, "ro"))
  lu.assertFalse(katamount.has_option(nil, "ro"))
end

-- core.starts_with (c/rulefacts.c), the rule state's prefix test of paths
-- (rules/20-system.lua, rules/60-devices.lua): what
-- `s:find(prefix, 1, true) == 1` answers, byte for byte.
function T.TestOptions.test_starts_with()
  local d = H.rules_dir({ ["50-sw.lua"] = [[
predicate("sw", function(s, prefix) return core.starts_with(s, prefix) end)
predicate("sw_find", function(s, prefix) return s:find(prefix, 1, true) == 1 end)
]] }, "sw")
  local e = assert(katamount.new({ rules_path = { d } }))
  for _, c in ipairs({
    { "/dev/null", "/dev/", true }, { "/dev", "/dev/", false }, { "/devices", "/dev/", false },
    { "/proc/1", "/proc/", true }, { "proc", "/", false }, { "abc", "", true }, { "", "", true },
    { "", "a", false }, { "a\0b", "a\0", true }, { "a\0b", "a\0c", false }, { "ab", "abc", false },
  }) do
    local s, prefix, want = c[1], c[2], c[3]
    lu.assertEquals(e:sw(s, prefix), want, ("%q %q"):format(s, prefix))
    lu.assertEquals(e:sw_find(s, prefix), want, ("%q %q"):format(s, prefix))
  end
  -- numbers are their strings, as for the string library; other types raise
  lu.assertTrue(e:sw(1234, 12))
  local none, err = e:sw(nil, "/")
  lu.assertNil(none)
  lu.assertStrContains(err, "bad argument #1 to 'starts_with' (string expected, got nil)")
  H.cleanup()
end

-- core.path_under (c/rulefacts.c), the system rule's test of a path
-- against its prefixes (rules/20-system.lua's is_system_mount): the first
-- prefix the path is or is below, whole path elements only.
function T.TestOptions.test_path_under()
  local d = H.rules_dir({ ["50-pu.lua"] = [[
predicate("under", function(path, prefixes) return core.path_under(path, prefixes) end)
predicate("under_params", function(path) return core.path_under(path, params.system_prefixes) end)
]] }, "pu")
  local e = assert(katamount.new({ rules_path = { d } }))
  local sys = { "/proc", "/sys" }
  for _, c in ipairs({
    { "/proc", sys, "/proc" }, { "/proc/1/root", sys, "/proc" }, { "/sys/kernel", sys, "/sys" },
    { "/procfs", sys, nil }, { "/pro", sys, nil }, { "/", sys, nil }, { "proc", sys, nil },
    { "/etc", { "/" }, "/" }, { "/", { "/" }, "/" }, { "etc", { "/" }, nil },
    { "proc/1", { "proc" }, "proc" }, { "/a/b", { "/x", "/a", "/a/b" }, "/a" }, { "/a", {}, nil },
    { "/a", { "/a", nil, "/b" }, "/a" }, { "/b", { "/a", nil, "/b" }, nil },
  }) do
    lu.assertEquals(e:under(c[1], c[2]), c[3], c[1] .. " under " .. tostring(c[2][1]))
  end
  -- the params' read-only list is read through its view
  lu.assertEquals(e:under_params("/sys/fs/cgroup"), "/sys")
  lu.assertNil(e:under_params("/var"))
  -- a prefix that is not a string, or no list, raises
  local none, err = e:under("/a", { "/b", 7 })
  lu.assertNil(none)
  lu.assertStrContains(err, "path_under: prefix 2 is a number, not a string")
  none, err = e:under("/a", "/a")
  lu.assertNil(none)
  lu.assertStrContains(err, "bad argument #2 to 'path_under' (table expected, got string)")
  -- the system rule's prefixes, whole path elements: "/" covers every
  -- absolute path (before path_under, a prefix "/" covered "/" alone)
  lu.assertTrue(e:is_system_mount("/proc/1"))
  lu.assertFalse(e:is_system_mount("/procfs"))
  assert(e:set_params({ system_prefixes = { "/" } }, "spec"))
  lu.assertTrue(e:is_system_mount("/etc"))
  lu.assertFalse(e:is_system_mount("proc"))
  H.cleanup()
end

function T.TestOptions.test_has_option_prefix()
  local opts = { "ro", "io.katacontainers.fs-opt.layer=/a,ext4" }
  lu.assertTrue(katamount.has_option_prefix(opts, "io.katacontainers.fs-opt.layer="))
  lu.assertTrue(katamount.has_option_prefix(opts, "r"))
  lu.assertTrue(katamount.has_option_prefix(opts, ""))
  lu.assertFalse(katamount.has_option_prefix(opts, "io.katacontainers.fs-opt.is-layer"))
  lu.assertFalse(katamount.has_option_prefix({}, ""))
  lu.assertFalse(katamount.has_option_prefix(nil, "x"))
end

T.TestHelpers = { tearDown = H.cleanup }

function T.TestHelpers.test_device_for_path()
  H.assert_error("empty", katamount.device_for_path(""))
  local root = assert(katamount.device_for_path("/"))
  lu.assertEquals(root.mount_point, "/")
  -- host devices report their own rdev and an empty mount point (the seed)
  local null = assert(katamount.device_for_path("/dev/null"))
  lu.assertEquals({ null.major, null.minor, null.mount_point }, { 1, 3, "" })
  local dev = assert(katamount.device_for_path("/dev"))
  lu.assertEquals(dev.mount_point, "")
  H.assert_error("/dev/katamount-missing", katamount.device_for_path("/dev/katamount-missing"))
  H.assert_error("/nonexistent/x", katamount.device_for_path("/nonexistent/x"))
  lu.assertError(katamount.device_for_path, nil)
end

function T.TestHelpers.test_device_for_path_on_a_mount()
  H.need_mounts()
  local d = H.tmpdir("dfp")
  local m = H.mount_tmpfs(d .. "/m")
  H.write(m .. "/f", "x")
  local st = require("katamount.core").stat(m)
  local dev = assert(katamount.device_for_path(m .. "/f"))
  lu.assertEquals({ dev.major, dev.minor, dev.mount_point }, { st.dev_major, st.dev_minor, m })
end

function T.TestHelpers.test_count_files()
  local d = H.fill(H.tmpdir("cf") .. "/d", 5)
  lu.assertEquals(katamount.count_files(d, 8), 5)
  lu.assertEquals(katamount.count_files(d, 4), -1)
  H.assert_error(d .. "/nope", katamount.count_files(d .. "/nope", 8))
end

function T.TestHelpers.test_mount_entry()
  local e = assert(katamount.mount_entry("/proc"))
  lu.assertEquals(e.fstype, "proc")
  lu.assertEquals(katamount.mount_entry("/proc/").fstype, "proc")
  H.assert_error("/tmp/katamount-not-a-mount", katamount.mount_entry("/tmp/katamount-not-a-mount"))
  local _, _, errno = katamount.mount_entry("/tmp/katamount-not-a-mount")
  lu.assertEquals(errno, H.E.EINVAL)
end

function T.TestHelpers.test_eval_mount_path()
  local d = H.tmpdir("emp")
  H.mkdir(d .. "/src")
  H.write(d .. "/file", "x")
  H.symlink(d .. "/src", d .. "/link")
  local abs, dst = katamount.eval_mount_path(d .. "/link", d .. "/out/dir")
  lu.assertEquals(abs, require("katamount.core").realpath(d .. "/src"))
  lu.assertEquals(dst, d .. "/out/dir")
  lu.assertEquals(require("katamount.core").stat(dst).type, "directory")
  assert(katamount.eval_mount_path(d .. "/file", d .. "/out/file"))
  lu.assertEquals(require("katamount.core").stat(d .. "/out/file").type, "file")
  H.assert_error("source must be specified", katamount.eval_mount_path("", d .. "/x"))
  H.assert_error("destination must be specified", katamount.eval_mount_path(d .. "/src", ""))
  H.assert_error(d .. "/missing", katamount.eval_mount_path(d .. "/missing", d .. "/y"))
  -- an existing destination of the other type is an error
  H.assert_error("out/file", katamount.eval_mount_path(d .. "/src", d .. "/out/file"))
end

function T.TestHelpers.test_layers()
  local got = assert(katamount.layers({ "io.katacontainers.fs-opt.layer=/l/a,erofs", "ro" }))
  lu.assertEquals(#got, 1)
  lu.assertEquals(got[1], { source = "/l/a", destination = "/run/kata-containers/sandbox/layers/a",
    type = "erofs", options = {}, option = "io.katacontainers.fs-opt.layer=/l/a,erofs" })
  local none, err = katamount.layers({ "io.katacontainers.fs-opt.layer=/l/a" })
  lu.assertNil(none)
  lu.assertStrContains(err, "io.katacontainers.fs-opt.layer=/l/a")
end

return T
