-- spec/core_mounts_spec.lua -- the mount table of katamount.core: the
-- mountinfo parser on fixture files (escapes, stacked, malformed, optional
-- fields, a last line without newline), the live /proc/self/mountinfo against
-- findmnt, real tmpfs and bind mounts made in the private namespace (the
-- statmount answer of mount_entry equals the mountinfo answer), t:changed(),
-- is_mount_point, and every error return.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

local FIX = "spec/fixtures/"
local INFO = "/proc/self/mountinfo"

local function mount_points(t)
  local mps = {}
  for e in t:entries() do mps[#mps + 1] = e.mount_point end
  return mps
end

local function sorted_keys(e)
  local ks = {}
  for k in pairs(e) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

local ENTRY_KEYS = { "fstype", "id", "major", "minor", "mount_point", "optional", "options",
                     "parent", "root", "source", "super_options" }

local function tmpfile(content)
  local d = H.tmpdir("mi")
  return H.write(d .. "/mountinfo", content)
end

---------------------------------------------------------------- fixtures

local TestMountinfoFixtures = {}
function TestMountinfoFixtures.tearDown() H.cleanup() end

function TestMountinfoFixtures.test_entry_shape()
  local t = assert(core.mounts(FIX .. "mountinfo-escapes"))
  local e = t:lookup("/")
  lu.assertEquals(sorted_keys(e), ENTRY_KEYS)
  lu.assertEquals(e, {
    id = 26, parent = 1, major = 254, minor = 0, root = "/", mount_point = "/",
    options = { "rw", "relatime" }, fstype = "ext4", source = "/dev/vda",
    super_options = { "rw", "discard" }, optional = {},
  })
  for _, v in ipairs({ e.id, e.parent, e.major, e.minor }) do
    lu.assertEquals(math.type(v), "integer")
  end
end

function TestMountinfoFixtures.test_escapes_decoded_in_every_field()
  local t = assert(core.mounts(FIX .. "mountinfo-escapes"))
  lu.assertEquals(#t, 9)
  lu.assertEquals(t:lookup("/mnt/with space").id, 100)
  lu.assertEquals(t:lookup("/mnt/tab\there").id, 101)
  lu.assertEquals(t:lookup("/mnt/new\nline").id, 102)
  lu.assertEquals(t:lookup("/mnt/back\\slash").id, 103)
  lu.assertNil(t:lookup("/mnt/with\\040space"), "the escaped form is not a key")
  local b = t:lookup("/mnt/bind of data")
  lu.assertEquals(b.root, "/srv/data dir")
  lu.assertEquals(b.source, "/dev/disk x")
  local o = t:lookup("/mnt/opts")
  lu.assertEquals(o.source, "user@host:/a b")
  lu.assertEquals(o.fstype, "fuse.sshfs")
  -- an escaped comma stays inside its option
  lu.assertEquals(o.super_options, { "rw", "user_id=0", "opt=a,b", "x\\y" })
  lu.assertEquals(o.options, { "rw", "noexec" })
end

function TestMountinfoFixtures.test_malformed_escapes_left_as_is()
  local t = assert(core.mounts(FIX .. "mountinfo-escapes"))
  local e = t:lookup("/mnt/bad\\04escape")
  lu.assertNotNil(e)
  lu.assertEquals(e.source, "tm\\999")
  -- \000 would put a NUL in a field: it stays escaped
  lu.assertEquals(t:lookup("/mnt/zero\\000byte").id, 107)
end

function TestMountinfoFixtures.test_stacked_last_wins()
  local t = assert(core.mounts(FIX .. "mountinfo-stacked"))
  lu.assertEquals(#t, 5, "shadowed entries are counted")
  local e = t:lookup("/stack")
  lu.assertEquals(e.source, "third")
  lu.assertEquals(e.id, 23)
  lu.assertEquals(e.super_options, { "rw", "size=3k" })
  local ids = {}
  for x in t:entries() do ids[#ids + 1] = x.id end
  lu.assertEquals(ids, { 1, 20, 21, 22, 23 }, "file order")
  lu.assertEquals(t:lookup("/other").source, "other")
end

function TestMountinfoFixtures.test_malformed_lines_skipped_good_kept()
  local t = assert(core.mounts(FIX .. "mountinfo-malformed"))
  lu.assertEquals(mount_points(t), { "/", "/good1", "/good2", "/good3" })
  lu.assertEquals(#t, 4)
  lu.assertEquals(t:lookup("/good1").optional, { "shared:1" })
  lu.assertEquals(t:lookup("/good2").source, "", "an empty source is kept empty")
  lu.assertEquals(t:lookup("/good3").options, { "ro", "nosuid" })
  for _, mp in ipairs({ "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i", "/j", "/l" }) do
    lu.assertNil(t:lookup(mp), mp)
  end
end

function TestMountinfoFixtures.test_optional_fields()
  local t = assert(core.mounts(FIX .. "mountinfo-optional"))
  lu.assertEquals(t:lookup("/").optional, { "shared:1" })
  lu.assertEquals(t:lookup("/slave").optional, { "master:2" })
  lu.assertEquals(t:lookup("/both").optional, { "shared:3", "master:1", "propagate_from:4" })
  lu.assertEquals(t:lookup("/unbindable").optional, { "unbindable" })
  lu.assertEquals(t:lookup("/none").optional, {})
end

function TestMountinfoFixtures.test_last_line_without_newline()
  local t = assert(core.mounts(FIX .. "mountinfo-nonewline"))
  lu.assertEquals(#t, 2)
  lu.assertEquals(t:lookup("/last").super_options, { "rw", "size=4k" })
  lu.assertEquals(t:lookup("/last").options, { "rw", "noatime" })
  local cut = assert(core.mounts(FIX .. "mountinfo-truncated"))
  lu.assertEquals(mount_points(cut), { "/" }, "an incomplete last line is skipped")
end

function TestMountinfoFixtures.test_long_line_and_nul_line_skipped()
  local good1 = "1 0 0:1 / / rw - rootfs rootfs rw\n"
  local long = "2 1 0:2 / /" .. ("x"):rep(64 * 1024) .. " rw - tmpfs tmpfs rw\n"
  local nul = "3 1 0:3 / /nul\0here rw - tmpfs tmpfs rw\n"
  local fits = "4 1 0:4 / /" .. ("y"):rep(60 * 1024) .. " rw - tmpfs tmpfs rw\n"
  local good2 = "5 1 0:5 / /after rw - tmpfs tmpfs rw\n"
  local t = assert(core.mounts(tmpfile(good1 .. long .. nul .. fits .. good2)))
  lu.assertEquals(#t, 3)
  local ids = {}
  for e in t:entries() do ids[#ids + 1] = e.id end
  lu.assertEquals(ids, { 1, 4, 5 })
  lu.assertEquals(#t:lookup("/" .. ("y"):rep(60 * 1024)).mount_point, 60 * 1024 + 1)
end

function TestMountinfoFixtures.test_empty_and_garbage_files()
  local t = assert(core.mounts(tmpfile("")))
  lu.assertEquals(#t, 0)
  lu.assertNil(t:lookup("/"))
  lu.assertNil(t:entries()())
  local g = assert(core.mounts(tmpfile(("\n \0 - -\n"):rep(1000))))
  lu.assertEquals(#g, 0)
end

function TestMountinfoFixtures.test_entries_and_lookup_agree()
  local t = assert(core.mounts(FIX .. "mountinfo-escapes"))
  local n = 0
  for e in t:entries() do
    n = n + 1
    lu.assertEquals(t:lookup(e.mount_point), e)
  end
  lu.assertEquals(n, #t)
  -- two iterators are independent
  local it1, it2 = t:entries(), t:entries()
  lu.assertEquals(it1().id, 26)
  lu.assertEquals(it1().id, 100)
  lu.assertEquals(it2().id, 26)
end

function TestMountinfoFixtures.test_fixture_file_never_changes()
  local t = assert(core.mounts(FIX .. "mountinfo-stacked"))
  lu.assertFalse(t:changed())
  lu.assertFalse(t:changed())
end

function TestMountinfoFixtures.test_tostring()
  local t = assert(core.mounts(FIX .. "mountinfo-stacked"))
  local s = tostring(t)
  lu.assertStrContains(s, "katamount.mounts")
  lu.assertStrContains(s, "5 entries")
  lu.assertStrContains(s, "mountinfo-stacked")
end

function TestMountinfoFixtures.test_mount_entry_from_file()
  local e = assert(core.mount_entry("/stack", FIX .. "mountinfo-stacked"))
  lu.assertEquals(e.source, "third")
  lu.assertEquals(core.mount_entry("/stack//", FIX .. "mountinfo-stacked"), e, "trailing slashes")
  lu.assertEquals(core.mount_entry("/", FIX .. "mountinfo-stacked").id, 1)
  lu.assertEquals(e, assert(core.mounts(FIX .. "mountinfo-stacked")):lookup("/stack"))
  local ok, msg, err = core.mount_entry("/nothing", FIX .. "mountinfo-stacked")
  H.assert_error("mount_entry '/nothing': not a mount point", ok, msg, err, H.E.EINVAL)
end

---------------------------------------------------------------- errors

local TestMountsErrors = {}
function TestMountsErrors.tearDown() H.cleanup() end

function TestMountsErrors.test_missing_file()
  local ok, msg, err = core.mounts("/nonexistent/mountinfo")
  H.assert_error("mounts '/nonexistent/mountinfo'", ok, msg, err, H.E.ENOENT)
  ok, msg, err = core.mount_entry("/", "/nonexistent/mountinfo")
  H.assert_error("mount_entry '/nonexistent/mountinfo'", ok, msg, err, H.E.ENOENT)
end

function TestMountsErrors.test_directory_and_device()
  local ok, msg, err = core.mounts(H.tmpdir("mi"))
  H.assert_error("mounts", ok, msg, err, H.E.EISDIR)
  ok, msg, err = core.mounts("/dev/null")
  H.assert_error("not a regular file", ok, msg, err, H.E.EINVAL)
end

function TestMountsErrors.test_bad_paths()
  local ok, msg, err = core.mounts("/proc/self/\0mountinfo")
  H.assert_error("NUL", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.mounts("/" .. ("a"):rep(5000))
  H.assert_error("mounts", ok, msg, err, H.E.ENAMETOOLONG)
  ok, msg, err = core.mount_entry("/tmp\0x")
  H.assert_error("mount_entry", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.mount_entry("/" .. ("a"):rep(5000))
  H.assert_error("mount_entry", ok, msg, err, H.E.ENAMETOOLONG)
  ok, msg, err = core.mount_entry("/", "/proc/self/\0mountinfo")
  H.assert_error("mount_entry", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.is_mount_point("/\0")
  H.assert_error("is_mount_point", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.is_mount_point("/" .. ("a"):rep(5000))
  H.assert_error("is_mount_point", ok, msg, err, H.E.ENAMETOOLONG)
end

function TestMountsErrors.test_wrong_types_raise()
  lu.assertErrorMsgContains("bad argument #1", core.mounts, {})
  lu.assertErrorMsgContains("bad argument #1", core.mount_entry, nil)
  lu.assertErrorMsgContains("bad argument #2", core.mount_entry, "/", {})
  lu.assertErrorMsgContains("bad argument #1", core.is_mount_point, true)
  local t = assert(core.mounts(FIX .. "mountinfo-stacked"))
  lu.assertErrorMsgContains("bad argument #1", t.lookup, {}, "/")
  lu.assertErrorMsgContains("bad argument #1", t.lookup, io.stdout, "/")
  lu.assertErrorMsgContains("bad argument #2", t.lookup, t, {})
  lu.assertErrorMsgContains("bad argument #1", t.changed, 1)
end

function TestMountsErrors.test_lookup_key_with_nul()
  local t = assert(core.mounts(FIX .. "mountinfo-stacked"))
  local ok, msg, err = t:lookup("/stack\0")
  H.assert_error("lookup", ok, msg, err, H.E.EINVAL)
end

function TestMountsErrors.test_mount_entry_missing_path()
  local d = H.tmpdir("mi")
  local ok, msg, err = core.mount_entry(d .. "/missing")
  H.assert_error("mount_entry '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
  ok, msg, err = core.is_mount_point(d .. "/missing")
  H.assert_error("is_mount_point '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
end

function TestMountsErrors.test_not_a_mount_point_is_einval()
  local d = H.tmpdir("mi")
  local ok, msg, err = core.mount_entry(d)
  H.assert_error("mount_entry '" .. d .. "': not a mount point", ok, msg, err, H.E.EINVAL)
  lu.assertFalse(core.is_mount_point(d))
end

---------------------------------------------------------------- descriptors

local TestMountsDescriptors = {}

function TestMountsDescriptors.test_close_and_gc_release_the_descriptor()
  collectgarbage()
  local before = H.open_fds()
  local kept
  do
    local t <close> = assert(core.mounts())
    kept = t
    lu.assertEquals(H.open_fds(), before + 1, "the mountinfo descriptor is kept for poll")
  end
  lu.assertEquals(H.open_fds(), before, "__close closes it")
  lu.assertNotNil(kept:lookup("/"), "entries stay readable after __close")
  lu.assertIsBoolean(kept:changed())
  local hold = { assert(core.mounts()) }
  lu.assertEquals(H.open_fds(), before + 1)
  lu.assertEquals(#hold[1], #kept)
  hold[1] = nil
  kept = nil -- luacheck: ignore 311
  collectgarbage()
  collectgarbage()
  lu.assertEquals(H.open_fds(), before, "__gc closes it")
end

function TestMountsDescriptors.test_errors_leak_nothing()
  collectgarbage()
  local before = H.open_fds()
  for _ = 1, 20 do
    core.mounts("/dev/null")
    core.mounts("/nonexistent")
    core.mount_entry("/nonexistent")
    core.mount_entry("/tmp")
    core.mount_entry("/nothing", FIX .. "mountinfo-stacked")
    core.is_mount_point("/nonexistent")
    core.mount_entry("/")
    core.mount_entry("/", INFO)
  end
  collectgarbage()
  collectgarbage()
  lu.assertEquals(H.open_fds(), before)
end

---------------------------------------------------------------- live table

local function findmnt_targets()
  local out = H.sh("findmnt -rn -o TARGET,FSTYPE")
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local target, fstype = line:match("^(%S+) (%S+)$")
    local function dec(s)
      return (s:gsub("\\x(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
    end
    list[#list + 1] = { target = dec(target), fstype = dec(fstype) }
  end
  return list
end

local TestLiveMountinfo = {}
function TestLiveMountinfo.tearDown() H.cleanup() end

function TestLiveMountinfo.test_every_findmnt_entry_found()
  local t = assert(core.mounts())
  local list = findmnt_targets()
  lu.assertTrue(#list > 0)
  for _, m in ipairs(list) do
    local e = t:lookup(m.target)
    lu.assertNotNil(e, "findmnt lists " .. m.target)
    local types = {}
    for x in t:entries() do
      if x.mount_point == m.target then types[x.fstype] = true end
    end
    lu.assertTrue(types[m.fstype], m.target .. " has type " .. m.fstype)
  end
end

function TestLiveMountinfo.test_count_is_the_line_count()
  local t = assert(core.mounts())
  local lines = tonumber(H.sh("wc -l < /proc/self/mountinfo"))
  lu.assertEquals(#t, lines)
  lu.assertEquals(t:lookup("/").mount_point, "/")
  lu.assertFalse(t:changed())
end

function TestLiveMountinfo.test_mount_entry_equals_the_table_for_every_live_mount()
  local t = assert(core.mounts())
  local n = 0
  for e in t:entries() do
    local top = t:lookup(e.mount_point)
    if top == e and core.is_mount_point(e.mount_point) then
      local got = core.mount_entry(e.mount_point)
      if got and got.id == e.id then
        lu.assertEquals(got, e, "statmount vs mountinfo for " .. e.mount_point)
        n = n + 1
      end
      lu.assertEquals(core.mount_entry(e.mount_point, INFO), e)
    end
  end
  lu.assertTrue(n >= 2, "compared " .. n .. " live mounts")
end

function TestLiveMountinfo.test_is_mount_point_live()
  lu.assertTrue(core.is_mount_point("/"))
  lu.assertTrue(core.is_mount_point("/proc"))
  lu.assertFalse(core.is_mount_point("/proc/self"))
  local d = H.tmpdir("mi")
  -- a symlink to a mount point is not one (never followed)
  lu.assertFalse(core.is_mount_point(H.symlink("/proc", d .. "/link")))
  local ok, msg, err = core.mount_entry(d .. "/link")
  H.assert_error("not a mount point", ok, msg, err, H.E.EINVAL)
end

---------------------------------------------------------------- real mounts

-- The three answers for path: statmount, the mountinfo file, the table.
local function three_answers(path)
  local sm = assert(core.mount_entry(path))
  local mi = assert(core.mount_entry(path, INFO))
  local tb = assert(core.mounts()):lookup(path)
  lu.assertEquals(sm, mi, "statmount answer == mountinfo answer for " .. path)
  lu.assertEquals(tb, mi, "table lookup == mount_entry for " .. path)
  return sm
end

local function has(list, item)
  for _, v in ipairs(list) do if v == item then return true end end
  return false
end

local TestRealMounts = {}

function TestRealMounts.setUp()
  H.need_mounts()
  TestRealMounts.base = H.mount_tmpfs(H.tmpdir("mnt"), "size=4m")
end

function TestRealMounts.tearDown() H.cleanup() end

function TestRealMounts.test_tmpfs_with_options()
  local d = H.mount_tmpfs(TestRealMounts.base .. "/t", "size=1m,mode=750,nr_inodes=100")
  local e = three_answers(d)
  lu.assertEquals(e.mount_point, d)
  lu.assertEquals(e.fstype, "tmpfs")
  lu.assertEquals(e.source, "tmpfs")
  lu.assertEquals(e.root, "/")
  lu.assertEquals(e.options[1], "rw")
  lu.assertTrue(has(e.super_options, "size=1024k"), table.concat(e.super_options, ","))
  lu.assertTrue(has(e.super_options, "mode=750"))
  lu.assertTrue(has(e.super_options, "nr_inodes=100"))
  lu.assertTrue(core.is_mount_point(d))
  lu.assertFalse(core.is_mount_point(H.mkdir(d .. "/sub")))
  lu.assertEquals(core.mount_entry(d .. "/"), e, "a trailing slash names the same mount")
  lu.assertEquals(core.mount_entry(d .. "/", INFO), e)
  local ok, msg, err = core.mount_entry(d .. "/sub")
  H.assert_error("not a mount point", ok, msg, err, H.E.EINVAL)
  lu.assertEquals(e.major .. ":" .. e.minor, H.sh("stat -c '%Hd:%Ld' " .. H.q(d)), "the super block's device")
end

function TestRealMounts.test_per_mount_flags_and_super_flags()
  local b = TestRealMounts.base
  local e = three_answers(H.mount_tmpfs(b .. "/f1", "nosuid,nodev,noexec,noatime,nodiratime"))
  lu.assertEquals(e.options, { "rw", "nosuid", "nodev", "noexec", "noatime", "nodiratime" })
  e = three_answers(H.mount_tmpfs(b .. "/f2", "strictatime"))
  lu.assertEquals(e.options, { "rw" })
  e = three_answers(H.mount_tmpfs(b .. "/f3", "nosymfollow,sync,dirsync"))
  lu.assertEquals(e.options, { "rw", "relatime", "nosymfollow" })
  lu.assertEquals({ e.super_options[1], e.super_options[2], e.super_options[3] }, { "rw", "sync", "dirsync" })
  e = three_answers(H.mount_tmpfs(b .. "/f4", "ro,lazytime"))
  lu.assertEquals(e.options[1], "ro")
  lu.assertEquals({ e.super_options[1], e.super_options[2] }, { "ro", "lazytime" })
end

function TestRealMounts.test_bind_mount_has_its_root()
  local b = TestRealMounts.base
  local src = H.mount_tmpfs(b .. "/src", "size=2m")
  H.mkdir(src .. "/inner dir")
  local dst = H.bind(src .. "/inner dir", b .. "/dst")
  local e = three_answers(dst)
  lu.assertEquals(e.root, "/inner dir")
  lu.assertEquals(e.fstype, "tmpfs")
  local s = three_answers(src)
  lu.assertEquals({ e.major, e.minor }, { s.major, s.minor })
  lu.assertEquals(e.super_options, s.super_options)
end

function TestRealMounts.test_read_only_bind()
  local b = TestRealMounts.base
  local src = H.mkdir(b .. "/rosrc")
  local dst = H.mkdir(b .. "/rodst")
  H.sh("mount --bind -o ro " .. H.q(src) .. " " .. H.q(dst))
  local e = three_answers(dst)
  lu.assertEquals(e.options[1], "ro")
  lu.assertEquals(e.super_options[1], "rw", "the super block stays writable")
  lu.assertEquals(e.root, "/rosrc")
end

function TestRealMounts.test_mount_point_with_space_tab_backslash_newline()
  local b = TestRealMounts.base
  for _, name in ipairs({ "with space", "with\ttab", "back\\slash", "new\nline", "all \t\\\n four" }) do
    local d = H.mount_tmpfs(b .. "/" .. name, "size=1m")
    local e = three_answers(d)
    lu.assertEquals(e.mount_point, d)
    lu.assertTrue(core.is_mount_point(d))
    -- the source may carry escapes too
    local s = H.mkdir(b .. "/src " .. name:gsub("\n", "_"))
    local bd = H.bind(s, b .. "/bind " .. name)
    local be = three_answers(bd)
    lu.assertEquals(be.root, "/src " .. name:gsub("\n", "_"))
  end
end

function TestRealMounts.test_stacked_mounts_top_wins()
  local b = TestRealMounts.base
  local d = H.mount_tmpfs(b .. "/stack", "size=1m")
  H.mount_tmpfs(d, "size=2m")
  H.mount_tmpfs(d, "size=3m")
  local e = three_answers(d)
  lu.assertTrue(has(e.super_options, "size=3072k"), table.concat(e.super_options, ","))
  local n = 0
  for x in assert(core.mounts()):entries() do
    if x.mount_point == d then n = n + 1 end
  end
  lu.assertEquals(n, 3, "all three stacked entries are in the table")
  H.umount(d)
  e = three_answers(d)
  lu.assertTrue(has(e.super_options, "size=2048k"))
end

function TestRealMounts.test_propagation_optional_fields()
  local b = TestRealMounts.base
  local s = H.mount_tmpfs(b .. "/shared", "size=1m")
  H.sh("mount --make-shared " .. H.q(s))
  local peer = H.bind(s, b .. "/peer")
  local slave = H.bind(s, b .. "/slave")
  H.sh("mount --make-slave " .. H.q(slave))
  local ub = H.mount_tmpfs(b .. "/unbindable", "size=1m")
  H.sh("mount --make-unbindable " .. H.q(ub))
  local es, ep, ev = three_answers(s), three_answers(peer), three_answers(slave)
  lu.assertStrMatches(es.optional[1], "shared:%d+")
  lu.assertEquals(ep.optional, es.optional, "peers share the group")
  lu.assertEquals(ev.optional, { (es.optional[1]:gsub("shared", "master")) })
  lu.assertEquals(three_answers(ub).optional, { "unbindable" })
end

-- A mount point longer than the first statmount buffer (4 KiB with its
-- 512-byte header): mount_entry asks again with a larger one.
function TestRealMounts.test_long_mount_point()
  local b = TestRealMounts.base
  local d = b
  while #d < 3900 do d = d .. "/" .. ("x"):rep(200) end
  H.mount_tmpfs(d, "size=1m")
  local e = three_answers(d)
  lu.assertEquals(e.mount_point, d)
  lu.assertEquals(#e.mount_point, #d)
end

function TestRealMounts.test_changed_turns_true_and_stays()
  local b = TestRealMounts.base
  local t = assert(core.mounts())
  lu.assertFalse(t:changed())
  lu.assertFalse(t:changed())
  local d = H.mount_tmpfs(b .. "/later", "size=1m")
  lu.assertTrue(t:changed())
  lu.assertTrue(t:changed(), "stays true")
  lu.assertTrue(t:changed())
  lu.assertNil(t:lookup(d), "the old table does not see the new mount")
  local t2 = assert(core.mounts())
  lu.assertNotNil(t2:lookup(d))
  lu.assertEquals(#t2, #t + 1)
  lu.assertFalse(t2:changed())
  H.umount(d)
  lu.assertTrue(t2:changed(), "an unmount is a change too")
  lu.assertTrue(t:changed())
  local t3 = assert(core.mounts())
  lu.assertNil(t3:lookup(d))
  lu.assertEquals(#t3, #t)
end

function TestRealMounts.test_mount_entry_after_umount_is_einval()
  local d = H.mount_tmpfs(TestRealMounts.base .. "/gone", "size=1m")
  lu.assertNotNil(core.mount_entry(d))
  H.umount(d)
  local ok, msg, err = core.mount_entry(d)
  H.assert_error("not a mount point", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.mount_entry(d, INFO)
  H.assert_error("not a mount point", ok, msg, err, H.E.EINVAL)
  lu.assertFalse(core.is_mount_point(d))
end

function TestRealMounts.test_many_mounts_lookup()
  local b = TestRealMounts.base
  local n = os.getenv("KATAMOUNT_SANITIZED") and 20 or 100
  H.sh(("cd %s && for i in $(seq 1 %d); do mkdir m$i && mount -t tmpfs -o size=4k t$i m$i; done")
    :format(H.q(b), n))
  local t = assert(core.mounts())
  for i = 1, n do
    local e = t:lookup(b .. "/m" .. i)
    lu.assertNotNil(e)
    lu.assertEquals(e.source, "t" .. i)
  end
  lu.assertEquals(core.mount_entry(b .. "/m" .. n).source, "t" .. n)
end

-- statmount_supported: the probe the engine makes once to know whether a
-- lookup by path reads the mount table. This kernel (6.8+) has statmount;
-- valgrind does not know the syscall (the sanitized runs skip).
local TestStatmountProbe = {}

function TestStatmountProbe.test_probe_matches_the_kernel()
  local supported = core.statmount_supported()
  lu.assertIsBoolean(supported)
  local major, minor = H.sh("uname -r"):match("^(%d+)%.(%d+)")
  local new_kernel = tonumber(major) > 6 or (tonumber(major) == 6 and tonumber(minor) >= 11)
  lu.skipIf(os.getenv("KATAMOUNT_SANITIZED") ~= nil, "valgrind does not know statmount(2)")
  lu.assertEquals(supported, new_kernel)
end

function TestStatmountProbe.test_lookup_by_path_reads_no_table_when_supported()
  lu.skipIf(not core.statmount_supported(), "no statmount(2) here")
  -- strace is not needed: a mount table object counts reads of its own, but a
  -- lookup by path must agree with the table for every live mount point
  local t = assert(core.mounts())
  local checked = 0
  for e in t:entries() do
    if t:lookup(e.mount_point) == e and not e.mount_point:find("\n", 1, true) then
      local got = core.mount_entry(e.mount_point)
      if got then
        lu.assertEquals(got.id, e.id, e.mount_point)
        lu.assertEquals(got.fstype, e.fstype, e.mount_point)
        checked = checked + 1
      end
    end
  end
  lu.assertTrue(checked > 0)
end

return {
  TestStatmountProbe = TestStatmountProbe,
  TestMountinfoFixtures = TestMountinfoFixtures,
  TestMountsErrors = TestMountsErrors,
  TestMountsDescriptors = TestMountsDescriptors,
  TestLiveMountinfo = TestLiveMountinfo,
  TestRealMounts = TestRealMounts,
}
