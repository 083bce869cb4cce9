-- engine_table_spec.lua -- the decision table of DESIGN.md, row by row,
-- against real files, tmpfs, hugetlbfs, loop and bind mounts; the root
-- filesystem and its layers; plan, explain, ctx settings and memoisation.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local katamount = require("katamount")

local T = {}

local LAYER = "io.katacontainers.fs-opt.is-layer"
local BLOCK_FILE = "io.katacontainers.fs-opt.block_device=file"

local bind = H.bind_mount

-- classify must give class/action/rule
local function expect(mount, class, action, rule, ctx, e)
  local d, err = (e or katamount.engine):classify(mount, ctx)
  lu.assertNil(err, mount.source)
  lu.assertEquals({ d.class, d.action, d.rule }, { class, action, rule or class }, mount.source)
  lu.assertEquals(d.source, mount.source)
  lu.assertEquals(d.destination, mount.destination)
  lu.assertIsTable(d.reasons)
  lu.assertIsString(d.reasons[1])
  return d
end

T.TestDecisionTable = { tearDown = H.cleanup }
local D = T.TestDecisionTable

function D.test_rules_are_the_table_in_its_order()
  local names = {}
  for _, r in ipairs(katamount.rules()) do
    names[#names + 1] = r.name
    lu.assertIsNumber(r.order)
    lu.assertStrContains(r.file, "rules/")
    lu.assertTrue(r.line > 0)
  end
  lu.assertEquals(names, { "layer", "layer-dropped", "shm", "system", "ephemeral", "hugepages",
    "block-emptydir", "local", "direct-vfio", "direct-spdk", "direct-block", "direct-mount", "block",
    "passthrough", "host-device", "watchable", "copy-watch", "copy", "dropped", "shared",
    "rootfs-guest-pull", "rootfs-nydus", "rootfs-erofs", "rootfs-overlay", "rootfs-blockfile",
    "rootfs-block", "rootfs-share" })
  local r = katamount.rules()[1]
  lu.assertEquals({ r.order, r.scope, r.class, r.action }, { 0, "mount", "layer", "overlay-layer" })
  lu.assertStrContains(r.file, "10-layers.lua")
end

function D.test_row0_layer_before_everything()
  local d = H.tmpdir("t")
  H.write(d .. "/layer.img", "")
  local got = expect({ source = d .. "/layer.img", destination = "/l", type = "ext4",
    options = { LAYER, BLOCK_FILE } }, "layer", "overlay-layer")
  lu.assertStrContains(got.reasons[1], "hot-plugged")
  -- tried before the system row: an is-layer mount is a layer or nothing
  expect({ source = "/proc/1", destination = "/l", type = "bind", options = { "rbind", LAYER } },
    "layer", "drop", "layer-dropped")
  -- a layer that is not hot-plugged is dropped
  got = expect({ source = d .. "/layer.img", destination = "/l", type = "ext4", options = { LAYER } },
    "layer", "drop", "layer-dropped")
  lu.assertStrContains(got.reasons[1], "kata removes it")
end

function D.test_row1_system()
  expect(bind("/proc/self"), "system", "skip")
  expect(bind("/sys/kernel/"), "system", "skip")
  expect(bind("/../sys"), "system", "skip")
  local d = H.tmpdir("t")
  H.symlink("/", d .. "/root")
  expect(bind(d .. "/root/proc"), "system", "skip")
  -- not bind: still skipped (the source decides)
  expect({ source = "/proc", destination = "/proc", type = "proc" }, "system", "skip")
end

function D.test_row2_ephemeral()
  H.need_mounts()
  local d = H.tmpdir("t")
  local vol = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/scratch")
  expect(bind(vol), "ephemeral", "guest-tmpfs")
  expect(bind(vol .. "/"), "ephemeral", "guest-tmpfs")
  expect(bind((vol:gsub("~empty%-dir/", "~empty-dir//"))), "ephemeral", "guest-tmpfs")
  local spaced = H.mount_tmpfs(d .. "/kubernetes.io~empty-dir/a b")
  expect(bind(spaced), "ephemeral", "guest-tmpfs")
end

function D.test_row3_hugepages()
  H.need_mounts()
  local d = H.tmpdir("t")
  local vol = H.mkdir(d .. "/kubernetes.io~empty-dir/huge")
  local _, ok = H.run("mount -t hugetlbfs none " .. H.q(vol))
  lu.skipIf(not ok, "hugetlbfs cannot be mounted here")
  expect(bind(vol), "hugepages", "guest-hugetlbfs")
  -- with guest emptyDirs disabled it is still made in the guest (rows 2-3 do not look)
  expect(bind(vol), "hugepages", "guest-hugetlbfs", nil, { disable_guest_empty_dir = true })
end

function D.test_row4_local()
  local d = H.tmpdir("t")
  local vol = H.mkdir(d .. "/kubernetes.io~empty-dir/data")
  expect(bind(vol), "local", "guest-local")
  expect(bind(vol .. "/"), "local", "guest-local")
  -- guest emptyDir disabled: shared like any bind mount
  expect(bind(vol), "shared", "share", nil, { disable_guest_empty_dir = true })
end

function D.test_row4_error_when_the_mount_table_cannot_be_read()
  local e = assert(katamount.new({ rules_path = {}, mountinfo = "/nonexistent/mountinfo" }))
  local d, err = e:classify(bind("/k/kubernetes.io~empty-dir/v"))
  lu.assertNil(d)
  lu.assertStrContains(err, "rule 'ephemeral'")
  lu.assertStrContains(err, "30-kubernetes.lua:")
  lu.assertStrContains(err, "/nonexistent/mountinfo")
  -- the other rows do not need the mount table
  expect(bind("/tmp"), "shared", "share", nil, nil, e)
end

local function block_node(d)
  local node = d .. "/blk"
  local _, ok = H.run("mknod " .. H.q(node) .. " b 7 0")
  lu.skipIf(not ok, "cannot mknod here")
  return node
end

function D.test_row5_block()
  H.need_root()
  local d = H.tmpdir("t")
  local node = block_node(d)
  local got = expect(bind(node), "block", "hotplug-block")
  lu.assertStrContains(got.reasons[1], "7:0")
  -- a regular file marked as a block device image
  local img = H.write(d .. "/disk.img", "")
  expect(bind(img, "/disk", { BLOCK_FILE }), "block", "hotplug-block")
  -- not marked: shared
  expect(bind(img, "/disk"), "shared", "share")
  -- a directory with the mark is no block device
  expect(bind(d, "/disk", { BLOCK_FILE }), "shared", "share")
  -- block devices disabled
  expect(bind(node), "shared", "share", nil, { disable_block_device_use = true })
  expect(bind(img, "/disk", { BLOCK_FILE }), "shared", "share", nil, { disable_block_device_use = true })
  -- a /dev block device: hot-plugged, and skipped as a host device when disabled
  if core.stat("/dev/loop0") then
    expect(bind("/dev/loop0"), "block", "hotplug-block")
    expect(bind("/dev/loop0"), "host-device", "skip", nil, { disable_block_device_use = true })
  end
  -- not a bind mount: the agent mounts it
  expect({ source = node, destination = "/disk", type = "ext4" }, "passthrough", "guest-mount")
end

function D.test_row6_passthrough()
  expect({ source = "proc", destination = "/proc", type = "proc" }, "passthrough", "guest-mount")
  expect({ source = "tmpfs", destination = "/dev", type = "tmpfs", options = { "nosuid" } },
    "passthrough", "guest-mount")
  expect({ source = "devpts", destination = "/dev/pts", type = "devpts" }, "passthrough", "guest-mount")
  -- a tmpfs on /dev/shm is the shm row's (tried right after the layers, as
  -- kata's handleShm is): see test_row7_shm
  expect({ source = "shm", destination = "/dev/shm/", type = "tmpfs" }, "passthrough", "guest-mount")
  -- a bind mount by option, whatever its type
  expect({ source = "/tmp", destination = "/t", type = "none", options = { "bind" } }, "shared", "share")
  expect({ source = "/tmp", destination = "/t", options = { "rbind", "ro" } }, "shared", "share")
end

function D.test_row7_shm()
  local d = H.tmpdir("t")
  local shm = H.mkdir(d .. "/shm")
  expect(bind(shm, "/dev/shm"), "shm", "guest-shm")
  -- kata compares the destination byte for byte: an ordinary bind mount
  expect(bind(shm, "/dev/shm/"), "shared", "share")
  -- whatever its type (containerd's default outside Kubernetes is a tmpfs)
  expect({ source = "shm", destination = "/dev/shm", type = "tmpfs",
           options = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } }, "shm", "guest-shm")
  -- before the host-device row
  expect(bind("/dev/shm", "/dev/shm"), "shm", "guest-shm")
end

function D.test_row8_host_device()
  expect(bind("/dev/null", "/dev/null"), "host-device", "skip")
  expect(bind("/dev", "/dev"), "host-device", "skip")
  expect(bind("/dev/pts"), "host-device", "skip")
  -- a /dev path missing on the host
  local got = expect(bind("/dev/katamount-missing", "/x"), "host-device", "skip")
  lu.assertStrContains(got.reasons[1], "missing")
  -- the source decides, not the destination
  local d = H.tmpdir("t")
  expect(bind(d, "/dev/foo"), "shared", "share")
end

function D.test_row9_watchable()
  local d = H.tmpdir("t")
  local cm = H.fill(d .. "/kubernetes.io~configmap/cfg", 3)
  local secret = H.fill(d .. "/kubernetes.io~secret/token", 8)
  local big = H.fill(d .. "/kubernetes.io~secret/big", 9)
  local empty = H.mkdir(d .. "/kubernetes.io~configmap/empty")
  expect(bind(cm, "/etc/cfg"), "watchable", "share-watchable")
  expect(bind(secret, "/run/secret"), "watchable", "share-watchable")
  expect(bind(cm .. "/", "/etc/cfg"), "watchable", "share-watchable")
  expect(bind(big, "/run/secret"), "shared", "share")
  expect(bind(empty, "/etc/cfg"), "shared", "share")
  -- no shared file system (the deprecated boolean): copied, not shared
  expect(bind(cm, "/etc/cfg"), "copy", "copy", nil, { fs_sharing_supported = false })
end

function D.test_row10_shared()
  local d = H.tmpdir("t")
  expect(bind(d, "/data"), "shared", "share")
  expect(bind(H.write(d .. "/f", "x"), "/f"), "shared", "share")
  -- a missing source is shared too (the agent reports it)
  expect(bind(d .. "/missing", "/m"), "shared", "share")
  expect(bind("/var/lib/docker/volumes/v/_data", "/v"), "shared", "share")
end

T.TestRootfs = { tearDown = H.cleanup }
local R = T.TestRootfs

local function rootfs(spec, ctx)
  local p, errs = katamount.plan(spec, ctx)
  lu.assertEquals(errs, {})
  return p.rootfs, p
end

function R.test_share_and_missing_path()
  local d = H.tmpdir("r")
  local r = rootfs({ root = { path = d } })
  lu.assertEquals({ r.class, r.action, r.rule }, { "rootfs", "share", "rootfs-share" })
  lu.assertEquals(r.source, d)
  lu.assertEquals(r.destination, "/")
  -- a missing root filesystem fails, naming the path
  for _, c in ipairs({ { { root = { path = d .. "/missing" } } },
                       { {}, { rootfs = { source = d .. "/missing" } } } }) do
    local p, errs = katamount.plan(c[1], c[2])
    lu.assertEquals(#errs, 1)
    lu.assertStrContains(errs[1], d .. "/missing")
    lu.assertStrContains(p.rootfs.error, "does not exist")
    lu.assertNil(p.rootfs.class)
  end
end

function R.test_hotplug_block_on_a_loop_device()
  H.need_mounts()
  local mnt = H.disk_dir("r")           -- ext4 on a loop device
  local d = H.tmpdir("r")
  local r = rootfs({ root = { path = mnt } })
  lu.assertEquals({ r.class, r.action, r.rule }, { "rootfs", "hotplug-block", "rootfs-block" })
  -- a directory inside the mounted device too
  H.mkdir(mnt .. "/sub")
  r = rootfs({}, { rootfs = { source = mnt .. "/sub", target = "/run/rootfs", type = "ext4" } })
  lu.assertEquals(r.action, "hotplug-block")
  lu.assertEquals(r.destination, "/run/rootfs")
  -- disabled
  r = rootfs({ root = { path = mnt } }, { disable_block_device_use = true })
  lu.assertEquals(r.action, "share")
  -- a tmpfs is no block device
  local t = H.mount_tmpfs(d .. "/tmpfs-root")
  r = rootfs({ root = { path = t } })
  lu.assertEquals(r.action, "share")
end

function R.test_block_device_node_as_rootfs()
  lu.skipIf(core.stat("/dev/loop0") == nil, "no /dev/loop0")
  local r = rootfs({}, { rootfs = { source = "/dev/loop0", type = "ext4", mounted = false } })
  lu.assertEquals(r.action, "hotplug-block")
end

function R.test_overlay_and_layers()
  local d = H.tmpdir("r")
  H.write(d .. "/l2.img", "")
  local P = "io.katacontainers.fs-opt.layer="
  local r, p = rootfs({ root = { path = d } }, { rootfs = { source = d, type = "overlay", options = {
    P .. d .. "/l1.img,erofs", "lowerdir=x", P .. d .. "/l2.img,ext4,ro," .. BLOCK_FILE .. "," .. LAYER } } })
  lu.assertEquals({ r.class, r.action, r.rule }, { "rootfs", "overlay", "rootfs-overlay" })
  lu.assertStrContains(r.reasons[1], "2 layer option(s), 1 layer(s) hot-plugged")
  lu.assertEquals(#p.layers, 2)
  local l1, l2 = p.layers[1], p.layers[2]
  -- no is-layer option: an ordinary mount (not a bind mount: the agent's)
  lu.assertEquals({ l1.class, l1.action, l1.rule }, { "passthrough", "guest-mount", "passthrough" })
  lu.assertEquals(l1.destination, "/run/kata-containers/sandbox/layers/l1.img")
  lu.assertNil(l1.mount_point)
  lu.assertEquals(l1.source, d .. "/l1.img")
  lu.assertEquals(l1.type, "erofs")
  lu.assertEquals(l1.options, {})
  lu.assertEquals(l1.option, P .. d .. "/l1.img,erofs")
  -- exactly its own options
  lu.assertEquals(l2.options, { "ro", BLOCK_FILE, LAYER })
  lu.assertEquals({ l2.class, l2.action }, { "layer", "overlay-layer" })
  lu.assertStrContains(l2.reasons[1], "hot-plugged")
end

function R.test_bad_layer_option_is_an_error_naming_it()
  local d = H.tmpdir("r")
  local bad = "io.katacontainers.fs-opt.layer=" .. d .. "/only-source"
  local p, errs = katamount.plan({ mounts = { bind(d) } }, { rootfs = { source = d, options = {
    bad, "io.katacontainers.fs-opt.layer=" .. d .. "/ok,erofs" } } })
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(errs[1], bad)
  lu.assertEquals(#p.layers, 2)
  lu.assertStrContains(p.layers[1].error, bad)
  lu.assertNil(p.layers[1].class)
  lu.assertEquals(p.layers[2].class, "passthrough")
  -- the rest is decided all the same
  lu.assertEquals(p.mounts[1].class, "shared")
  lu.assertEquals(p.rootfs.action, "overlay")
end

function R.test_no_root_at_all()
  local p, errs = katamount.plan({ mounts = {} })
  lu.assertEquals(#errs, 1)
  lu.assertStrContains(errs[1], "root")
  lu.assertIsString(p.rootfs.error)
end

T.TestPlan = { tearDown = H.cleanup }
local P = T.TestPlan

-- A pod's worth of mounts: the OCI defaults, Kubernetes volumes, binds.
local function pod(d)
  local ed = H.mkdir(d .. "/volumes/kubernetes.io~empty-dir/cache")
  local cm = H.fill(d .. "/volumes/kubernetes.io~configmap/cfg", 2)
  local sec = H.fill(d .. "/volumes/kubernetes.io~secret/token", 3)
  local data = H.mkdir(d .. "/data")
  local hosts = H.write(d .. "/etc-hosts", "127.0.0.1 localhost\n")
  return {
    ociVersion = "1.0.2",
    root = { path = d },
    mounts = {
      { destination = "/proc", type = "proc", source = "proc" },
      { destination = "/dev", type = "tmpfs", source = "tmpfs", options = { "nosuid", "strictatime" } },
      { destination = "/dev/pts", type = "devpts", source = "devpts" },
      { destination = "/dev/shm", type = "bind", source = d, options = { "rbind" } },
      { destination = "/dev/mqueue", type = "mqueue", source = "mqueue" },
      { destination = "/sys", type = "sysfs", source = "sysfs", options = { "ro" } },
      { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup" },
      { destination = "/etc/hosts", type = "bind", source = hosts, options = { "rbind", "ro" } },
      { destination = "/cache", type = "bind", source = ed, options = { "rbind" } },
      { destination = "/etc/cfg", type = "bind", source = cm, options = { "rbind", "ro" } },
      { destination = "/run/secrets/token", type = "bind", source = sec, options = { "rbind", "ro" } },
      { destination = "/data", type = "bind", source = data, options = { "rbind" } },
      { destination = "/dev/null", type = "bind", source = "/dev/null", options = { "rbind" } },
      { destination = "/host-proc", type = "bind", source = "/proc/1", options = { "rbind" } },
    },
  }
end

function P.test_plan_keeps_order_and_decides_everything()
  local d = H.tmpdir("p")
  local spec = pod(d)
  local p, errs = katamount.plan(spec)
  lu.assertEquals(errs, {})
  local got = {}
  for i, m in ipairs(p.mounts) do
    lu.assertEquals(m.destination, spec.mounts[i].destination)
    got[i] = m.class
  end
  lu.assertEquals(got, { "passthrough", "passthrough", "passthrough", "shm", "passthrough",
    "passthrough", "passthrough", "shared", "local", "watchable", "watchable", "shared",
    "host-device", "system" })
  lu.assertEquals(p.rootfs.action, "share")
  lu.assertEquals(p.layers, {})
  -- nothing explained unless asked
  lu.assertNil(p.mounts[1].trace)
end

function P.test_explain_traces_every_rule_tried()
  local d = H.tmpdir("p")
  local p = katamount.plan(pod(d), { explain = true })
  local shared = p.mounts[8]     -- /etc/hosts: every rule up to the last
  lu.assertEquals(#shared.trace, 20)
  for i, t in ipairs(shared.trace) do
    lu.assertIsString(t.name)
    lu.assertIsString(t.why)
    lu.assertIsBoolean(t.matched)
    lu.assertEquals(t.matched, i == 20, t.name)
    lu.assertStrContains(t.file, "rules/")
  end
  lu.assertEquals(shared.trace[1].name, "layer")
  lu.assertEquals(shared.trace[2].name, "layer-dropped")
  lu.assertEquals(shared.trace[3], { name = "shm", order = 50, matched = false,
    why = "the destination is not /dev/shm", file = shared.trace[3].file, line = shared.trace[3].line })
  lu.assertEquals(shared.trace[20].name, "shared")
  lu.assertEquals(shared.trace[13].why, "neither a block device node nor a file marked as one")
  local sys = p.mounts[14]
  lu.assertEquals(#sys.trace, 4)
  lu.assertEquals(sys.trace[4], { name = "system", order = 100, matched = true, why = sys.reasons[1],
    file = sys.trace[4].file, line = sys.trace[4].line })
  lu.assertEquals(p.rootfs.trace[1].name, "rootfs-guest-pull")
  lu.assertFalse(p.rootfs.trace[1].matched)
  local d1 = katamount.classify(bind("/proc/1"), { explain = true })
  lu.assertEquals(#d1.trace, 4)
end

function P.test_undecidable_mounts_do_not_stop_the_plan()
  local d = H.tmpdir("p")
  local e = assert(katamount.new({ rules_path = {}, mountinfo = "/nonexistent/mountinfo" }))
  local spec = { root = { path = d }, mounts = {
    bind(d, "/a"),
    bind("/k/kubernetes.io~empty-dir/v", "/b"),
    { source = 5, destination = "/c" },
    "not a table",
    bind("/proc/1", "/e"),
  } }
  local p, errs = e:plan(spec)
  lu.assertEquals(#errs, 3)
  lu.assertStrContains(errs[1], "mount 2 (/b)")
  lu.assertStrContains(errs[1], "rule 'ephemeral'")
  lu.assertStrContains(errs[2], "mount 3")
  lu.assertStrContains(errs[2], "source must be a string")
  lu.assertStrContains(errs[3], "mount 4")
  lu.assertEquals(p.mounts[1].class, "shared")
  lu.assertNil(p.mounts[2].class)
  lu.assertStrContains(p.mounts[2].error, "/nonexistent/mountinfo")
  lu.assertEquals(p.mounts[2].destination, "/b")
  lu.assertNil(p.mounts[3].class)
  lu.assertEquals(p.mounts[5].class, "system")
  lu.assertEquals(p.rootfs.action, "share")
  -- classify says nil, message
  local none, err = e:classify(bind("/k/kubernetes.io~empty-dir/v"))
  lu.assertNil(none)
  lu.assertStrContains(err, "rule 'ephemeral'")
  none, err = e:classify({ source = {}, destination = "/x" })
  lu.assertNil(none)
  lu.assertStrContains(err, "source must be a string")
  lu.assertError(e.classify, e, "not a table")
  lu.assertError(e.plan, e, nil)
end

function P.test_ctx_over_params_and_ctx_untouched()
  local d = H.tmpdir("p")
  local vol = H.mkdir(d .. "/kubernetes.io~empty-dir/data")
  local ctx = { disable_guest_empty_dir = true }
  expect(bind(vol), "shared", "share", nil, ctx)
  lu.assertEquals(ctx, { disable_guest_empty_dir = true })
  -- the defaults are the seed runtime's
  local params = katamount.params()
  lu.assertEquals({ params.disable_guest_empty_dir, params.disable_block_device_use,
    params.fs_sharing_supported, params.watchable_max_files, params.shared_fs, params.emptydir_mode },
    { false, false, true, 8, "virtio-fs", "shared-fs" })
  lu.assertEquals(params.system_prefixes, { "/proc", "/sys" })
end

-- An engine given a mountinfo file: a plan reads the mount table at most
-- once, and not at all when it has not changed since the engine last read it.
function P.test_plan_reads_the_mount_table_at_most_once()
  H.need_mounts()
  local d = H.tmpdir("p")
  local spec = pod(d)
  for i = 1, 6 do
    local v = H.mount_tmpfs(d .. "/volumes/kubernetes.io~empty-dir/t" .. i)
    spec.mounts[#spec.mounts + 1] = bind(v, "/t" .. i)
  end
  -- the rules run in the engine's rule state: its core calls are counted there
  local e = assert(katamount.new({ rules_path = {}, mountinfo = "/proc/self/mountinfo", _spy = true }))
  local reads = 0
  local function count()
    for key, c in pairs(e:_spied()) do
      if key:sub(1, 7) == "mounts " then reads = reads + c end
    end
  end
  lu.assertEquals(e.helpers.mount_lookup, "table")
  local p, errs = e:plan(spec)
  count()
  lu.assertEquals(errs, {})
  lu.assertEquals(p.mounts[#p.mounts].class, "ephemeral")
  lu.assertEquals(reads, 1)
  e:plan(spec)
  count()
  lu.assertEquals(reads, 1)           -- nothing changed: not read again
  H.mount_tmpfs(d .. "/volumes/kubernetes.io~empty-dir/late")
  e:plan(spec)
  count()
  lu.assertEquals(reads, 2)           -- changed: read once more
end

-- An engine without a mountinfo file asks the kernel per path (statmount):
-- no mount table is read, each emptyDir is asked once per plan, and a mount
-- made between two plans is seen at once.
function P.test_plan_asks_statmount_once_per_path()
  H.need_mounts()
  local e = assert(katamount.new({ rules_path = {} }))
  lu.skipIf(e.helpers.mount_lookup ~= "statmount", "statmount is not used here")
  local d = H.tmpdir("p")
  local spec = pod(d)
  for i = 1, 6 do
    local v = H.mount_tmpfs(d .. "/volumes/kubernetes.io~empty-dir/t" .. i)
    spec.mounts[#spec.mounts + 1] = bind(v, "/t" .. i)
    spec.mounts[#spec.mounts + 1] = bind(v .. "/", "/u" .. i)       -- the same path, cleaned
  end
  local late = H.mkdir(d .. "/volumes/kubernetes.io~empty-dir/late")
  spec.mounts[#spec.mounts + 1] = bind(late, "/late")
  -- the rules run in the engine's rule state: its core calls are counted there
  e = assert(katamount.new({ rules_path = {}, _spy = true }))
  local reads, asked
  local function count()
    reads, asked = 0, {}
    for key, c in pairs(e:_spied()) do
      if key:sub(1, 7) == "mounts " then reads = reads + c end
      local path = key:match("^mount_entry (.-) $")
      if path then asked[path] = (asked[path] or 0) + c end
    end
  end
  local p, errs = e:plan(spec)
  count()
  lu.assertEquals(errs, {})
  lu.assertEquals(p.mounts[#p.mounts - 1].class, "ephemeral")
  lu.assertEquals(p.mounts[#p.mounts].class, "local")
  lu.assertEquals(reads, 0)
  local n = 0
  for path, c in pairs(asked) do
    n = n + 1
    lu.assertEquals(c, 1, path)
  end
  lu.assertEquals(n, 8)               -- the pod's own emptyDir, t1..t6 and late
  H.mount_tmpfs(late)
  p = e:plan(spec)
  count()
  lu.assertEquals(p.mounts[#p.mounts].class, "ephemeral")   -- fresh, no re-read
  lu.assertEquals(asked[late], 1)
  lu.assertEquals(reads, 0)
end

-- Facts are memoised: within one decision each path is stat'ed at most once.
function P.test_facts_are_memoised_per_decision()
  local d = H.tmpdir("p")
  -- the rules run in the engine's rule state: its core calls are counted there
  local e = assert(katamount.new({ rules_path = {}, _spy = true }))
  local WATCHED = { stat = true, lstat = true, realpath = true, count_files = true, block_device = true }
  local counts
  local function spied()
    counts = {}
    for key, c in pairs(e:_spied()) do
      if WATCHED[key:match("^(%S+)")] then counts[key] = c end
    end
  end
  local function at_most_once(what)
    spied()
    local n = 0
    for key, c in pairs(counts) do
      n = n + 1
      lu.assertEquals(c, 1, what .. ": " .. key .. " asked " .. c .. " times")
    end
    lu.assertTrue(n > 0, what)
  end
  local cm = H.fill(d .. "/kubernetes.io~configmap/cfg", 2)
  e:_spied()
  lu.assertEquals(e:classify(bind(cm)).class, "watchable")
  at_most_once("watchable")
  lu.assertEquals(e:classify(bind("/dev/katamount-missing")).class, "host-device")
  at_most_once("missing /dev path")
  lu.assertEquals(e:classify(bind(d .. "/x")).class, "shared")   -- every rule tried
  at_most_once("shared")
  -- one plan shares its facts: /dev/null is stat'ed once for both mounts
  local p = e:plan({ root = { path = "/dev/loop0" }, mounts = { bind("/dev/null"), bind("/dev/null") } })
  lu.assertEquals(p.mounts[2].class, "host-device")
  at_most_once("plan")
  lu.assertEquals(counts["stat /dev/null "], 1)
end

-- The root filesystem is stat'ed once: the rootfs rules stat it
-- (rootfs_path: kata's ResolvePath), and its device walk starts from that
-- stat (kata's getDeviceForPath stats it again; the walk's answer is the
-- same, core_path_spec checks it).
function P.test_rootfs_stat_once_for_its_device()
  local d = H.tmpdir("r")
  local e = assert(katamount.new({ rules_path = {}, _spy = true }))
  e:_spied()
  local p = e:plan({ root = { path = d }, mounts = {} })
  lu.assertEquals(p.rootfs.class, "rootfs")
  local stats, walks = 0, {}
  for key, c in pairs(e:_spied()) do
    if key == "stat " .. d .. " " then stats = stats + c end
    local dev = key:match("^device_for_path " .. d:gsub("%p", "%%%0") .. " (%d+)$")
    if dev then walks[#walks + 1] = tonumber(dev) end
  end
  lu.assertEquals(stats, 1)
  lu.assertEquals(walks, { core.stat(d).dev })
end

T.TestFacts = { tearDown = H.cleanup }

-- The facts a rule sees on `m`, against a real tmpfs reached by a symlink.
function T.TestFacts.test_mount_facts()
  H.need_mounts()
  local d = H.tmpdir("f")
  local t = H.fill(H.mount_tmpfs(d .. "/t"), 3)
  local link = H.symlink(t, d .. "/link")
  local rules = H.mkdir(d .. "/rules")
  H.write(rules .. "/50-facts.lua", [[
    rule { name = "facts", order = 1, class = "f", action = "a",
      when = function(m)
        local dev = m:device()
        return true, { m:stat().type, m:lstat().type, m:fs_type(), tostring(m:file_count(8)),
          tostring(m:file_count(2)), m:realpath(), m:mount_entry().fstype, dev.mount_point,
          m:clean_source(), m.scope }
      end }
  ]])
  local e = assert(katamount.new({ rules_path = { rules } }))
  local got = assert(e:classify(bind(link .. "/", "/facts")))
  local real = core.realpath(t)
  -- lstat of "link/" follows the link (the trailing slash); device_for_path walks the
  -- lexical parents (as the seed): the mount point is the link's path
  lu.assertEquals(got.reasons, { "directory", "directory", "tmpfs", "3", "-1", real, "tmpfs", link, link,
    "mount" })
  got = assert(e:classify(bind(link, "/facts")))
  lu.assertEquals(got.reasons[2], "link")
  -- a missing source: each fact fails with nil, message, errno
  H.write(rules .. "/50-facts.lua", [[
    rule { name = "facts", order = 1, class = "f", action = "a",
      when = function(m)
        local out = {}
        for _, f in ipairs({ "stat", "lstat", "fs_type", "realpath", "mount_entry", "device" }) do
          local v, msg, errno = m[f](m)
          out[#out + 1] = f .. ":" .. tostring(v) .. ":" .. tostring(errno) .. ":"
            .. tostring(msg and msg:find(m.source, 1, true) ~= nil)
        end
        return true, out
      end }
  ]])
  assert(e:reload())
  got = assert(e:classify(bind(d .. "/missing", "/facts")))
  lu.assertEquals(got.reasons, { "stat:nil:2:true", "lstat:nil:2:true", "fs_type:nil:2:true",
    "realpath:nil:2:true", "mount_entry:nil:22:true", "device:nil:2:true" })
end

return T
