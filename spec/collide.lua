-- spec/collide.lua -- mount points crafted to collide under the unkeyed
-- FNV-1a hash the mount table's index used before it was keyed per table
-- (c/mounttable.c), and the mountinfo files that list them. Shared by
-- spec/core_mounts_index_spec.lua and bench/run.lua.
--
-- How they were found: the old slot was `(h ~ (h >> 29)) & mask` for
-- FNV-1a's 64-bit state h. For tables up to 2^18 slots (131,072 entries)
-- that reads bits 0..46 of h only, and FNV-1a's low 47 bits depend only on
-- the low 47 bits of the state before. So two 8-byte blocks that take one
-- state to the same state mod 2^47 are interchangeable (found by Pollard's
-- rho, about 2^24 steps each); 17 such pairs chained after the prefix
-- (Joux's multicollision) give 2^17 mount points of one old slot.
local M = {}

M.PREFIX = "/crafted/"

-- Each pair: two blocks that collide mod 2^47 from the state the prefix
-- and the pairs before lead to.
M.PAIRS = {
  { "E4lTbmLc", "V9_hB74d" }, { "5zS-Rkta", "mw9A7Azu" }, { "7fQVzq7i", "KHUtoP9A" },
  { "1sbk4YTh", "1K5LzNjq" }, { "zIoNnehb", "KS6mCPop" }, { "_t0zh2Wz", "0YrP5Ddz" },
  { "pm9sBwWx", "bnX6k91d" }, { "cskTgRDf", "ngnc2vyy" }, { "_-snKgzD", "JL4FsMnq" },
  { "R_QFplNv", "7BkeE5Vs" }, { "9BipbKdg", "2eoHHqXg" }, { "lHydqczh", "uk7iPYfv" },
  { "c6CwgdJg", "1YOkUnSE" }, { "s7NF4ClA", "2CLCn1Af" }, { "FAL_maOf", "eHyZbjsb" },
  { "IcqlX0zd", "UmLw2wnc" }, { "7V5mAhhs", "JDIu3Lvr" },
}

--- Most crafted mount points there are (2^#PAIRS).
M.MAX = 1 << #M.PAIRS

--- The old index hash of s: FNV-1a, then h ~ (h >> 29) (Lua integers wrap
-- as uint64_t does).
function M.old_hash(s)
  local h = -3750763034362895579          -- 14695981039346656037 as int64
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return h ~ (h >> 29)
end

--- The i-th crafted mount point (0 <= i < M.MAX): bit j of i picks the
-- block of pair j + 1.
function M.crafted(i)
  local t = { M.PREFIX }
  for j, pair in ipairs(M.PAIRS) do
    t[j + 1] = pair[((i >> (j - 1)) & 1) + 1]
  end
  return table.concat(t)
end

--- The i-th ordinary mount point, as long as a crafted one.
function M.ordinary(i)
  local digits = ("%09d"):format(i)
  return "/ordinary/" .. ("o"):rep(#M.crafted(0) - 10 - #digits) .. digits
end

--- Write a mountinfo file of n tmpfs mounts at keyfn(0) .. keyfn(n - 1).
function M.mountinfo(path, n, keyfn)
  local lines = {}
  for i = 0, n - 1 do
    lines[#lines + 1] = ("%d 1 0:%d / %s rw,relatime - tmpfs tmpfs rw\n"):format(i + 100, i % 256, keyfn(i))
  end
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(lines))
  f:close()
  return path
end

return M
