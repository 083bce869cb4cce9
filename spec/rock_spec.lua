-- spec/rock_spec.lua -- the rock: the rockspec lists every source, module,
-- rule file and script of the tree, and an offline `luarocks make` into a
-- scratch tree installs a module and a command that work from there.
local lu = require("luaunit")
local H = require("helpers")

local ROCKSPEC = "katamount-scm-1.rockspec"

local function load_rockspec()
  local env = {}
  local chunk = assert(loadfile(ROCKSPEC, "t", env))
  chunk()
  return env
end

local function ls(pattern)
  local out = H.sh("ls " .. pattern .. " 2>/dev/null || true")
  local t = {}
  for line in out:gmatch("[^\n]+") do t[#t + 1] = line end
  table.sort(t)
  return t
end

local function values_set(t)
  local s = {}
  for _, v in pairs(t) do s[v] = true end
  return s
end

local TestRockspec = {}

function TestRockspec.test_declares_lua_54_and_builtin()
  local r = load_rockspec()
  lu.assertEquals(r.package, "katamount")
  lu.assertEquals(r.version, "scm-1")
  lu.assertEquals(r.build.type, "builtin")
  lu.assertEquals(r.dependencies[1], "lua >= 5.4, < 5.5")
  local deps = table.concat(r.dependencies, " ")
  lu.assertStrContains(deps, "lua-cjson")
  lu.assertStrContains(deps, "argparse")
  -- the module never links liblua: no libraries named
  lu.assertNil(r.build.modules["katamount.core"].libraries)
end

function TestRockspec.test_lists_every_c_source()
  local r = load_rockspec()
  local listed = values_set(r.build.modules["katamount.core"].sources)
  for _, f in ipairs(ls("c/*.c")) do
    lu.assertTrue(listed[f], f .. " is missing from the rockspec's sources")
  end
  for f in pairs(listed) do
    local _, exists = H.run("test -f " .. H.q(f))
    lu.assertTrue(exists, f .. " is listed but does not exist")
  end
end

function TestRockspec.test_lists_every_lua_module_rule_and_script()
  local r = load_rockspec()
  local mods = values_set(r.build.modules)
  for _, f in ipairs(ls("lua/katamount/*.lua lua/katamount/cli/*.lua")) do
    lu.assertTrue(mods[f], f .. " is missing from the rockspec's modules")
  end
  for name, f in pairs(r.build.modules) do
    if type(f) == "string" then
      local _, exists = H.run("test -f " .. H.q(f))
      lu.assertTrue(exists, f .. " (" .. name .. ") is listed but does not exist")
    end
  end
  local rules = values_set(r.build.install.lua)
  for _, f in ipairs(ls("rules/*.lua")) do
    lu.assertTrue(rules[f], f .. " is missing from the rockspec's build.install.lua")
  end
  for name, f in pairs(r.build.install.lua) do
    local base = f:match("^rules/(.+)%.lua$")
    lu.assertNotNil(base, f)
    lu.assertEquals(name, "katamount.rules." .. base)
  end
  lu.assertEquals(r.build.install.bin.katamount, "bin/katamount")
  lu.assertEquals(r.build.copy_directories, { "man" })
  lu.assertEquals(r.description.license, "Apache-2.0")
  local license = H.read("LICENSE")
  lu.assertStrContains(license, "Apache License\n                           Version 2.0, January 2004")
  lu.assertStrContains(license, "END OF TERMS AND CONDITIONS")
end

-- One version: KM_VERSION in c/katamount.h is core._VERSION, katamount._VERSION
-- and what `katamount --version` prints; the rockspec is "scm-N" (a build
-- from the checkout, no release number) or "<KM_VERSION>-N".
function TestRockspec.test_one_version()
  local core = require("katamount.core")
  local header = H.read("c/katamount.h"):match('#define KM_VERSION "([^"]+)"')
  lu.assertNotNil(header, "KM_VERSION in c/katamount.h")
  lu.assertEquals(core._VERSION, header)
  lu.assertEquals(require("katamount")._VERSION, header)
  local v = load_rockspec().version
  lu.assertTrue(v:match("^scm%-%d+$") ~= nil or v == header .. v:match("%-%d+$"),
    ("rockspec version %s is neither scm-N nor %s-N"):format(v, header))
  lu.assertEquals(ROCKSPEC, "katamount-" .. v .. ".rockspec")
end

local TestLuarocksMake = {}

function TestLuarocksMake:setUp()
  lu.skipIf(os.getenv("KATAMOUNT_SANITIZED") ~= nil, "the sanitized runs test the build, not the rock")
  self.dir = H.tmpdir("rock")
  self.src = H.mkdir(self.dir .. "/src")
  self.tree = self.dir .. "/tree"
  -- a copy of the sources, so that the in-tree build leaves the checkout clean
  H.sh("tar cf - c lua rules bin man " .. ROCKSPEC .. " luarocks-offline.lua | tar xf - -C " .. H.q(self.src))
  -- HOME in the scratch directory: luarocks keeps a cache there
  H.sh(("cd %s && HOME=%s LUAROCKS_CONFIG=%s/luarocks-offline.lua luarocks --lua-version 5.4"
    .. " --tree %s make %s")
    :format(H.q(self.src), H.q(self.dir), H.q(self.src), H.q(self.tree), ROCKSPEC))
  self.env = ("LUA_PATH=%s LUA_CPATH=%s "):format(
    H.q(self.tree .. "/share/lua/5.4/?.lua;" .. self.tree .. "/share/lua/5.4/?/init.lua;;"),
    H.q(self.tree .. "/lib/lua/5.4/?.so;;"))
end

function TestLuarocksMake.tearDown() H.cleanup() end

function TestLuarocksMake:test_installs_a_core_that_loads_without_liblua()
  local so = self.tree .. "/lib/lua/5.4/katamount/core.so"
  local deps = H.sh("ldd " .. H.q(so))
  lu.assertNotStrContains(deps, "liblua")
  local out = H.sh("cd / && " .. self.env .. "lua5.4 -e 'local c = require \"katamount.core\"; " ..
    "print(package.searchpath(\"katamount.core\", package.cpath), c.clean(\"/a//b/../c/\"))'")
  lu.assertEquals(out, so .. "\t/a/c")
end

function TestLuarocksMake:test_installed_engine_finds_its_bundled_rules()
  local out = H.sh("cd / && " .. self.env .. "lua5.4 -e 'local k = require \"katamount\"; " ..
    "local r = k.rules(); print(#r > 0, r[1].file)'")
  local ok, file = out:match("^(%S+)\t(.+)$")
  lu.assertEquals(ok, "true")
  lu.assertStrContains(file, self.tree .. "/share/lua/5.4/katamount/rules/")
end

function TestLuarocksMake:test_installed_command_runs()
  local out = H.sh("cd / && " .. self.tree .. "/bin/katamount --version")
  lu.assertEquals(out, "katamount " .. require("katamount.core")._VERSION)
  local classified = H.sh("cd / && " .. self.tree .. "/bin/katamount classify --json " ..
    "--source proc --destination /proc --type proc")
  lu.assertStrContains(classified, '"class"')
  -- the command's modules come from the tree, not from a checkout
  local completion = H.sh("cd / && " .. self.tree .. "/bin/katamount completion bash")
  lu.assertStrContains(completion, "complete -F")
end

function TestLuarocksMake:test_installs_the_man_page()
  local page = H.sh(("ls %s/lib/luarocks/rocks-5.4/katamount/*/man/man1/katamount.1"):format(H.q(self.tree)))
  lu.assertStrContains(H.read(page), ".TH KATAMOUNT 1")
  -- every command and flag of `--help` is in it
  local help = H.sh("cd / && " .. self.tree .. "/bin/katamount --help")
  for _, c in ipairs({ "plan", "why", "classify", "rules", "mounts", "completion" }) do
    lu.assertStrContains(help, c)
    lu.assertStrContains(H.read(page), ".B " .. c)
  end
end

return { TestRockspec = TestRockspec, TestLuarocksMake = TestLuarocksMake }
