-- spec/core_files_spec.lua -- base64url, fnv1a64, read_file and tree_size
-- of katamount.core: RFC 4648's vectors in Go's URL alphabet, the hash
-- against a Lua reference, a file judged and read through one descriptor
-- (FIFOs, devices, directories and big files refused without blocking),
-- and the agent's count of a watched tree (links never followed, the
-- first limit passed ends the walk).
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")

local TestBase64Url = {}

-- RFC 4648 section 10's vectors (Go's base64.URLEncoding pads with "=").
function TestBase64Url.test_rfc4648_vectors()
  local cases = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
    fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
  for s, want in pairs(cases) do lu.assertEquals(core.base64url(s), want, s) end
end

-- The URL alphabet: 62 and 63 are "-" and "_", never "+" and "/".
function TestBase64Url.test_url_alphabet_and_binary()
  lu.assertEquals(core.base64url("\251\255\191"), "-_-_")
  lu.assertEquals(core.base64url("\0\0\0"), "AAAA")
  -- kata's direct-volume directory of a CSI path (utils.go VolumeMountInfo)
  lu.assertEquals(core.base64url("/var/lib/kubelet/pods/x/volumes/pv"),
    "L3Zhci9saWIva3ViZWxldC9wb2RzL3gvdm9sdW1lcy9wdg==")
  lu.assertErrorMsgContains("bad argument #1", core.base64url, {})
end

local TestFnv = {}

-- A reference FNV-1a 64 in Lua: each string, then a NUL byte.
local function fnv_reference(...)
  local h = 0xcbf29ce484222325
  for k = 1, select("#", ...) do
    local s = select(k, ...)
    for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
    h = h * 0x100000001b3
  end
  return ("%016x"):format(h)
end

function TestFnv.test_matches_the_reference()
  lu.assertEquals(core.fnv1a64(), "cbf29ce484222325") -- the offset basis
  local cases = { { "" }, { "a" }, { "container-id", "/var/lib/x", "/etc/config" },
    { ("x"):rep(1000), "\0\255" } }
  for _, c in ipairs(cases) do
    lu.assertEquals(core.fnv1a64(table.unpack(c)), fnv_reference(table.unpack(c)))
  end
  -- the NUL between strings: ("ab") and ("a", "b") differ
  lu.assertNotEquals(core.fnv1a64("ab"), core.fnv1a64("a", "b"))
end

-- Bounded wherever it runs (KM_HASH_ARGS_MAX strings, KM_HASH_BYTES_MAX bytes).
function TestFnv.test_bounds_are_argument_errors()
  local many = {}
  for i = 1, 17 do many[i] = "s" end
  lu.assertErrorMsgContains("KM_HASH_ARGS_MAX (16)", core.fnv1a64, table.unpack(many))
  lu.assertEquals(#core.fnv1a64(table.unpack(many, 1, 16)), 16)
  lu.assertErrorMsgContains("KM_HASH_BYTES_MAX (65536)", core.fnv1a64, ("x"):rep(40000), ("y"):rep(30000))
  lu.assertEquals(#core.fnv1a64(("x"):rep(65536)), 16)
  lu.assertErrorMsgContains("bad argument #2", core.fnv1a64, "a", {})
end

local TestReadFile = {}
function TestReadFile.tearDown() H.cleanup() end

function TestReadFile.test_reads_regular_files_up_to_max()
  local d = H.tmpdir("rf")
  lu.assertEquals(core.read_file(H.write(d .. "/f", "hello\n"), 100), "hello\n")
  lu.assertEquals(core.read_file(d .. "/f", 6), "hello\n")      -- exactly max
  lu.assertEquals(core.read_file(H.write(d .. "/empty", ""), 0), "")
  -- a link is followed (kata reads mountInfo.json by path)
  lu.assertEquals(core.read_file(H.symlink("f", d .. "/link"), 10), "hello\n")
  -- a file whose size stat does not tell is read to its end
  local text = core.read_file("/proc/self/mountinfo", 16 * 1024 * 1024)
  lu.assertStrContains(text, " / ")
  -- binary and NUL bytes kept
  lu.assertEquals(core.read_file(H.write(d .. "/bin", "a\0b\255"), 4), "a\0b\255")
end

function TestReadFile.test_refuses_without_blocking()
  local d = H.tmpdir("rf")
  local ok, msg, err = core.read_file(H.write(d .. "/big", ("x"):rep(101)), 100)
  H.assert_error("read_file '" .. d .. "/big': larger than 100 bytes", ok, msg, err, 27)
  -- a FIFO with no writer would block an open or a read: refused at once
  H.sh("mkfifo " .. H.q(d .. "/fifo"))
  ok, msg, err = core.read_file(d .. "/fifo", 100)
  H.assert_error("not a regular file (fifo)", ok, msg, err, H.E.EINVAL)
  -- an endless device, a directory, a socket
  ok, msg, err = core.read_file(H.symlink("/dev/zero", d .. "/zero"), 100)
  H.assert_error("not a regular file (char)", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.read_file(d, 100)
  H.assert_error("not a regular file (directory)", ok, msg, err, H.E.EINVAL)
  -- a socket cannot be opened at all: open(2)'s ENXIO
  ok, msg, err = core.read_file(H.make_socket(d .. "/sock"), 100)
  H.assert_error("read_file '" .. d .. "/sock'", ok, msg, err, 6)
  -- no descriptor is left open by any of them
  local fds = H.open_fds()
  for _ = 1, 20 do core.read_file(d .. "/fifo", 100); core.read_file(d .. "/big", 1) end
  lu.assertEquals(H.open_fds(), fds)
end

function TestReadFile.test_errors()
  local d = H.tmpdir("rf")
  local ok, msg, err = core.read_file(d .. "/missing", 10)
  H.assert_error("read_file '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
  ok, msg, err = core.read_file(H.write(d .. "/f", "") .. "/x", 10)
  H.assert_error("read_file", ok, msg, err, H.E.ENOTDIR)
  ok, msg, err = core.read_file(d .. "/f\0x", 10)
  H.assert_error("NUL", ok, msg, err, H.E.EINVAL)
  ok, msg, err = core.read_file(H.symlink("loop", d .. "/loop"), 10)
  H.assert_error("read_file", ok, msg, err, H.E.ELOOP)
  lu.assertErrorMsgContains("bad argument #2", core.read_file, d .. "/f", -1)
  lu.assertErrorMsgContains("KM_READ_FILE_MAX", core.read_file, d .. "/f", 1 << 40)
  lu.assertErrorMsgContains("bad argument #1", core.read_file, 5 == 5, 10)
end

local TestTreeSize = {}
function TestTreeSize.tearDown()
  H.stop_loops()
  H.cleanup()
end

local BIG = 1 << 40

-- src/agent/src/watcher.rs scan_path: the directory and every entry below
-- it are entries; files and links (their own length) add their size.
function TestTreeSize.test_counts_as_the_agent()
  local d = H.tmpdir("ts")
  local top = H.mkdir(d .. "/vol")
  H.write(top .. "/a", "12345")
  H.mkdir(top .. "/sub")
  H.write(top .. "/sub/b", "123")
  H.symlink("a", top .. "/link")             -- its own length: 1 byte
  lu.assertEquals({ core.tree_size(top, 100, BIG) }, { 5, 9 })
  -- a kubelet configmap: ..data and one link per key, through the timestamped directory
  local cm = H.mkdir(d .. "/cm/..2026_11_29")
  H.write(cm .. "/key", "value")
  H.symlink("..2026_11_29", d .. "/cm/..data")
  H.symlink("..data/key", d .. "/cm/key")
  lu.assertEquals({ core.tree_size(d .. "/cm", 16, BIG) },
    { 5, #"value" + #"..2026_11_29" + #"..data/key" })
end

-- The getdents64 block is sized by the limit (at most 64 KiB): a directory
-- of long names takes several blocks, under a small limit and a large one,
-- and the count is the same at each boundary.
function TestTreeSize.test_long_names_over_several_blocks()
  local top = H.mkdir(H.tmpdir("ts") .. "/vol")
  for i = 1, 300 do
    H.write(("%s/%03d%s"):format(top, i, ("n"):rep(250)), "x")
  end
  lu.assertEquals({ core.tree_size(top, 4096, BIG) }, { 301, 300 })
  lu.assertEquals({ core.tree_size(top, 301, BIG) }, { 301, 300 })
  lu.assertEquals({ core.tree_size(top, 300, BIG) }, { 301, 299, "entries" })
  lu.assertEquals({ core.tree_size(top, 20, BIG) }, { 21, 0, "entries" })
  lu.assertEquals({ core.tree_size(top, 1, BIG) }, { 2, 0, "entries" })
end

function TestTreeSize.test_links_are_never_followed()
  local d = H.tmpdir("ts")
  local top = H.mkdir(d .. "/vol")
  H.mkdir(d .. "/outside/deep")
  H.write(d .. "/outside/deep/huge", ("x"):rep(5000))
  H.symlink(d .. "/outside", top .. "/out")   -- a link to a directory: one entry, its length
  lu.assertEquals({ core.tree_size(top, 100, 1000) }, { 2, #(d .. "/outside") })
  -- the top itself may be reached through a link
  H.symlink("vol", d .. "/top-link")
  lu.assertEquals({ core.tree_size(d .. "/top-link", 100, 1000) }, { 2, #(d .. "/outside") })
end

-- An attacker who may write in the tree swaps a directory of it for a link
-- to a directory outside, atomically and again and again (rename(2)'s
-- RENAME_EXCHANGE: neither name is ever missing), while the walk runs.
-- The walk has listed vol/a's sub-directories; those it opens after a swap
-- are reached through the link. No walk ever counts what lies outside
-- (a 1 TiB sparse file under each of them): it finishes within the tree,
-- or fails with ELOOP (a link met on the way) or ENOTDIR (the link where
-- a directory was listed).
local SWAP_WALKS = os.getenv("KATAMOUNT_SANITIZED") and 500 or 3000
function TestTreeSize.test_a_directory_swapped_for_a_link_never_leads_out()
  local d = H.tmpdir("ts-swap")
  local top = H.mkdir(d .. "/vol")
  H.sh(("cd %s && for i in $(seq -w 1 40); do mkdir -p vol/a/b$i outside/b$i && printf x > vol/a/b$i/f"
    .. " && truncate -s 1T outside/b$i/huge; done"):format(H.q(d)))
  H.symlink(d .. "/outside", top .. "/swap")
  H.start_loop(("exec %s %s %s"):format(H.q(H.spec_tool("exchange")), H.q(top .. "/a"),
    H.q(top .. "/swap")))
  local within, refused, other = 0, 0, {}
  for _ = 1, SWAP_WALKS do
    local entries, bytes, errno = core.tree_size(top, 4096, BIG)
    if entries ~= nil then
      lu.assertTrue(bytes < 1 << 30, ("a walk counted %d bytes: it left the tree"):format(bytes))
      within = within + 1
    elseif errno == H.E.ELOOP or errno == H.E.ENOTDIR then
      refused = refused + 1
    else
      other[#other + 1] = bytes
    end
  end
  H.stop_loops()
  lu.assertEquals(other, {})
  lu.assertEquals(within + refused, SWAP_WALKS)
  -- the tree as it was left, walked in peace: 40 sub-directories and files,
  -- the link, vol and a
  local entries, bytes = core.tree_size(top, 4096, BIG)
  lu.assertEquals(entries, 1 + 1 + 1 + 40 * 2)
  lu.assertEquals(bytes, 40 + #(d .. "/outside"))
end

-- The first limit passed ends the walk; a directory holding more names
-- than the entries left is not read further.
function TestTreeSize.test_limits()
  local d = H.tmpdir("ts")
  local top = H.fill(d .. "/many", 20000)
  lu.assertEquals({ core.tree_size(top, 16, BIG) }, { 17, 0, "entries" })
  local small = H.fill(d .. "/small", 15)
  lu.assertEquals({ core.tree_size(small, 16, BIG) }, { 16, 0 })      -- exactly the limit
  lu.assertEquals({ core.tree_size(small, 15, BIG) }, { 16, 0, "entries" })
  local sized = H.mkdir(d .. "/sized")
  H.write(sized .. "/a", ("x"):rep(600))
  H.write(sized .. "/b", ("x"):rep(600))
  lu.assertEquals({ core.tree_size(sized, 16, 1200) }, { 3, 1200 })   -- exactly the limit
  lu.assertEquals({ core.tree_size(sized, 16, 1199) }, { 3, 1200, "bytes" })
  -- sizes near the integer's end saturate, never wrap
  H.sh(("truncate -s %d %s %s"):format(1 << 62, H.q(sized .. "/a"), H.q(sized .. "/b")))
  lu.assertEquals({ core.tree_size(sized, 16, math.maxinteger - 10) },
    { 3, math.maxinteger, "bytes" })
end

-- The names are taken in sorted order: which limit and count a tree
-- passes with does not depend on the file system's order.
function TestTreeSize.test_sorted_walk()
  local d = H.tmpdir("ts")
  local top = H.mkdir(d .. "/vol")
  H.write(top .. "/z", ("x"):rep(100))
  H.write(top .. "/a", ("x"):rep(100))
  H.write(top .. "/m", ("x"):rep(100))
  lu.assertEquals({ core.tree_size(top, 16, 150) }, { 3, 200, "bytes" })
end

function TestTreeSize.test_errors()
  local d = H.tmpdir("ts")
  local ok, msg, err = core.tree_size(d .. "/missing", 16, 10)
  H.assert_error("tree_size '" .. d .. "/missing'", ok, msg, err, H.E.ENOENT)
  ok, msg, err = core.tree_size(H.write(d .. "/file", ""), 16, 10)
  H.assert_error("tree_size", ok, msg, err, H.E.ENOTDIR)
  ok, msg, err = core.tree_size(d .. "\0", 16, 10)
  H.assert_error("NUL", ok, msg, err, H.E.EINVAL)
  -- an unreadable directory below the top (as nobody) names itself
  local top = H.mkdir(d .. "/vol")
  H.mkdir(top .. "/locked")
  H.sh("chmod 0755 " .. H.q(d) .. " " .. H.q(top) .. " && chmod 0 " .. H.q(top .. "/locked"))
  local out = H.run_as_nobody(([[
    local c = require("katamount.core")
    local ok, msg, err = c.tree_size(%q, 16, 100)
    io.write(tostring(ok), "|", tostring(msg), "|", tostring(err))
  ]]):format(top))
  lu.assertStrContains(out, "nil|tree_size '" .. top .. "/locked': Permission denied|13")
  lu.assertErrorMsgContains("KM_TREE_ENTRIES_MAX, 4096", core.tree_size, d, 4097, 10)
  lu.assertErrorMsgContains("bad argument #2", core.tree_size, d, 0, 10)
  lu.assertErrorMsgContains("bad argument #3", core.tree_size, d, 16, -1)
  lu.assertErrorMsgContains("bad argument #1", core.tree_size, {}, 16, 10)
end

return {
  TestBase64Url = TestBase64Url,
  TestFnv = TestFnv,
  TestReadFile = TestReadFile,
  TestTreeSize = TestTreeSize,
}
