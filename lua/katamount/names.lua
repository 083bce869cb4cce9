--- Names close to a misspelled one: the suggestion of "did you mean ...?"
-- for params, classes and actions (inside each rule state) and for the
-- command's `--set`.
-- @module katamount.names
local M = {}

local sub, pairs = string.sub, pairs

--- Names longer than this are never compared (the distance is quadratic).
M.LENGTH_MAX = 64

--- The edit distance of two names (an insertion, a deletion or a
-- replacement costs one each), or `math.huge` past `LENGTH_MAX`.
-- @tparam string a
-- @tparam string b
-- @treturn number
function M.distance(a, b)
  if #a > M.LENGTH_MAX or #b > M.LENGTH_MAX then return math.huge end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    local ca = sub(a, i, i)
    for j = 1, #b do
      local best = prev[j] + 1
      if cur[j - 1] + 1 < best then best = cur[j - 1] + 1 end
      local replace = prev[j - 1] + (ca == sub(b, j, j) and 0 or 1)
      if replace < best then best = replace end
      cur[j] = best
    end
    prev = cur
  end
  return prev[#b]
end

--- The key of `known` closest to `name` (a typo's likely meaning), or nil
-- when none is within a third of its length (at least 2); ties go to the
-- first in byte order.
-- @tparam string name
-- @tparam table known names as keys
-- @treturn ?string
function M.closest(name, known)
  local best, best_d = nil, math.max(2, #name // 3) + 1
  for k in pairs(known) do
    if type(k) == "string" then
      local d = M.distance(name, k)
      if d < best_d or (d == best_d and best ~= nil and k < best) then best, best_d = k, d end
    end
  end
  return best
end

return M
