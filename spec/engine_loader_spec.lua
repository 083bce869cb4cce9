-- engine_loader_spec.lua -- rule files read through descriptors
-- (core.read_rules_dir and the engine's loader): every directory up to /
-- judged, symbolic links, FIFOs and huge files refused without blocking or
-- quoting, editor and hidden files skipped with a warning, and reloads
-- racing a writable parent or a directory swapped underneath them never
-- loading what they should not, nor a mix of two versions.
local lu = require("luaunit")
local H = require("helpers")
local core = require("katamount.core")
local katamount = require("katamount")

local T = {}

local q = H.q
local BUILD = os.getenv("KATAMOUNT_BUILD") or "build"
local SANITIZED = os.getenv("KATAMOUNT_SANITIZED") ~= nil
-- H.run drops LD_PRELOAD; a sanitized core needs its runtime preloaded
local PRELOAD = os.getenv("LD_PRELOAD")
local ASAN = PRELOAD and ("LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(q(PRELOAD)) or ""

-- A directory `dir` (mode 755) holding rules.d with `files`.
local function tree(files, tag)
  local base = H.tmpdir(tag or "loader")
  H.sh("chmod 755 " .. q(base))
  local d = H.mkdir(base .. "/rules.d")
  for name, src in pairs(files or {}) do H.write(d .. "/" .. name, src) end
  return base, d
end

-- H.assert_error over core.read_rules_dir(...), the errno checked too.
local function refused(errno, ...)
  local ok, msg, err = core.read_rules_dir(...)
  return ok, msg, err, errno
end

local function new(d)
  return katamount.new({ rules_path = { d }, bundled = false })
end

-- Reloads per race (fewer under the sanitizers and valgrind, much slower).
local RELOADS = SANITIZED and 1000 or 5000

local function teardown()
  H.stop_loops()
  H.cleanup()
end

---------------------------------------------------------------------------
-- core.read_rules_dir: the contract.
---------------------------------------------------------------------------

T.TestReadRulesDir = { tearDown = teardown }

function T.TestReadRulesDir.test_reads_lua_files_sorted_with_warnings()
  local _, d = tree({ ["20-b.lua"] = "b", ["10-a.lua"] = "a", README = "x", [".hidden.lua"] = "h",
    [".#x.lua"] = "lock", ["x.lua~"] = "backup", ["#x.lua#"] = "autosave" })
  local files, warnings = core.read_rules_dir(d)
  lu.assertEquals(files, {
    { name = "10-a.lua", path = d .. "/10-a.lua", text = "a" },
    { name = "20-b.lua", path = d .. "/20-b.lua", text = "b" },
  })
  lu.assertEquals(warnings, {
    { file = d .. "/#x.lua#", what = "skipped", why = "an editor autosave file" },
    { file = d .. "/.#x.lua", what = "skipped", why = "an editor lock file" },
    { file = d .. "/.hidden.lua", what = "skipped", why = "a hidden file" },
    { file = d .. "/x.lua~", what = "skipped", why = "an editor backup file" },
  })
end

function T.TestReadRulesDir.test_error_contract()
  local base, d = tree({ ["10-a.lua"] = "a" })
  H.assert_error("rules directory '" .. base .. "/nope'", core.read_rules_dir(base .. "/nope"))
  H.assert_error("Not a directory", core.read_rules_dir(d .. "/10-a.lua"))
  H.assert_error("NUL", core.read_rules_dir("/tmp\0x"))
  H.assert_error("KM_PATH_MAX", core.read_rules_dir("/" .. ("a"):rep(4097)))
  lu.assertErrorMsgContains("string expected", core.read_rules_dir, {})
  lu.assertErrorMsgContains("must not be negative", core.read_rules_dir, d, -1)
  -- the rules directory itself a symbolic link: refused, not followed
  H.symlink(d, base .. "/link")
  H.assert_error("'" .. base .. "/link': a symbolic link: refused", core.read_rules_dir(base .. "/link"))
  -- a directory named *.lua
  H.mkdir(d .. "/50-dir.lua")
  H.assert_error("50-dir.lua': a directory, not a regular file: refused",
    refused(H.E.EISDIR, d))
end

-- Every directory above the rules directory, up to /, is judged: owned by
-- root or us and not writable by others, except a sticky directory owned by
-- root (as /tmp). The directories judged are those really above the one
-- opened, whatever symbolic links the path went through.
function T.TestReadRulesDir.test_directories_above()
  H.need_root()
  local base, d = tree({ ["10-a.lua"] = "a" })
  lu.assertNotNil(core.read_rules_dir(d))
  H.sh("chmod 777 " .. q(base))
  H.assert_error("rules directory '" .. d .. "': the directory '" .. base
    .. "' above it is group- or world-writable (mode 777) and not a sticky directory owned by root: refused",
    refused(H.E.EPERM, d))
  H.sh("chmod 1777 " .. q(base))
  lu.assertNotNil(core.read_rules_dir(d), "a sticky directory owned by root is allowed")
  H.sh("chown 65534 " .. q(base))
  H.assert_error("the directory '" .. base .. "' above it is owned by uid 65534",
    refused(H.E.EPERM, d))
  H.sh("chown 0 " .. q(base) .. " && chmod 755 " .. q(base))
  -- through a symbolic link: the real parent (world-writable) is judged
  local other = H.tmpdir("loader-other")
  H.sh("chmod 777 " .. q(other) .. " && mv " .. q(d) .. " " .. q(other) .. "/rules.d")
  H.symlink(other, base .. "/via")
  H.assert_error("the directory '" .. other .. "' above it is group- or world-writable",
    core.read_rules_dir(base .. "/via/rules.d"))
  -- unchecked (the bundled rules): read all the same
  lu.assertEquals(#assert(core.read_rules_dir(base .. "/via/rules.d", nil, false)), 1)
end

---------------------------------------------------------------------------
-- The engine: what is refused, what is skipped, keep-last-good.
---------------------------------------------------------------------------

T.TestLoaderRefuses = { tearDown = teardown }

-- A FIFO named *.lua is refused at once: the command (rules --rules and
-- rules --check) ends within its timeout, with the reason, status 2.
function T.TestLoaderRefuses.test_fifo_refused_without_blocking()
  local _, d = tree({ ["10-a.lua"] = "params.a = 1\n" })
  H.sh("mkfifo " .. q(d .. "/x.lua"))
  local none, err = new(d)
  lu.assertNil(none)
  lu.assertStrContains(err, "rules file '" .. d .. "/x.lua': a FIFO, not a regular file: refused")
  for _, args in ipairs({ "rules --rules " .. q(d), "rules --check " .. q(d) }) do
    local out, ok, code = H.run(("cd %s && { env -u KATAMOUNT_RULES_PATH KATAMOUNT_BUILD=%s %s"
      .. "timeout 20 lua5.4 bin/katamount %s >/dev/null; }"):format(q(H.root), q(BUILD), ASAN, args))
    lu.assertNotEquals(ok, true)
    lu.assertEquals(code, 2, out)
    lu.assertStrContains(out, "x.lua': a FIFO, not a regular file: refused")
  end
end

-- A symbolic link to a file only root may read is refused, its content
-- never compiled nor quoted.
function T.TestLoaderRefuses.test_symlink_to_root_file_refused_unquoted()
  local _, d = tree({ ["10-a.lua"] = "params.a = 1\n" })
  H.symlink("/etc/passwd", d .. "/evil.lua")
  local none, err = new(d)
  lu.assertNil(none)
  lu.assertStrContains(err, "rules file '" .. d .. "/evil.lua': a symbolic link: refused")
  lu.assertNotStrContains(err, "root:")
  local out = H.run(("cd %s && env -u KATAMOUNT_RULES_PATH KATAMOUNT_BUILD=%s %s"
    .. "timeout 20 lua5.4 bin/katamount rules --check %s"):format(q(H.root), q(BUILD), ASAN, q(d)))
  lu.assertStrContains(out, "evil.lua': a symbolic link: refused")
  lu.assertNotStrContains(out, "root:")
end

-- Editor lock (Emacs makes it a dangling symbolic link), backup and
-- autosave files are skipped, each with a warning the engine keeps.
function T.TestLoaderRefuses.test_editor_files_skipped_with_warning()
  local _, d = tree({ ["10-a.lua"] = "param { name = 'a', type = 'integer', default = 1, doc = 'a' }\n",
    ["10-a.lua~"] = "error('old')",
    ["#10-a.lua#"] = "error('autosave')" })
  H.symlink("root@host.1234:1700000000", d .. "/.#10-a.lua")
  local e = assert(new(d))
  lu.assertEquals(e:params().a, 1)
  lu.assertEquals(e:warnings(), {
    { file = d .. "/#10-a.lua#", line = 0, what = "skipped", why = "an editor autosave file" },
    { file = d .. "/.#10-a.lua", line = 0, what = "skipped", why = "an editor lock file" },
    { file = d .. "/10-a.lua~", line = 0, what = "skipped", why = "an editor backup file" },
  })
  assert(e:reload())
  H.sh("rm " .. q(d .. "/10-a.lua~"))
  assert(e:reload())
  lu.assertEquals(#e:warnings(), 2)
  -- the command shows them on stderr
  local out = H.run(("cd %s && { env -u KATAMOUNT_RULES_PATH KATAMOUNT_BUILD=%s %s"
    .. "timeout 20 lua5.4 bin/katamount rules --rules %s >/dev/null; }")
    :format(q(H.root), q(BUILD), ASAN, q(d)))
  lu.assertStrContains(out, "katamount: warning: " .. d .. "/.#10-a.lua: skipped (an editor lock file)")
  lu.assertStrContains(out, "katamount: warning: " .. d .. "/#10-a.lua#: skipped (an editor autosave file")
end

-- A file replacing one of the same name earlier in the path is loaded in
-- its place, with a warning naming what it replaces; the rules of a
-- bundled file it replaces and does not define again are named as gone,
-- and params nobody declares are named where they are set.
function T.TestLoaderRefuses.test_replacing_a_file_warns()
  local _, d1 = tree({ ["50-x.lua"] = "params.x = 1\n" }, "loader-r1")
  local _, d2 = tree({ ["50-x.lua"] = "params.x = 2\n", ["70-watchable.lua"] = "params.w = true\n" },
    "loader-r2")
  local e = assert(katamount.new({ rules_path = { d1, d2 } }))
  lu.assertEquals(e:params().x, 2)
  local bundled = assert(require("katamount.loader").bundled_dir())
  local undeclared = "no rule file declares it with param { name = ..., type = ..., default = ...,"
    .. " doc = ... }"
  lu.assertEquals(e:warnings(), {
    { file = d2 .. "/50-x.lua", line = 0, what = "replaces", why = "the earlier " .. d1 .. "/50-x.lua" },
    { file = d2 .. "/70-watchable.lua", line = 0, what = "replaces",
      why = "the bundled " .. bundled .. "/70-watchable.lua" },
    { file = d2 .. "/70-watchable.lua", line = 1, what = "param 'w' is not declared", why = undeclared },
    { file = d2 .. "/50-x.lua", line = 1, what = "param 'x' is not declared", why = undeclared },
    { file = d2 .. "/70-watchable.lua", line = 0, what = "rules gone: 'watchable'",
      why = "the bundled " .. bundled .. "/70-watchable.lua defined them and this file, which replaces it,"
        .. " does not" },
  })
end

-- A 6 GB sparse rule file: new() and reload() return nil, message naming
-- the limit (they never raise), and reload keeps the rules it had.
function T.TestLoaderRefuses.test_huge_sparse_file()
  local _, d = tree({ ["10-a.lua"] = "params.a = 1\n" })
  local e = assert(new(d))
  H.sh("truncate -s 6G " .. q(d .. "/50-huge.lua"))
  local want = "rules file '" .. d .. "/50-huge.lua': 6442450944 bytes, larger than KM_RULE_FILE_MAX "
    .. "(1048576 bytes): refused"
  local ok, none, err = pcall(new, d)
  lu.assertTrue(ok, none)
  lu.assertNil(none)
  lu.assertEquals(err, want)
  local rok, r, rerr = pcall(e.reload, e)
  lu.assertTrue(rok, r)
  lu.assertNil(r)
  lu.assertEquals(rerr, want)
  lu.assertEquals(e:params().a, 1)
  lu.assertEquals(#e:rules(), 0)
end

function T.TestLoaderRefuses.test_writable_or_foreign_file_refused()
  H.need_root()
  local _, d = tree({ ["10-a.lua"] = "params.a = 1\n" })
  H.sh("chmod 664 " .. q(d .. "/10-a.lua"))
  local _, err = new(d)
  lu.assertEquals(err, "rules file '" .. d .. "/10-a.lua': group- or world-writable (mode 664): refused")
  H.sh("chmod 644 " .. q(d .. "/10-a.lua") .. " && chown 65534 " .. q(d .. "/10-a.lua"))
  _, err = new(d)
  lu.assertStrContains(err, "10-a.lua': owned by uid 65534 (only root or uid 0 may own rules): refused")
end

---------------------------------------------------------------------------
-- Races: reloads while someone else changes the directories.
---------------------------------------------------------------------------

T.TestLoaderRaces = { tearDown = teardown }

-- The rules directory sits in a world-writable (not sticky) directory: an
-- unprivileged user keeps swapping their own rules.d in. Not one of a few
-- thousand reloads loads them; every one is refused naming the parent.
function T.TestLoaderRaces.test_writable_parent_never_loaded()
  H.need_root()
  local base, d = tree({ ["10-a.lua"] = "params.who = 'root'\n" }, "loader-race")
  local e = assert(new(d))
  H.sh("chmod 777 " .. q(base))
  H.sh("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c " ..
    q("mkdir " .. base .. "/evil && echo \"params.who = 'evil'\" > " .. base .. "/evil/10-a.lua"))
  H.start_loop(("cd %s && while :; do mv rules.d x; mv evil rules.d; mv rules.d evil; mv x rules.d; done")
    :format(q(base)), true)
  local by_parent, other = 0, {}
  for _ = 1, RELOADS do
    local ok, err = e:reload()
    lu.assertNil(ok, "a reload succeeded under a world-writable parent")
    if err:find("the directory '" .. base .. "' above it is group- or world-writable", 1, true) then
      by_parent = by_parent + 1
    else
      other[#other + 1] = err
    end
    lu.assertEquals(e:params().who, "root")
  end
  H.stop_loops()
  H.sh(("cd %s && if [ \"$(stat -c %%u rules.d 2>/dev/null)\" = 65534 ]; then mv rules.d evil; fi; "
    .. "if [ -d x ]; then mv x rules.d; fi"):format(q(base)))
  -- the refusals name the parent; the rest found rules.d moved away
  for _, err in ipairs(other) do lu.assertStrContains(err, "rules directory '" .. d .. "'") end
  lu.assertEquals(by_parent + #other, RELOADS)
  -- and a fresh engine is refused too
  local none, err = new(d)
  lu.assertNil(none)
  lu.assertStrContains(err, "the directory '" .. base .. "' above it is group- or world-writable")
end

-- Two versions of a rules directory, swapped by renames while the engine
-- reloads: every reload that succeeds holds one version whole.
function T.TestLoaderRaces.test_swapped_directory_never_mixed()
  local function version(v)
    return { ["10-a.lua"] = ("params.m1 = %q\n"):format(v), ["20-b.lua"] = ("params.m2 = %q\n"):format(v),
      ["30-c.lua"] = ("params.m3 = %q\n"):format(v) }
  end
  local base, d = tree(version("A"), "loader-swap")
  local other = H.mkdir(base .. "/other")
  for name, src in pairs(version("B")) do H.write(other .. "/" .. name, src) end
  local e = assert(new(d))
  H.start_loop(("cd %s && while :; do mv rules.d t; mv other rules.d; mv t other; done"):format(q(base)))
  for _ = 1, RELOADS do
    if e:reload() then
      local p = e:params()
      lu.assertTrue(p.m1 == p.m2 and p.m2 == p.m3, ("a mixed set: %s %s %s"):format(p.m1, p.m2, p.m3))
    end
  end
  -- the same through the core, many times, file by file
  for _ = 1, RELOADS do
    local files = core.read_rules_dir(d)
    if files then
      lu.assertEquals(#files, 3)
      local v = files[1].text:match('"(%u)"')
      for _, f in ipairs(files) do lu.assertEquals(f.text:match('"(%u)"'), v) end
    end
  end
  H.stop_loops()
  H.sh("cd " .. q(base) .. " && { [ -d rules.d ] || mv t rules.d; }")
  assert(e:reload())
  local p = e:params()
  lu.assertTrue(p.m1 == p.m2 and p.m2 == p.m3)
end

return T
