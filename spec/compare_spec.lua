-- compare_spec.lua -- what a rules directory changes (katamount.compare,
-- behind `katamount rules --check DIR` and `katamount diff`): the canonical
-- mounts (one per row of the decision table) on a host layout made in a
-- private scratch directory, and the decisions two engines differ on.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local katamount = require("katamount")
local compare = require("katamount.compare")

local T = {}

T.TestCompare = { tearDown = H.cleanup }

-- The canonical host: made in a fresh 0700 directory, every bundled class
-- it can show without a mount shown, and nothing left once removed.
function T.TestCompare.test_the_canonical_mounts_show_the_decision_table()
  local scratch = H.tmpdir("compare")
  local root = assert(core.make_temp_dir(scratch .. "/check."))
  lu.assertEquals(core.stat(root).mode & 511, 448) -- 0700
  local made = assert(compare.make_host(root))
  local e = assert(katamount.new({ rules_path = {} }))
  local p, errs = e:plan(compare.canonical_spec(root))
  lu.assertEquals(errs, {})
  local rows = compare.canonical_mounts(root)
  local classes = {}
  for i, d in ipairs(p.mounts) do
    classes[#classes + 1] = d.class
    lu.assertStrContains(rows[i].row, d.class, false, d.destination)
  end
  lu.assertEquals(classes, { "layer", "shm", "system", "local", "block", "passthrough",
    "host-device", "watchable", "watchable", "shared", "shared" })
  compare.remove_host(root, made)
  lu.assertNil(core.stat(root))
  lu.assertEquals(core.list_dir(scratch), {})
end

-- Only what the directory changes is reported: a limit raised to 16 makes
-- the 12-file configmap watched, and nothing else moves.
function T.TestCompare.test_differences_name_only_what_changed()
  local root = assert(core.make_temp_dir(H.tmpdir("compare") .. "/check."))
  local made = assert(compare.make_host(root))
  local before = assert(katamount.new({ rules_path = {} }))
  local after = assert(katamount.new({ rules_path = {
    H.rules_dir({ ["50-site.lua"] = "params.watchable_max_files = 16\n" }, "compare") } }))
  local diff, n = compare.differences(before, after, compare.canonical_spec(root))
  lu.assertEquals(n, 12)
  lu.assertEquals(#diff, 1)
  lu.assertEquals(diff[1].what, "mount 10")
  lu.assertEquals(diff[1].destination, "/etc/large")
  lu.assertEquals(compare.summary(diff[1].before), "shared / share (shared)")
  lu.assertEquals(compare.summary(diff[1].after), "watchable / share-watchable (watchable)")
  -- the same engine twice: no difference
  diff = compare.differences(before, before, compare.canonical_spec(root))
  lu.assertEquals(diff, {})
  -- a rule that fails shows as an error
  local broken = assert(katamount.new({ rules_path = { H.rules_dir({ ["50-x.lua"] = [[
rule { name = "x", order = 1, class = "shared", action = "share",
  when = function(m) if m.destination == "/data" then error("boom") end return false end }
]] }, "compare-x") } }))
  diff = compare.differences(before, broken, compare.canonical_spec(root))
  lu.assertEquals(#diff, 1)
  lu.assertStrContains(compare.summary(diff[1].after), "ERROR: rule 'x'")
  compare.remove_host(root, made)
end

-- make_temp_dir: bad prefixes are errors, never a directory elsewhere.
function T.TestCompare.test_make_temp_dir_refuses_bad_prefixes()
  local d = H.tmpdir("compare")
  H.assert_error("make_temp_dir", core.make_temp_dir(d .. "/missing/x."))
  H.assert_error("make_temp_dir", core.make_temp_dir("a\0b"))
  H.assert_error("make_temp_dir", core.make_temp_dir(d .. "/" .. ("x"):rep(5000)))
  lu.assertErrorMsgContains("string expected", core.make_temp_dir, {})
  lu.assertEquals(core.list_dir(d), {})
end

return T
