-- 80-shared.lua -- bind mounts shared with the guest (decision table row
-- 10, the last one), and Docker volumes.
--
-- Every bind mount no earlier rule took is shared with the guest
-- (virtio-fs).
--
-- Tune: params.docker_volumes_dir.

param { name = "docker_volumes_dir", type = "string", default = "/var/lib/docker/volumes",
  doc = "where Docker keeps its named volumes (is_docker_volume)" }

-- is_docker_volume(path): a Docker named volume, <volumes dir>/<name>/_data.
-- Unlike the Go original (a plain string prefix), the path is cleaned and
-- must be below the volumes directory, not merely start with its name.
predicate("is_docker_volume", function(path)
  local clean, dir = core.clean(path), core.clean(params.docker_volumes_dir)
  return clean:sub(1, #dir + 1) == dir .. "/" and clean:match("[^/]*$") == "_data"
end)

rule {
  name = "shared", order = 1000,
  class = "shared", action = "share",
  when = function(m)
    if is_bind_mount(m.type, m.options) then return true, "a bind mount: shared with the guest" end
    return false, "not a bind mount"
  end,
}
