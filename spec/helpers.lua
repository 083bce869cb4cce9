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

--- A fresh temporary directory, removed (with anything mounted below it
-- unmounted) by H.cleanup().
function H.tmpdir(tag)
  local d = H.sh("mktemp -d /tmp/katamount-spec-" .. (tag or "x") .. ".XXXXXX")
  tmp_dirs[#tmp_dirs + 1] = d
  return d
end

--- Unmount everything below `dir` (deepest first) and remove it.
function H.rm_rf(dir)
  if H.private_ns then
    H.run("findmnt -rn -o TARGET | grep -F " .. sh_quote(dir) ..
      " | sort -r | while read -r m; do umount -l \"$(printf '%b' \"$m\")\"; done")
  end
  H.run("rm -rf " .. sh_quote(dir))
end

function H.cleanup()
  for i = #tmp_dirs, 1, -1 do H.rm_rf(tmp_dirs[i]); tmp_dirs[i] = nil end
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

--- Number of open descriptors of this process.
function H.open_fds()
  return tonumber(H.sh("ls /proc/" .. H.pid() .. "/fd | wc -l"))
end

--- This process's pid (the shell's parent).
function H.pid()
  local f = assert(io.open("/proc/self/stat", "r"))
  local pid = f:read("a"):match("^(%d+)")
  f:close()
  return pid
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

return H
