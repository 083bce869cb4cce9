--- The command's input: a spec file, a bundle directory or standard input;
-- the OCI runtime spec checked and made ready for the engine (relative
-- paths resolved against the bundle, the root filesystem as kata's shim
-- passes it); and what the audit cannot see, warned about.
-- @module katamount.cli.input
local cjson = require("cjson")
local util = require("katamount.cli.util")

local fail, describe, is_array, is_object = util.fail, util.describe, util.is_array, util.is_object

local M = {}

--- Largest input read (config.json, --rootfs, stdin): 16 MiB. A longer one
-- (/dev/zero, a runaway file) is refused after reading INPUT_MAX + 1 bytes.
M.INPUT_MAX = 16 * 1024 * 1024

M.LAYER_PREFIX = "io.katacontainers.fs-opt.layer="

--- Where a guest's (the kata agent's) spec has its mount sources.
M.GUEST_PREFIX = "/run/kata-containers/"

local function read_all(f, name)
  local text, rerr = f:read(M.INPUT_MAX + 1)
  if text == nil and rerr == nil then return "" end -- empty: read(n) gives nil at the end
  if not text then fail(2, name .. ": " .. tostring(rerr)) end
  if #text > M.INPUT_MAX then
    fail(2, ("%s: larger than the input limit of %d bytes (INPUT_MAX, 16 MiB)"):format(name, M.INPUT_MAX))
  end
  return text
end

--- The bytes of `path` ("-": standard input, named "<stdin>" in messages).
-- @tparam string path
-- @treturn string
function M.read(path)
  if path == "-" then return read_all(io.stdin, "<stdin>") end
  local f, err = io.open(path, "rb")
  if not f then fail(2, err) end
  local text = read_all(f, path)
  f:close()
  return text
end

--- `path` (or "-") decoded as JSON, failing with one line naming it.
-- @tparam string path
-- @tparam[opt] string name the name in messages (default `path`)
-- @return the decoded value
function M.decode(path, name)
  name = name or (path == "-" and "<stdin>" or path)
  local text = M.read(path)
  if text:match("^%s*$") then fail(2, name .. ": not JSON: " .. (path == "-" and "the input" or "the file")
    .. " is empty") end
  local ok, v = pcall(cjson.decode, text)
  if not ok and v == "not enough memory" then error(v, 0) end
  if not ok then fail(2, name .. ": not JSON: " .. tostring(v):gsub("^.-:%d+: ", "")) end
  return v
end

local function string_array(v, where, bad)
  if v == nil then return {} end
  if type(v) ~= "table" or not is_array(v) then
    bad(where .. " is " .. describe(v) .. ", not an array of strings")
  end
  for j, s in ipairs(v) do
    if type(s) ~= "string" then bad(("%s[%d] is %s, not a string"):format(where, j - 1, describe(s))) end
  end
  return v
end
M.string_array = string_array

--- Check a decoded OCI runtime spec; return its mounts as clean tables
-- (an absent string is "", as the runtime decodes it).
-- @tparam table spec
-- @tparam string name the input's name in messages
-- @treturn {table,...}
function M.check_spec(spec, name)
  local function bad(what) fail(2, name .. ": not an OCI runtime spec: " .. what) end
  if not is_object(spec) then bad("the document is " .. describe(spec) .. ", not an object") end
  if spec.mounts == nil then bad('no "mounts" array') end
  if type(spec.mounts) ~= "table" or not is_array(spec.mounts) then
    bad('"mounts" is ' .. describe(spec.mounts) .. ", not an array")
  end
  local mounts = {}
  for i, m in ipairs(spec.mounts) do
    local where = ("mounts[%d]"):format(i - 1)
    if not is_object(m) then bad(where .. " is " .. describe(m) .. ", not an object") end
    if m.destination == nil then bad(where .. ' has no "destination"') end
    if type(m.destination) ~= "string" then
      bad(where .. ".destination is " .. describe(m.destination) .. ", not a string")
    end
    if m.destination == "" then bad(where .. ".destination is empty") end
    where = where .. " (" .. m.destination .. ")"
    for _, k in ipairs({ "source", "type" }) do
      if m[k] ~= nil and type(m[k]) ~= "string" then
        bad(where .. "." .. k .. " is " .. describe(m[k]) .. ", not a string")
      end
    end
    local copy = {}
    for j, o in ipairs(string_array(m.options, where .. ".options", bad)) do copy[j] = o end
    mounts[i] = { source = m.source or "", destination = m.destination, type = m.type or "", options = copy }
  end
  if spec.root ~= nil then
    if not is_object(spec.root) then bad('"root" is ' .. describe(spec.root) .. ", not an object") end
    if spec.root.path ~= nil and type(spec.root.path) ~= "string" then
      bad("root.path is " .. describe(spec.root.path) .. ", not a string")
    end
  end
  if spec.annotations ~= nil then
    if not is_object(spec.annotations) then
      bad('"annotations" is ' .. describe(spec.annotations) .. ", not an object")
    end
    for k, v in pairs(spec.annotations) do
      if type(v) ~= "string" then
        bad(("annotations[%q] is %s, not a string"):format(tostring(k), describe(v)))
      end
    end
  end
  return mounts
end

--- Fail on a malformed io.katacontainers.fs-opt.layer= option.
function M.check_layer_options(options, where)
  for _, o in ipairs(options) do
    if o:sub(1, #M.LAYER_PREFIX) == M.LAYER_PREFIX then
      local v = o:sub(#M.LAYER_PREFIX + 1)
      local src, typ = v:match("^([^,]*),([^,]*)")
      if not src or src == "" or typ == "" then
        fail(2, ("%s: malformed layer option %q: want %sSOURCE,TYPE[,OPTION...]")
          :format(where, o, M.LAYER_PREFIX))
      end
    end
  end
end

--- A bind mount: its source is a path on the host.
local function is_bind(m)
  if m.type == "bind" then return true end
  for _, o in ipairs(m.options) do
    if o == "bind" or o == "rbind" then return true end
  end
  return false
end
M.is_bind = is_bind

--- True when `path` is not on this host (ENOENT, ENOTDIR); a path that
-- exists but cannot be looked at is not missing.
-- @tparam string path
-- @treturn boolean
function M.missing(path)
  local st, _, errno = util.need_core().stat(path)
  return not st and (errno == 2 or errno == 20)
end

--- Where the spec comes from: `arg` a file, a bundle directory or "-".
-- @tparam string arg
-- @tparam[opt] string bundle `--bundle DIR`: the bundle of a spec read from stdin
-- @treturn table `{name=, config=, bundle=, is_bundle=}`: the name in
--   messages, the file to read ("-" for stdin), the bundle directory (nil
--   for stdin without `--bundle`), whether the input named a bundle (a
--   directory, or `--bundle`) rather than a file in some directory
function M.locate(arg, bundle)
  if bundle then
    local t = util.file_type(bundle)
    if t ~= "directory" then
      fail(2, bundle .. ": " .. (t and "not a directory" or "no such bundle directory") .. " (--bundle)")
    end
  end
  if arg == "-" then return { name = "<stdin>", config = "-", bundle = bundle, is_bundle = bundle ~= nil } end
  if bundle then fail(2, "--bundle is for a spec read from stdin (-); " .. arg .. " has its own") end
  local t = util.file_type(arg)
  if t == "directory" then
    local config = (arg:gsub("/+$", "")) .. "/config.json"
    if arg:match("^/+$") then config = "/config.json" end
    if not util.file_type(config) then
      fail(2, arg .. ": a directory without config.json (a bundle holds config.json and its rootfs)")
    end
    return { name = config, config = config, bundle = arg, is_bundle = true }
  end
  return { name = arg, config = arg, bundle = util.dirname(arg) }
end

--- Where containerd keeps a running container's bundle:
-- `<root>/<namespace>/<id>/` (config.json, rootfs).
M.CONTAINERD_ROOTS = { "/run/containerd/io.containerd.runtime.v2.task" }

--- Where CRI-O keeps it: `<root>/<id>/userdata/` (config.json).
M.CRIO_ROOTS = { "/run/containers/storage/overlay-containers",
                 "/var/lib/containers/storage/overlay-containers" }

local function entries(dir)
  local list = util.need_core().list_dir(dir)
  return list or {}
end

--- The bundle directory of the running container `id` (a whole id or a
-- prefix of one id only) in containerd's and CRI-O's state directories.
-- @tparam string id
-- @tparam ?{string,...} containerd roots (default `M.CONTAINERD_ROOTS`)
-- @tparam ?{string,...} crio roots (default `M.CRIO_ROOTS`)
-- @treturn string the bundle directory
-- @treturn string the container's whole id
function M.find_container(id, containerd, crio)
  if not id:match("^[%w][%w._-]*$") then
    fail(2, ("--container %s: not a container id (letters, digits, '.', '_', '-')"):format(id))
  end
  containerd = #containerd > 0 and containerd or M.CONTAINERD_ROOTS
  crio = #crio > 0 and crio or M.CRIO_ROOTS
  local exact, prefixed = {}, {}
  local function consider(name, bundle)
    if name:sub(1, #id) ~= id or util.file_type(bundle .. "/config.json") ~= "file" then return end
    local t = name == id and exact or prefixed
    t[#t + 1] = { bundle = bundle, id = name }
  end
  for _, root in ipairs(containerd) do
    for _, ns in ipairs(entries(root)) do
      local dir = root .. "/" .. ns
      for _, name in ipairs(entries(dir)) do consider(name, dir .. "/" .. name) end
    end
  end
  for _, root in ipairs(crio) do
    for _, name in ipairs(entries(root)) do consider(name, root .. "/" .. name .. "/userdata") end
  end
  local found = #exact > 0 and exact or prefixed
  table.sort(found, function(x, y) return x.bundle < y.bundle end)
  if #found == 1 then return found[1].bundle, found[1].id end
  local roots = table.concat(containerd, " ") .. " " .. table.concat(crio, " ")
  if #found == 0 then fail(2, ("--container %s: no such running container in %s"):format(id, roots)) end
  local bundles = {}
  for i, f in ipairs(found) do bundles[i] = f.bundle end
  fail(2, ("--container %s: %d containers match: %s"):format(id, #found, table.concat(bundles, " ")))
end

--- Read, check and prepare a spec for `engine:plan`.
-- @tparam string arg the CONFIG argument (file, bundle directory or "-")
-- @tparam[opt] string bundle `--bundle DIR`
-- @treturn table `{name=, spec=, mounts=, bundle=, is_bundle=, root_path=,
--   root_unresolved=, warnings={...}}`:
--   `spec` the copy given to the engine (clean mounts, relative paths
--   resolved against the bundle), `mounts[i].missing` true when a bind
--   source is not on this host, `warnings` what the audit cannot see
function M.load(arg, bundle)
  local where = M.locate(arg, bundle)
  local raw = M.decode(where.config, where.name)
  local mounts = M.check_spec(raw, where.name)
  local warnings = {}
  local function warn(msg) warnings[#warnings + 1] = where.name .. ": " .. msg end
  if raw.windows ~= nil then
    warn('a Windows spec ("windows" is set): katamount decides the mounts of Linux containers')
  end
  local guest = false
  for i, m in ipairs(mounts) do
    local at = ("mounts[%d]"):format(i - 1)
    if m.destination:sub(1, 1) ~= "/" then
      warn(("%s: destination '%s' is relative: runtimes take it below the container's root (/%s);"
        .. " the decision is for the path as given"):format(at, m.destination, m.destination))
    end
    if m.source:sub(1, #M.GUEST_PREFIX) == M.GUEST_PREFIX then guest = true end
    if is_bind(m) and m.source ~= "" then
      if m.source:sub(1, 1) ~= "/" then
        if where.bundle then
          m.source = util.absolute(m.source, where.bundle)
        else
          warn(("%s: source '%s' is relative and a spec read from stdin has no bundle to resolve it"
            .. " against (--bundle DIR): decided as given"):format(at, m.source))
        end
      end
      if m.source:sub(1, 1) == "/" and M.missing(m.source) then
        m.missing = true
        warn(("%s (%s): source %s is not on this host: decided without it")
          :format(at, m.destination, m.source))
      end
    end
  end
  if guest then
    warn("mount sources under " .. M.GUEST_PREFIX .. ": this looks like the spec the kata agent"
      .. " gets in the guest; katamount decides the host side (the spec the runtime gets)")
  end

  local spec = {}
  for k, v in pairs(raw) do spec[k] = v end
  spec.mounts = mounts
  local root_path, unresolved
  if type(raw.root) == "table" and raw.root.path then
    spec.root = {}
    for k, v in pairs(raw.root) do spec.root[k] = v end
    root_path = raw.root.path
    if root_path:sub(1, 1) ~= "/" then
      if where.bundle then
        root_path = util.absolute(root_path, where.bundle)
      else
        warn(("root.path '%s' is relative and a spec read from stdin has no bundle to resolve it"
          .. " against (--bundle DIR): the root filesystem is not planned"):format(root_path))
        root_path, unresolved = nil, true
        spec.root = nil
      end
    end
    if root_path then spec.root.path = root_path end
  end
  return { name = where.name, spec = spec, mounts = mounts, bundle = where.bundle,
           is_bundle = where.is_bundle, root_path = root_path, root_unresolved = unresolved,
           warnings = warnings }
end

--- The root filesystem for `ctx.rootfs`: from `--rootfs FILE` and the
-- `--rootfs-*` flags (a mount the runtime gets: not mounted yet), else the
-- bundle's root.path as kata's shim passes it when containerd gives no
-- rootfs mounts (`{target = path, mounted = true}`), else nil.
-- @tparam table a the parsed arguments
-- @tparam table input from `M.load`
-- @treturn ?table
function M.rootfs(a, input)
  local rootfs
  local options = {}
  if a.rootfs then
    local r = M.decode(a.rootfs)
    local function bad(what) fail(2, a.rootfs .. ": not a root filesystem mount: " .. what) end
    if not is_object(r) then bad("the document is " .. describe(r) .. ", not an object") end
    for _, k in ipairs({ "type", "source", "target" }) do
      if r[k] ~= nil and type(r[k]) ~= "string" then
        bad(k .. " is " .. describe(r[k]) .. ", not a string")
      end
    end
    string_array(r.options, "options", bad)
    M.check_layer_options(r.options or {}, a.rootfs)
    rootfs = { type = r.type, source = r.source, target = r.target }
    for _, o in ipairs(r.options or {}) do options[#options + 1] = o end
  end
  M.check_layer_options(a.rootfs_option, "--rootfs-option")
  for _, o in ipairs(a.rootfs_option) do options[#options + 1] = o end
  if rootfs or #a.rootfs_option > 0 or a.rootfs_type then
    rootfs = rootfs or {}
    local has_layers = false
    for _, o in ipairs(options) do
      if o:sub(1, #M.LAYER_PREFIX) == M.LAYER_PREFIX then has_layers = true end
    end
    rootfs.type = a.rootfs_type or rootfs.type or (has_layers and "overlay") or nil
    rootfs.options = options
    rootfs.mounted = false
    rootfs.target = rootfs.target or input.root_path
    -- an overlay's source is "overlay", as containerd gives it; else the path itself
    rootfs.source = rootfs.source or (rootfs.type == "overlay" and "overlay") or rootfs.target
    return rootfs
  end
  if input.root_path then
    return { target = input.root_path, source = input.root_path, type = "", options = {}, mounted = true }
  end
  return nil
end

return M
