-- spec/core_fields_spec.lua -- katamount.core.mount_fields: an OCI mount of
-- a spec (outside text) checked and copied into the fields a decision
-- starts from, as decide.lua's `fields` did in Lua: defaults, the exact
-- messages, options read once each (as ipairs), fresh copies, large lists.
local lu = require("luaunit")
local core = require("katamount.core")

local T = {}

function T.test_fields_and_defaults()
  local options = { "rbind", "ro" }
  local m = { source = "/a", destination = "/b", type = "bind", options = options, extra = 1 }
  local f = core.mount_fields(m)
  lu.assertEquals(f, { source = "/a", destination = "/b", type = "bind", options = { "rbind", "ro" } })
  lu.assertNotIs(f.options, options)                  -- a copy: the spec's list is not shared
  f.options[1] = "x"
  lu.assertEquals(options[1], "rbind")
  lu.assertEquals(core.mount_fields({}), { source = "", destination = "", type = "", options = {} })
  -- up to the first nil, as ipairs
  lu.assertEquals(core.mount_fields({ options = { "a", "b", nil, "d" } }).options, { "a", "b" })
end

function T.test_wrong_types_are_named()
  for _, c in ipairs({
    { { source = 1 }, "mount source must be a string, got number" },
    { { destination = false }, "mount destination must be a string, got boolean" },
    { { type = {} }, "mount type must be a string, got table" },
    { { options = "ro" }, "mount options must be a list, got string" },
    { { options = { "ro", 7 } }, "mount option 2 must be a string, got number" },
    { { options = setmetatable({}, { __index = function(_, i) return i == 1 and "ro" or nil end }),
      source = "/a" }, nil },
    { { options = setmetatable({}, { __index = function() return true end }) },
      "mount option 1 must be a string, got boolean" },
  }) do
    local f, err = core.mount_fields(c[1])
    if c[2] then
      lu.assertNil(f)
      lu.assertEquals(err, c[2])
    else
      lu.assertEquals(f.options, { "ro" })
    end
  end
  lu.assertErrorMsgContains("table expected", core.mount_fields, "bind")
  lu.assertErrorMsgContains("table expected", core.mount_fields, nil)
end

function T.test_a_list_behind_index_is_read_once_per_element()
  local reads, want = {}, { "rbind", "ro", "nosuid" }
  local list = setmetatable({}, { __index = function(_, i)
    reads[i] = (reads[i] or 0) + 1
    return want[i]
  end })
  -- the mount itself behind __index too: each field read through it
  local m = setmetatable({}, { __index = { source = "/s", options = list } })
  local f = assert(core.mount_fields(m))
  lu.assertEquals(f.options, want)
  lu.assertEquals(f.source, "/s")
  for i = 1, #want + 1 do lu.assertEquals(reads[i], 1, i) end
  -- an __index that raises: the error is the caller's, as ipairs would raise it
  lu.assertErrorMsgContains("boom", core.mount_fields,
    { options = setmetatable({}, { __index = function() error("boom") end }) })
end

function T.test_large_lists()
  local many = {}
  for i = 1, 100000 do many[i] = "o" .. i end
  local f = assert(core.mount_fields({ options = many }))
  lu.assertEquals(#f.options, 100000)
  lu.assertEquals(f.options[100000], "o100000")
  many[50000] = 5
  local none, err = core.mount_fields({ options = many })
  lu.assertNil(none)
  lu.assertEquals(err, "mount option 50000 must be a string, got number")
end

return { TestCoreMountFields = T }
