-- engine_layers_spec.lua -- katamount.layers: the pure parser of kata
-- overlay layer options (also a libFuzzer target's entry point), following
-- kata's copyLayersToMounts (src/runtime/pkg/containerd-shim-v2/create.go):
-- each option becomes a container mount with exactly its own options.
local lu = require("luaunit")
local layers = require("katamount.layers")

local T = {}

local P = "io.katacontainers.fs-opt.layer="
local ROOT = "/run/kata-containers/sandbox/layers/"

T.TestLayerParse = {}

function T.TestLayerParse.test_good_options()
  local cases = {
    { P .. "/var/lib/layers/abc,erofs",
      { source = "/var/lib/layers/abc", type = "erofs", options = {}, destination = ROOT .. "abc" } },
    { P .. "/l/one.img,ext4,ro,io.katacontainers.fs-opt.block_device=file",
      { source = "/l/one.img", type = "ext4",
        options = { "ro", "io.katacontainers.fs-opt.block_device=file" }, destination = ROOT .. "one.img" } },
    -- trailing slashes do not change the basename (Go filepath.Base)
    { P .. "/l/dir//,overlay", { source = "/l/dir//", type = "overlay", options = {},
      destination = ROOT .. "dir" } },
    -- a relative source keeps its last element
    { P .. "layer0,tar", { source = "layer0", type = "tar", options = {}, destination = ROOT .. "layer0" } },
    -- the value alone (without the prefix) is accepted too
    { "/a/b,ext4,rw", { source = "/a/b", type = "ext4", options = { "rw" }, destination = ROOT .. "b" } },
    -- empty option fields are dropped
    { P .. "/a/b,ext4,,ro,",
      { source = "/a/b", type = "ext4", options = { "ro" }, destination = ROOT .. "b" } },
  }
  for _, c in ipairs(cases) do
    local got, err = layers.parse(c[1])
    lu.assertNil(err, c[1])
    lu.assertEquals(got, c[2], c[1])
  end
end

function T.TestLayerParse.test_bad_options_name_the_option()
  local cases = {
    { P .. "/only/source", "got 1 field" },
    { P, "got 1 field" },
    { "", "got 1 field" },
    { P .. ",ext4", "empty source" },
    { P .. "/a,", "empty type" },
    { P .. "/,ext4", "names no file" },
    { P .. "/a/..,ext4", "names no file" },
    { P .. ".,ext4", "names no file" },
    { P .. "/a\0b,ext4", "NUL" },
  }
  for _, c in ipairs(cases) do
    local got, err = layers.parse(c[1])
    lu.assertNil(got, c[1])
    lu.assertIsString(err)
    lu.assertStrContains(err, c[2])
    lu.assertStrContains(err, "layer option")
    -- the message quotes the option (control bytes escaped)
    lu.assertStrContains(err, (string.format("%q", c[1]):gsub("\\\n", "\\n")))
  end
end

-- The AKS tardev snapshotter's options (kata's policy samples,
-- src/agent/samples/policy/test-input/, before a2b815cdef): kata HEAD's
-- copyLayersToMounts takes them as written.
function T.TestLayerParse.test_tardev_options_as_kata_head_reads_them()
  local F = "io.katacontainers.fs-opt."
  local name = "2c342a137e693c7898aec36da1047f191dc7c1687e66198adacc439cf4adf379"
  local rh = F .. "root-hash=8568c70c0ccfe0051092e818da769111a59882cd19dd799d3bca5ffa82791080"
  local value = name .. ",tar,ro," .. F .. "block_device=file," .. F .. "is-layer," .. rh
  -- a plain value: a relative source kept relative (layer-src-prefix is not applied)
  local got = assert(layers.parse(P .. value))
  lu.assertEquals(got, { source = name, destination = ROOT .. name, type = "tar",
    options = { "ro", F .. "block_device=file", F .. "is-layer", rh } })
  -- the snapshotter's base64 value has no comma: one field, kata's "Missing fields"
  local b64 = "MmMzNDJhMTM3ZTY5M2M3ODk4YWVjMzZkYTEwNDdmMTkxZGM3YzE2ODdlNjYxOThhZGFjYzQzOWNmNGFk"
    .. "ZjM3OSx0YXIscm8saW8ua2F0YWNvbnRhaW5lcnMuZnMtb3B0LmJsb2NrX2RldmljZT1maWxlLGlvLmth"
    .. "dGFjb250YWluZXJzLmZzLW9wdC5pcy1sYXllcg=="
  local none, err = layers.parse(P .. b64)
  lu.assertNil(none)
  lu.assertStrContains(err, "got 1 field")
  lu.assertStrContains(err, "base64")
  -- the other options of a tardev root are no layers
  local all = assert(layers.from_options({ F .. "layer-src-prefix=/var/lib/containerd/x/layers",
    P .. value, F .. "overlay-rw", "lowerdir=" .. name }))
  lu.assertEquals(#all, 1)
  lu.assertEquals(all[1].option, P .. value)
end

function T.TestLayerParse.test_non_strings()
  for _, v in ipairs({ 1, true, {}, print }) do
    local got, err = layers.parse(v)
    lu.assertNil(got)
    lu.assertStrContains(err, "must be a string")
  end
  local got, err = layers.parse(nil)
  lu.assertNil(got)
  lu.assertStrContains(err, "must be a string")
end

function T.TestLayerParse.test_never_raises_on_random_bytes()
  local n = os.getenv("KATAMOUNT_SANITIZED") and 200 or 20000
  math.randomseed(42)
  local alphabet = { ",", "/", ".", "\0", "a", "=", "\n", "\255", P }
  for _ = 1, n do
    local parts = {}
    for j = 1, math.random(0, 12) do
      parts[j] = math.random(4) == 1 and string.char(math.random(0, 255))
        or alphabet[math.random(#alphabet)]
    end
    local s = table.concat(parts)
    local ok, got, err = pcall(layers.parse, s)
    lu.assertTrue(ok, "raised on " .. string.format("%q", s))
    lu.assertTrue((got ~= nil) ~= (err ~= nil))
    if got then
      lu.assertEquals(got.destination:sub(1, #ROOT), ROOT)
      lu.assertNotStrContains(got.destination:sub(#ROOT + 1), "/")
    end
  end
end

-- Linear time: a 64x longer adversarial input costs about 64x, not 4096x.
function T.TestLayerParse.test_linear_time()
  local function cost(k)
    local inputs = {
      P .. string.rep("/", k) .. ",x",
      P .. string.rep(",", k),
      P .. "a," .. string.rep("b", k),
      P .. string.rep("/a", k) .. "/,ext4",
    }
    local t0 = os.clock()
    for _ = 1, 5 do
      for _, s in ipairs(inputs) do layers.parse(s) end
    end
    return os.clock() - t0
  end
  local k = os.getenv("KATAMOUNT_SANITIZED") and 256 or 4096
  local small = math.max(cost(k), 1e-4)
  local big = cost(k * 64)
  lu.assertTrue(big < small * 64 * 8, ("64x input cost %.1fx"):format(big / small))
end

function T.TestLayerParse.test_from_options()
  local got = assert(layers.from_options({ "ro", P .. "/a/x,ext4", "lowerdir=/y", P .. "/b/y,erofs,ro" }))
  lu.assertEquals(#got, 2)
  lu.assertEquals(got[1].destination, ROOT .. "x")
  lu.assertEquals(got[1].option, P .. "/a/x,ext4")
  lu.assertEquals(got[2].options, { "ro" })
  lu.assertEquals(layers.from_options(nil), {})
  local none, err = layers.from_options({ P .. "bad" })
  lu.assertNil(none)
  lu.assertStrContains(err, P .. "bad")
end

function T.TestLayerParse.test_pure_lua()
  -- no dependency on the C core: the fuzz target loads this file alone
  local src = io.open("lua/katamount/layers.lua"):read("a")
  lu.assertNotStrContains(src, "require")
end

return T
