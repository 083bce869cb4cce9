-- spec/helpers.lua -- what the specs share: temporary trees, tmpfs and bind
-- mounts (only inside a private mount namespace), shell commands, files.
local lu = require("luaunit")

local H = {}

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
H.q = sh_quote

--- Run a shell command; return its stdout (trailing newline removed) and
-- whether it succeeded.
function H.run(cmd)
  -- `make asan` preloads the sanitizer runtimes into lua5.4; the tools we
  -- run must not inherit them (LeakSanitizer aborts coreutils at exit).
  local p = assert(io.popen("unset LD_PRELOAD; " .. cmd .. " 2>&1", "r"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out:gsub("\n$", ""), ok, code
end

--- Run a shell command that must succeed.
function H.sh(cmd)
  local out, ok, code = H.run(cmd)
  if not ok then error(("command failed (%s): %s\n%s"):format(tostring(code), cmd, out), 2) end
  return out
end

local function readlink(p)
  local out, ok = H.run("readlink " .. p)
  return ok and out or nil
end

--- True when we are root in a mount namespace of our own, so that tmpfs
-- and bind mounts made by the specs vanish with the process.
H.private_ns = (function()
  local out = H.run("id -u")
  if out ~= "0" then return false end
  local mine, init = readlink("/proc/self/ns/mnt"), readlink("/proc/1/ns/mnt")
  if init == nil then
    -- pid 1 may be out of reach (a sandbox): compare with the namespace of
    -- the process that started us (make, or the shell that ran `unshare -m`).
    local f = io.open("/proc/self/stat", "r")
    local ppid = f and f:read("a"):match("^%d+ %(.*%) %S+ (%d+)")
    if f then f:close() end
    init = ppid and readlink("/proc/" .. ppid .. "/ns/mnt")
  end
  return mine ~= nil and init ~= nil and mine ~= init
end)()

H.is_root = H.run("id -u") == "0"

--- Skip the current test unless mounts can be made safely.
function H.need_mounts()
  lu.skipIf(not H.private_ns, "needs root inside `unshare -m` (make test does that)")
end

--- Skip the current test unless we are root.
function H.need_root()
  lu.skipIf(not H.is_root, "needs root")
end

local tmp_dirs = {}

--- The scratch root every spec's temporary directories live in. The runner
-- (`spec/run.lua`) makes it with H.scratch_open() before the specs run and
-- checks and removes it with H.scratch_close() after them. Inside a private
-- mount namespace it is a tmpfs of its own (mode 0755), so no spec depends on
-- what `/tmp` is (its file system, its mode, what else lives there) and
-- nothing a spec leaves reaches the host.
H.scratch = nil

--- Make the scratch root (once): a directory under $TMPDIR (or /tmp), with a
-- fresh tmpfs on it when mounts are private.
-- @treturn string its path
function H.scratch_open()
  if H.scratch then return H.scratch end
  local base = os.getenv("TMPDIR")
  if base == nil or base == "" or base:sub(1, 1) ~= "/" then base = "/tmp" end
  local d = H.sh("mktemp -d " .. sh_quote(base .. "/katamount-specs.XXXXXX"))
  if H.private_ns then
    H.sh("mount -t tmpfs -o mode=0755,size=2g katamount-specs " .. sh_quote(d))
  else
    H.sh("chmod 0755 " .. sh_quote(d))
  end
  H.scratch = d
  return d
end

-- Mount points at or below `dir`, deepest first, from this process's own
-- mount table (the core parses and unescapes it: spaces, tabs, newlines).
local function mounts_below(dir)
  local core = require("katamount.core")
  local found, seen = {}, {}
  local t <close> = core.mounts()
  if t == nil then return found end
  for e in t:entries() do
    local m = e.mount_point
    if (m == dir or m:sub(1, #dir + 1) == dir .. "/") and not seen[m] then
      seen[m] = true
      found[#found + 1] = m
    end
  end
  table.sort(found, function(a, b) return #a > #b end)
  return found
end
H.mounts_below = mounts_below

--- Unmount everything at or below `dir` (deepest first, each as often as it
-- is stacked) and remove it.
function H.rm_rf(dir)
  if H.private_ns then
    for _ = 1, 16 do
      local list = mounts_below(dir)
      if #list == 0 then break end
      for _, m in ipairs(list) do H.run("umount -l " .. sh_quote(m)) end
    end
  end
  H.run("rm -rf " .. sh_quote(dir))
end

--- What the specs left behind in the scratch root: entries and mounts below
-- it (the scratch tmpfs itself excepted). Empty when all is clean.
-- @treturn {string,...} one line per leftover
function H.litter()
  local left = {}
  if H.scratch == nil then return left end
  local core = require("katamount.core")
  for _, name in ipairs(core.list_dir(H.scratch) or {}) do
    left[#left + 1] = "file " .. H.scratch .. "/" .. name
  end
  for _, m in ipairs(mounts_below(H.scratch)) do
    if m ~= H.scratch then left[#left + 1] = "mount " .. m end
  end
  -- loop devices still attached to an image of ours
  for _, dev in ipairs(core.list_dir("/sys/block") or {}) do
    local f = dev:match("^loop%d+$") and io.open("/sys/block/" .. dev .. "/loop/backing_file")
    if f then
      local backing = f:read("l") or ""
      f:close()
      if backing:sub(1, #H.scratch + 1) == H.scratch .. "/" then
        left[#left + 1] = "loop device /dev/" .. dev .. " on " .. backing
      end
    end
  end
  return left
end

--- Remove the scratch root (after H.litter() was read).
function H.scratch_close()
  if H.scratch == nil then return end
  H.rm_rf(H.scratch)
  H.scratch = nil
end

--- A fresh temporary directory (mode 0700) in the scratch root, removed
-- (with anything mounted below it unmounted) by H.cleanup().
function H.tmpdir(tag)
  local d = H.sh("mktemp -d " .. sh_quote(H.scratch_open() .. "/" .. (tag or "x") .. ".XXXXXX"))
  tmp_dirs[#tmp_dirs + 1] = d
  return d
end

function H.cleanup()
  for i = #tmp_dirs, 1, -1 do H.rm_rf(tmp_dirs[i]); tmp_dirs[i] = nil end
end

-- Background loops (a spec's attacker), each in a process group of its own
-- (setsid) that H.stop_loops kills whole, waiting until none of its
-- processes is left (a `mv` outliving its shell would move things after
-- the spec looked). A loop also ends its group once this process is gone:
-- a run killed midway (a timeout) leaves no attacker behind.
local loops = {}
local runner_pid
do
  local f = assert(io.open("/proc/self/stat"))
  runner_pid = assert(f:read("n"))
  f:close()
end

--- Start `script` (sh) in the background, as nobody when `as_nobody`.
function H.start_loop(script, as_nobody)
  local prefix = as_nobody and "setpriv --reuid=65534 --regid=65534 --clear-groups " or ""
  local watched = ("(\n%s\n) & while [ -d /proc/%d ] && kill -0 $! 2>/dev/null; do sleep 0.2; done;"
    .. " kill -s KILL 0"):format(script, runner_pid)
  local pid = H.sh("setsid " .. prefix .. "sh -c " .. sh_quote(watched)
    .. " </dev/null >/dev/null 2>&1 & echo $!")
  loops[#loops + 1] = pid
  return pid
end

--- Stop every loop H.start_loop started.
function H.stop_loops()
  for i = #loops, 1, -1 do
    H.run("kill -s KILL -- -" .. loops[i] .. "; while kill -s 0 -- -" .. loops[i]
      .. " 2>/dev/null; do sleep 0.01; done")
    loops[i] = nil
  end
end

--- A spec tool of spec/tools/ (built by make test, asan and valgrind in
-- build-spec-tools/): its path; an error saying so when it is not built.
function H.spec_tool(name)
  local path = H.root .. "/build-spec-tools/" .. name
  local f = io.open(path, "r")
  if f == nil then
    error(("%s is not built: run the specs with make test (or make asan, make valgrind)"):format(path), 2)
  end
  f:close()
  return path
end

function H.mkdir(path) H.sh("mkdir -p " .. sh_quote(path)) return path end

function H.write(path, content)
  local f = assert(io.open(path, "wb"))
  f:write(content or "")
  f:close()
  return path
end

function H.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function H.symlink(target, path) H.sh("ln -s " .. sh_quote(target) .. " " .. sh_quote(path)) return path end

--- Mount a tmpfs on `dir` (created if missing). Needs H.need_mounts().
function H.mount_tmpfs(dir, opts)
  H.mkdir(dir)
  H.sh("mount -t tmpfs " .. (opts and ("-o " .. sh_quote(opts) .. " ") or "") .. "tmpfs " .. sh_quote(dir))
  return dir
end

--- A directory on a disk file system, whatever `/tmp` is: a small ext4
-- image in the scratch root, loop-mounted in this mount namespace (gone with
-- H.cleanup). Skips the test where loop devices or mkfs.ext4 are missing.
-- @treturn string the mounted directory
-- @treturn string the image file
function H.disk_dir(tag)
  H.need_mounts()
  local _, have = H.run("command -v mkfs.ext4 && test -e /dev/loop-control")
  lu.skipIf(not have, "needs mkfs.ext4 (e2fsprogs) and loop devices")
  local d = H.tmpdir(tag or "disk")
  local img, mnt = d .. "/disk.img", H.mkdir(d .. "/disk")
  H.sh(("truncate -s 8M %s && mkfs.ext4 -q -F %s"):format(sh_quote(img), sh_quote(img)))
  local out, ok = H.run("mount -o loop " .. sh_quote(img) .. " " .. sh_quote(mnt))
  lu.skipIf(not ok, "cannot loop-mount here: " .. out)
  return mnt, img
end

--- Bind-mount `src` on `dst` (created like `src`). Needs H.need_mounts().
function H.bind(src, dst)
  H.sh("[ -d " .. sh_quote(src) .. " ] && mkdir -p " .. sh_quote(dst) ..
    " || { mkdir -p \"$(dirname " .. sh_quote(dst) .. ")\"; touch " .. sh_quote(dst) .. "; }")
  H.sh("mount --bind " .. sh_quote(src) .. " " .. sh_quote(dst))
  return dst
end

function H.umount(dir) H.sh("umount " .. sh_quote(dir)) end

--- Create `n` empty files named f1..fn in `dir` quickly.
function H.fill(dir, n, prefix)
  H.mkdir(dir)
  H.sh(("cd %s && seq 1 %d | sed 's/^/%s/' | xargs touch"):format(sh_quote(dir), n, prefix or "f"))
  return dir
end

--- A fresh rules directory holding `files` ({name = source}), for engines
-- made with `katamount.new{rules_path = {dir}}`.
function H.rules_dir(files, tag)
  local d = H.mkdir(H.tmpdir(tag or "rules") .. "/rules.d")
  for name, src in pairs(files or {}) do H.write(d .. "/" .. name, src) end
  return d
end

--- An OCI bind mount of `source` (on /mnt by default), with `extra` options.
function H.bind_mount(source, destination, extra)
  local options = { "rbind" }
  for _, o in ipairs(extra or {}) do options[#options + 1] = o end
  return { source = source, destination = destination or "/mnt", type = "bind", options = options }
end

--- Number of open descriptors of this process, counted in-process (a
-- child process would race with the pipe popen opens to it). The listing's
-- own directory descriptor is counted every time, so counts compare.
function H.open_fds()
  local core = require("katamount.core")
  return #assert(core.list_dir("/proc/self/fd"))
end

--- This process's pid.
function H.pid()
  local f = assert(io.open("/proc/self/stat", "r"))
  local pid = f:read("a"):match("^(%d+)")
  f:close()
  return pid
end

--- Make a Unix socket at `path` (bound, then left: the file stays) with
-- perl's Socket module, which Debian's essential perl-base carries, so that
-- a fresh minimal machine has it (python3 it may lack).
function H.make_socket(path)
  H.sh("perl -MSocket -e 'socket(S, PF_UNIX, SOCK_STREAM, 0) or die \"socket: $!\";"
    .. " bind(S, pack_sockaddr_un($ARGV[0])) or die \"bind: $!\"' " .. sh_quote(path))
  return path
end

--- Assert the error contract: nil, a message naming `what`, an integer errno.
function H.assert_error(what, ok, msg, errno, want_errno)
  lu.assertNil(ok, "expected a failure return")
  lu.assertIsString(msg)
  if what then lu.assertStrContains(msg, what) end
  lu.assertTrue(math.type(errno) == "integer", "errno must be an integer, got " .. tostring(errno))
  if want_errno then lu.assertEquals(errno, want_errno, msg) end
end

-- errno values on Linux, for assertions.
H.E = { EPERM = 1, ENOENT = 2, EACCES = 13, EEXIST = 17, ENOTDIR = 20, EISDIR = 21,
        EINVAL = 22, ENAMETOOLONG = 36, ELOOP = 40 }

--- Path of the repository root (specs run from it).
H.root = H.sh("pwd")

--- The build directory holding katamount/core.so, absolute.
H.BUILD = (function()
  local b = os.getenv("KATAMOUNT_BUILD") or "build"
  return b:sub(1, 1) == "/" and b or (H.root .. "/" .. b)
end)()

local private_copy

--- A copy of the engine (lua/, rules/) and of the built core in the scratch
-- root, readable by every user: what a spec runs as another user, wherever
-- the clone sits (a 0700 home, a path with spaces, a read-only checkout).
-- Made once per run. Returns the copy's root (`lua/`, `rules/`, `build/`).
function H.private_copy()
  if private_copy then return private_copy end
  local d = H.scratch_open() .. "/engine-copy"
  H.sh(("mkdir -p %s/build/katamount && cp -R %s %s %s/ && cp %s %s/build/katamount/ && chmod -R a+rX %s")
    :format(sh_quote(d), sh_quote(H.root .. "/lua"), sh_quote(H.root .. "/rules"), sh_quote(d),
      sh_quote(H.BUILD .. "/katamount/core.so"), sh_quote(d), sh_quote(d)))
  private_copy = d
  return d
end

--- Remove the private copy (the runner calls it before looking for litter).
function H.private_copy_remove()
  if private_copy then H.run("rm -rf " .. sh_quote(private_copy)) end
  private_copy = nil
end

--- Run Lua `code` as nobody (uid/gid 65534, no groups) from `/`, with the
-- private copy of the engine and core on its paths (`katamount` and
-- `katamount.core` can be required). A sanitized core keeps its runtime
-- preloaded. Returns the output (stdout and stderr), whether it succeeded.
-- @tparam string code the Lua chunk
-- @tparam[opt] string env extra `NAME=value ...` for env(1)
function H.run_as_nobody(code, env)
  local d = H.private_copy()
  local prelude = ("package.path = %q; package.cpath = %q; ")
    :format(d .. "/lua/?.lua;" .. d .. "/lua/?/init.lua", d .. "/build/?.so")
  local pre = os.getenv("LD_PRELOAD")
  local asan = pre and ("LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0 "):format(sh_quote(pre)) or ""
  return H.run("cd / && env -u KATAMOUNT_RULES_PATH " .. asan .. (env or "")
    .. " timeout 60 setpriv --reuid=65534 --regid=65534 --clear-groups lua5.4 -e "
    .. sh_quote(prelude .. code))
end


---------------------------------------------------------------------------
-- The command (bin/katamount) run as a process: shared by cli_spec.lua and
-- cli_failure_spec.lua.
---------------------------------------------------------------------------

--- The contents of `path`, or "" when it cannot be read.
function H.slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

--- The lines of `s` (each ended by a newline; a last unended one is dropped).
function H.lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

--- The widest line of `s`, in characters.
function H.max_width(s)
  local m = 0
  for _, l in ipairs(H.lines(s)) do m = math.max(m, utf8.len(l) or #l) end
  return m
end

-- Under `make asan` the children inherit LD_PRELOAD=libasan: the tools katamount
-- spawns (cp, mktemp) are not built for LeakSanitizer and would abort at exit.
-- The sanitizer runtimes are preloaded again into lua5.4 itself (H.sh and
-- H.run drop LD_PRELOAD for the shell and the tools around it).
local ASAN_ENV = os.getenv("KATAMOUNT_SANITIZED") ~= nil and
  ("ASAN_OPTIONS=" .. sh_quote((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0") .. " ") or ""

--- The environment assignments (shell text) that let a child lua5.4 load
-- the core of this build: KATAMOUNT_BUILD, and under the sanitizers their
-- runtimes preloaded.
function H.lua_env()
  local preload = os.getenv("LD_PRELOAD")
  return ("KATAMOUNT_BUILD=%s %s%s"):format(sh_quote(os.getenv("KATAMOUNT_BUILD") or "build"), ASAN_ENV,
    (preload and preload ~= "") and ("LD_PRELOAD=" .. sh_quote(preload) .. " ") or "")
end

--- The shell command running katamount with `args` (shell text) and the
-- environment assignments `env` (shell text), from the checkout, with
-- neither KATAMOUNT_RULES_PATH, KATAMOUNT_DEBUG nor COLUMNS inherited.
function H.km_command(args, env)
  return ("env -u KATAMOUNT_RULES_PATH -u KATAMOUNT_DEBUG -u COLUMNS %s%s "):format(H.lua_env(), env or "") ..
    "timeout 60 lua5.4 bin/katamount " .. args
end

--- Run katamount from the checkout with stdout and stderr in files (never a
-- terminal); `stdin` shell text redirecting its input (default /dev/null).
-- @treturn table `{out=, err=, code=}`
function H.km(args, env, stdin)
  local dir = H.sh("mktemp -d " .. sh_quote(H.scratch_open() .. "/cli-km.XXXXXX"))
  local out, err = dir .. "/out", dir .. "/err"
  local cmd = ("cd %s && %s >%s 2>%s %s; echo $?"):format(sh_quote(H.root), H.km_command(args, env),
    sh_quote(out), sh_quote(err), stdin or "</dev/null")
  local p = assert(io.popen(cmd))
  local code = tonumber(p:read("a"):match("%d+"))
  p:close()
  local r = { out = H.slurp(out), err = H.slurp(err), code = code }
  H.run("rm -rf " .. sh_quote(dir))
  return r
end

--- Assert a failure of the command: exit `code`, exactly one line on
-- stderr starting with `prefix` and holding each of `...`, no traceback.
function H.assert_one_line(r, code, prefix, ...)
  lu.assertEquals(r.code, code, r.err)
  local l = H.lines(r.err)
  lu.assertEquals(#l, 1, "want one line on stderr, got:\n" .. r.err)
  lu.assertEquals(l[1]:sub(1, #prefix), prefix, r.err)
  for _, want in ipairs({ ... }) do lu.assertStrContains(l[1], want) end
  lu.assertNotStrContains(r.err, "traceback")
  lu.assertNotStrContains(r.err, "stack")
  lu.assertNotStrContains(r.err, "attempt to")
end

return H
