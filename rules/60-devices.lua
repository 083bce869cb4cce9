-- 60-devices.lua -- host devices (decision table row 8).
--
-- A source under /dev that is not a regular file (a device node, a
-- directory, a socket) is the host's own and is skipped; so is a /dev path
-- missing on the host. Kata moved this check from the destination to the
-- source: the source decides. A source elsewhere that is a symlink into
-- /dev is judged where it leads (the Go original judged the link's name).

-- Whether the cleaned `path` is /dev or below it (core.starts_with: no
-- substring is made).
local starts_with = core.starts_with
local function under_dev(path)
  return path == "/dev" or starts_with(path, "/dev/")
end

-- true: a host device; false: a regular file or missing; nil: not under /dev
local function judge(path)
  if path == "/dev" then return true end
  if not under_dev(path) then return nil end
  local st = core.stat(path)
  if not st then return false end
  return st.type ~= "file"
end

predicate("is_host_device", function(path)
  local clean = core.clean(path)
  local verdict = judge(clean)
  if verdict ~= nil then return verdict end
  if starts_with(path, "/") then
    local real = core.realpath(path)
    -- (no symlink on the way: the same path, already judged)
    if real and real ~= clean then return judge(real) == true end
  end
  return false
end)

-- A safety rule (the host's devices stay on the host): a file that replaces
-- this one must define it again or say why it goes (disable).
rule {
  name = "host-device", order = 800, safety = true,
  class = "host-device", action = "skip",
  when = function(m)
    if is_host_device(m.source) then return true, "the source is a host device" end
    local path = core.clean(m.source)
    if under_dev(path) and not core.stat(path) then
      return true, "the source is a /dev path missing on the host"
    end
    return false, "not a host device"
  end,
}
