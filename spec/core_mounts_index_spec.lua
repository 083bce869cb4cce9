-- spec/core_mounts_index_spec.lua -- the mount table's index against
-- crafted mount points: a mountinfo file of mount points that all fall in
-- one slot of the unkeyed hash used before (spec/collide.lua) indexes at
-- the cost of ordinary ones, counted in probed slots (t:_index_cost()),
-- never timed. `make bench` reports the same cost for 80,000 mount points.
local lu = require("luaunit")
local H = require("helpers")
local C = require("collide")
local core = require("katamount.core")

local N = 20000
-- the old index of N entries had 2^16 slots: mask 2^16 - 1
local OLD_MASK = (1 << 16) - 1

local TestMountsIndex = {}
function TestMountsIndex.tearDown() H.cleanup() end

function TestMountsIndex.test_crafted_points_collide_under_the_old_hash()
  -- the fixture is what it claims: one slot of the old hash for all of them
  local slot = C.old_hash(C.crafted(0)) & OLD_MASK
  for i = 0, N - 1, 97 do
    lu.assertEquals(C.old_hash(C.crafted(i)) & OLD_MASK, slot, C.crafted(i))
  end
  -- and distinct mount points
  lu.assertNotEquals(C.crafted(1), C.crafted(2))
  lu.assertEquals(#C.crafted(N - 1), #C.ordinary(N - 1))
end

function TestMountsIndex.test_crafted_points_index_at_the_cost_of_ordinary_ones()
  local d = H.tmpdir("index")
  -- <close>: each table keeps its file open until then (for t:changed())
  local crafted <close> = assert(core.mounts(C.mountinfo(d .. "/crafted", N, C.crafted)))
  local ordinary <close> = assert(core.mounts(C.mountinfo(d .. "/ordinary", N, C.ordinary)))
  lu.assertEquals(#crafted, N)
  lu.assertEquals(#ordinary, N)
  local cp, clong = crafted:_index_cost()
  local op, olong = ordinary:_index_cost()
  -- every entry probes at least its own slot; at a load under 1/2 linear
  -- probing averages under 1.5 probes per entry. Colliding keys under an
  -- unkeyed hash would cost N^2/2 = 200,000,000.
  lu.assertTrue(op >= N and cp >= N)
  lu.assertTrue(op < 2 * N, ("ordinary: %d probes for %d entries"):format(op, N))
  lu.assertTrue(cp < 2 * N, ("crafted: %d probes for %d entries (ordinary: %d)"):format(cp, N, op))
  lu.assertTrue(clong <= 64 and olong <= 64,
    ("longest probe runs: crafted %d, ordinary %d"):format(clong, olong))
  -- and every crafted point is found
  for i = 0, N - 1, 101 do
    local e = crafted:lookup(C.crafted(i))
    lu.assertNotNil(e, C.crafted(i))
    lu.assertEquals(e.mount_point, C.crafted(i))
    lu.assertEquals(e.id, i + 100)
  end
  lu.assertNil(crafted:lookup(C.crafted(N)))
end

function TestMountsIndex.test_each_table_has_its_own_key()
  -- two reads of one file index it under different keys: the probe runs of
  -- 64 small tables are not all the same
  local d = H.tmpdir("index")
  local f = C.mountinfo(d .. "/small", 200, C.ordinary)
  local seen = {}
  for _ = 1, 64 do
    local t <close> = assert(core.mounts(f))
    local p = t:_index_cost()
    seen[p] = true
  end
  local distinct = 0
  for _ in pairs(seen) do distinct = distinct + 1 end
  lu.assertTrue(distinct > 1, "64 reads of one table probed the same number of slots")
end

return { TestMountsIndex = TestMountsIndex }
