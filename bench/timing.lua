-- bench/timing.lua -- per-call medians over repeated batches, on a monotonic
-- nanosecond clock (benchclock). A batch is sized so that it lasts at least
-- `batch_ns`; the figure is the median of `batches` batch means.
local clock = require("benchclock")

local M = {}

M.batch_ns = 2e6     -- each batch lasts at least 2 ms
M.batches = 31       -- median over 31 batches
M.case_ns = 3e9      -- and a case stops after about 3 s, whatever

local now = clock.now

local function median(xs)
  table.sort(xs)
  local n = #xs
  if n % 2 == 1 then return xs[(n + 1) // 2] end
  return (xs[n // 2] + xs[n // 2 + 1]) / 2
end
M.median = median

--- Time `batch(iters)`, which runs `iters` calls and returns the elapsed ns.
-- Returns the median ns per call.
function M.measure_batches(batch)
  local iters, elapsed = 1, batch(1)
  -- calibrate: grow the batch until it lasts batch_ns
  while elapsed < M.batch_ns and iters < 1e7 do
    local want = elapsed > 0 and math.ceil(iters * M.batch_ns / elapsed * 1.1) or iters * 10
    iters = math.min(math.max(want, iters * 2), iters * 100)
    elapsed = batch(iters)
  end
  local samples = { elapsed / iters }
  local start = now()
  while #samples < M.batches and now() - start < M.case_ns do
    samples[#samples + 1] = batch(iters) / iters
  end
  return median(samples), iters, #samples
end

--- Several variants of one case, measured side by side: each is calibrated
-- on its own, then their batches alternate (A B C A B C ...), so that every
-- variant sees the same machine (other load, frequency, caches) and their
-- ratios are fair even on a busy host; each batch starts after a full
-- garbage collection. `batches` is a list of batch
-- functions (nil entries are skipped); returns the list of medians.
function M.measure_side_by_side(batches)
  local iters, samples = {}, {}
  local n = 0
  for i, batch in pairs(batches) do
    n = math.max(n, i)
    local k, elapsed = 1, batch(1)
    while elapsed < M.batch_ns and k < 1e7 do
      local want = elapsed > 0 and math.ceil(k * M.batch_ns / elapsed * 1.1) or k * 10
      k = math.min(math.max(want, k * 2), k * 100)
      elapsed = batch(k)
    end
    iters[i], samples[i] = k, { elapsed / k }
  end
  local start = now()
  local rounds = 1
  while rounds < M.batches and now() - start < M.case_ns do
    for i = 1, n do
      local batch = batches[i]
      if batch then
        -- no variant pays for another's garbage: the collector starts each
        -- batch with no debt (outside the timed part)
        collectgarbage("collect")
        local s = samples[i]
        s[#s + 1] = batch(iters[i]) / iters[i]
      end
    end
    rounds = rounds + 1
  end
  local out = {}
  for i = 1, n do
    if samples[i] then out[i] = median(samples[i]) end
  end
  return out
end

--- Median ns per call of `f(...)`.
function M.measure(f, ...)
  local a, b, c, d = ...
  return M.measure_batches(function(iters)
    local t0 = now()
    for _ = 1, iters do f(a, b, c, d) end
    return now() - t0
  end)
end

M.now = now

--- Human form of a duration in ns.
function M.fmt(ns)
  if ns == nil then return "n/a" end
  if ns < 1e3 then return ("%.0f ns"):format(ns) end
  if ns < 1e6 then return ("%.2f µs"):format(ns / 1e3) end
  if ns < 1e9 then return ("%.2f ms"):format(ns / 1e6) end
  return ("%.2f s"):format(ns / 1e9)
end

return M
