--- Facts about mounts, computed lazily and memoised per decision.
--
-- `new` binds a set of helpers to an engine's state. While a decision runs,
-- `state.memo` holds its cache: every system fact (stat, lstat, realpath,
-- fs type, file count, mount entry, device, block device) is asked of the C
-- core at most once per path for that decision, however many rules and
-- predicates want it; a `plan` shares one cache across its mounts and reads
-- the mount table at most once. Outside a decision the helpers call the core
-- directly.
--
-- Mount entries: an engine made without a mountinfo file asks the kernel
-- per path (`core.mount_entry`: statx + statmount(2), a cost independent of
-- the size of the mount table, always fresh). An engine given a mountinfo
-- file, or running where statmount cannot answer, keeps one `core.mounts()`
-- table and re-reads it only when `t:changed()` says the mount table
-- changed (and at most once per decision).
-- @module katamount.facts
local M = {}

local type, error, ipairs, next = type, error, ipairs, next
local math_type = math.type
local sub, format = string.sub, string.format

local EINVAL, ENOENT, ENOTDIR = 22, 2, 20

--- Whether `core.mount_entry(path)` answers from statmount(2) here rather
-- than by reading the whole mount table (the core probes the kernel, and
-- any seccomp filter, once). When it does not, the engine reads the table
-- itself, once, and keeps it until it changes.
-- @tparam table core the `katamount.core` module
-- @treturn boolean
function M.statmount_usable(core)
  return core.statmount_supported ~= nil and core.statmount_supported() == true
end

-- The read-only primitives of the core that rules may call. Everything
-- else (ensure_destination) stays out of the sandbox.
local MEMO1 = { "stat", "lstat", "realpath", "fs_type", "is_mount_point", "list_dir" }
-- clean is pure and cheap (a path already clean comes back as the same
-- string): not remembered, as remembering the fresh paths rules join cost
-- more than cleaning them (3% of a plan's instructions).
local PURE = { "clean", "join", "base", "major", "minor", "mounts", "base64url", "fnv1a64", "_VERSION",
  "has_option", "starts_with", "path_under" }  -- these three: the rule state's core only
-- Walks of a tree taking limits as well as a path: not remembered (a rule
-- asks each once per mount).
local UNREMEMBERED = { "tree_size" }

--- Bind the fact helpers to an engine state.
-- @tparam table state the engine's `{memo=, mtab=}` (memo set while deciding)
-- @tparam table core the `katamount.core` module
-- @tparam ?string mountinfo the mountinfo file to read; nil: ask the
--   kernel per path where statmount answers (see `statmount_usable`), else
--   read `/proc/self/mountinfo`
-- @tparam ?boolean per_path nil: decide with `statmount_usable()`; false:
--   always the table (tests)
-- @tparam ?function freeze makes a table fact read-only before it is
--   remembered (inside a rule state: one rule cannot change what the next
--   one sees); nil: facts are kept as the core returned them
-- @tparam ?function memoizer `memoizer(state, name, fn, freeze)` makes the
--   memoised one-path facts (the rule state's runtime.memoizer: answers in
--   `state.memo[name]`, failures in `state.memo[name .. "!"]`); nil: the
--   one-path facts are not memoised (the host, where nothing decides)
-- @treturn table helpers: `core` (the sandbox's read-only, memoised core),
--   `mount_entry`, `device_for_path`, `count_files`, `mount_table`, `mount_mt`,
--   `mount_lookup` (`"statmount"` or `"table"`)
function M.new(state, core, mountinfo, per_path, freeze, memoizer)
  local H = {}
  if per_path == nil then per_path = M.statmount_usable(core) end
  per_path = per_path and mountinfo == nil and core.mount_entry ~= nil
  H.mount_lookup = per_path and "statmount" or "table"

  -- memo[name] = {key = value}, and memo[name .. "!"] = {key = {msg, errno}}
  -- (made at the first failure): a fact already known is found with two
  -- lookups, and a decision makes one table per fact asked, not three.
  local function remember(memo, name, fname, key, v, msg, errno)
    if freeze ~= nil and type(v) == "table" then v = freeze(v) end
    if v == nil then
      local fails = memo[fname]
      if fails == nil then
        fails = {}
        memo[fname] = fails
      end
      fails[key] = { msg, errno }
    else
      local known = memo[name]
      if known == nil then
        known = {}
        memo[name] = known
      end
      known[key] = v
    end
    return v, msg, errno
  end

  -- A fact not among the answers yet: its failure, if it failed before,
  -- else `fn(...)` asked now and remembered. Callers look the answer up
  -- themselves first (`memo[name][key]`): the hit, the common case, then
  -- costs no call with varargs.
  local function miss(memo, name, fname, key, fn, ...)
    local fails = memo[fname]
    if fails ~= nil then
      local f = fails[key]
      if f ~= nil then return nil, f[1], f[2] end
    end
    return remember(memo, name, fname, key, fn(...))
  end

  -- A one-path function of the core (each takes one argument), memoised
  -- while a decision runs by the memoizer (the rule state's, in C); without
  -- one (the host, where nothing decides), the core's function itself.
  -- Every one answers a string, a boolean or a table of strings and numbers
  -- (flat: its table frozen without a walk for nested tables).
  local function memo1(name, fn)
    if memoizer == nil then return fn end
    return memoizer(state, name, fn, freeze, true)
  end

  local ro = {}
  for _, name in ipairs(MEMO1) do
    if core[name] then ro[name] = memo1(name, core[name]) end
  end
  -- device_for_path, memoised too; a path whose stat the call already
  -- holds is not stat'ed again (the walk starts from that stat's device:
  -- the rootfs rules stat the root filesystem, then ask its device)
  if core.device_for_path then
    local core_device_for_path = core.device_for_path
    ro.device_for_path = memo1("device_for_path", function(path)
      local memo = state.memo
      local stats = memo and memo.stat
      local st = stats and type(path) == "string" and stats[path]
      if st then return core_device_for_path(path, st.dev) end
      return core_device_for_path(path)
    end)
  end
  for _, name in ipairs(PURE) do ro[name] = core[name] end
  for _, name in ipairs(UNREMEMBERED) do ro[name] = core[name] end

  if core.block_device then
    local block_device = core.block_device
    ro.block_device = function(major, minor, sysfs_root)
      local memo = state.memo
      if memo == nil or math_type(major) ~= "integer" or math_type(minor) ~= "integer"
        or (sysfs_root ~= nil and type(sysfs_root) ~= "string") then
        return block_device(major, minor, sysfs_root)
      end
      local key = major .. ":" .. minor .. ":" .. (sysfs_root or "")
      local known = memo.block_device
      local v = known and known[key]
      if v ~= nil then return v end
      return miss(memo, "block_device", "block_device!", key, block_device, major, minor, sysfs_root)
    end
  end

  local core_count_files = core.count_files
  --- Bounded recursive file count (`core.count_files`), memoised.
  local function count_files(path, limit)
    local memo = state.memo
    if memo == nil or type(path) ~= "string" or math_type(limit) ~= "integer" then
      return core_count_files(path, limit)
    end
    local key = path .. "\0" .. limit
    local known = memo.count_files
    local v = known and known[key]
    if v ~= nil then return v end
    return miss(memo, "count_files", "count_files!", key, core_count_files, path, limit)
  end
  ro.count_files = count_files

  if core.mount_entry then
    -- mount_entry(path [, mountinfo_path]): memoised without the second
    local memo_entry, core_mount_entry = memo1("core_mount_entry", core.mount_entry), core.mount_entry
    ro.mount_entry = function(path, mountinfo_path)
      if mountinfo_path ~= nil then return core_mount_entry(path, mountinfo_path) end
      return memo_entry(path)
    end
  end

  -- clean through the memo: the rules have mostly cleaned these paths already
  local stat, realpath, clean = ro.stat, ro.realpath, ro.clean
  local core_device_for_path = ro.device_for_path

  --- The engine's mount table: one `core.mounts()` kept across calls and
  -- re-read only when it changed; asked at most once per decision.
  local function mount_table()
    local memo = state.memo
    if memo ~= nil and memo.mtab_read then return memo.mtab, memo.mtab_err, memo.mtab_errno end
    local t, err, errno = state.mtab, nil, nil
    -- changed() is true, false, or nil on failure: anything but false re-reads
    if t == nil or t:changed() ~= false then
      t, err, errno = core.mounts(mountinfo)
      state.mtab = t
    end
    if memo ~= nil then
      memo.mtab_read, memo.mtab, memo.mtab_err, memo.mtab_errno = true, t, err, errno
    end
    return t, err, errno
  end
  H.mount_table = mount_table

  -- The mount table caches its entry tables: callers get copies, so that
  -- nothing a rule does to an entry reaches the next decision.
  local function copy_entry(e)
    local c = {}
    for k, v in next, e do
      if type(v) == "table" then
        local l = {}
        for i = 1, #v do l[i] = v[i] end
        v = l
      end
      c[k] = v
    end
    return c
  end

  local function not_a_mount_point(path)
    return nil, format("mount_entry '%s': not a mount point", path), EINVAL
  end

  -- Per path, from the kernel. A path that does not exist (or runs through
  -- a file) is not a mount point, as in the table; any other failure
  -- (EACCES, ELOOP, ENAMETOOLONG...) is a real error.
  local function ask_kernel_now(path)
    local e, err, errno = core.mount_entry(path)
    if e == nil and (errno == ENOENT or errno == ENOTDIR) then return not_a_mount_point(path) end
    return e, err, errno
  end
  -- memoised by cleaned path: "v" and "v/" are asked once per decision
  local function ask_kernel(path)
    local memo = state.memo
    if memo == nil then return ask_kernel_now(path) end
    local known = memo.kernel_mount_entry
    local v = known and known[path]
    if v ~= nil then return v end
    return miss(memo, "kernel_mount_entry", "kernel_mount_entry!", path, ask_kernel_now, path)
  end

  local function lookup_per_path(path)
    local c, cerr, cerrno = clean(path)
    if c == nil then return nil, cerr, cerrno end
    if sub(c, 1, 1) ~= "/" then return not_a_mount_point(path) end
    local e, err, errno = ask_kernel(c)
    if e == nil and errno == EINVAL then
      -- the last component a symlink: judged on its real path, as in the table
      local real = realpath(path)
      if real ~= nil and real ~= c then e, err, errno = ask_kernel(real) end
      if e == nil and errno == EINVAL then return not_a_mount_point(path) end
    end
    return e, err, errno
  end

  local function lookup_in_table(path)
    local t, err, errno = mount_table()
    if t == nil then return nil, err, errno end
    local c, cerr, cerrno = clean(path)
    if c == nil then return nil, cerr, cerrno end
    local e = t:lookup(c)
    if e == nil and sub(c, 1, 1) == "/" then
      -- Deliberate difference from the Go original (exact mountinfo match):
      -- a path reached through a symlink (/var/lib/kubelet -> /data/kubelet)
      -- is found under its real path too.
      local real = realpath(path)
      if real ~= nil and real ~= c then e = t:lookup(real) end
    end
    if e == nil then return not_a_mount_point(path) end
    return copy_entry(e)
  end
  local lookup = per_path and lookup_per_path or lookup_in_table

  --- The visible mount entry whose mount point is `path` (after cleaning),
  -- from statmount or the engine's mount table, memoised per decision.
  -- `nil, "...not a mount point", 22` when `path` is not a mount point;
  -- any other failure (reading the mount table) is a real error.
  local function mount_entry(path)
    if type(path) ~= "string" then
      error("bad argument #1 to 'mount_entry' (string expected, got " .. type(path) .. ")", 2)
    end
    local memo = state.memo
    if memo == nil then return lookup(path) end
    local known = memo.mount_entry
    local v = known and known[path]
    if v ~= nil then return v end
    return miss(memo, "mount_entry", "mount_entry!", path, lookup, path)
  end
  H.mount_entry = mount_entry

  --- `core.device_for_path` plus the seed's host-device case: a path under
  -- `/dev` that is not a regular file reports its own rdev and mount point "".
  local function device_for_path(path)
    if type(path) ~= "string" then
      error("bad argument #1 to 'device_for_path' (string expected, got " .. type(path) .. ")", 2)
    end
    local c = clean(path)
    if c == "/dev" or (c ~= nil and sub(c, 1, 5) == "/dev/") then
      local st, err, errno = stat(path)
      if st == nil then return nil, err, errno end
      if st.type ~= "file" then
        return { major = st.rdev_major, minor = st.rdev_minor, mount_point = "" }
      end
    end
    return core_device_for_path(path)
  end
  H.device_for_path = device_for_path
  H.count_files = count_files
  H.core = ro

  -- The mount being decided, as rules see it: fields plus memoised facts.
  local Mount = {}
  local Mount_mt = { __index = Mount, __metatable = false }
  --- `core.stat` of the source (symlinks followed).
  function Mount:stat() return stat(self.source) end
  --- `core.lstat` of the source.
  function Mount:lstat() return ro.lstat(self.source) end
  --- The source with every symlink resolved.
  function Mount:realpath() return realpath(self.source) end
  --- The file system type of the source (statfs).
  function Mount:fs_type() return ro.fs_type(self.source) end
  --- Files below the source, bounded by `limit` (`-1` past it).
  function Mount:file_count(limit) return count_files(self.source, limit) end
  --- The mount entry whose mount point is the source.
  function Mount:mount_entry() return mount_entry(self.source) end
  --- The device holding the source and its mount point.
  function Mount:device() return device_for_path(self.source) end
  --- The source, cleaned.
  function Mount:clean_source() return ro.clean(self.source) end

  --- The metatable that makes a mount description (source, destination,
  -- type, options, already validated) a rule-facing mount object: the
  -- engine sets it on each decision's job.
  H.mount_mt = Mount_mt

  return H
end

return M
