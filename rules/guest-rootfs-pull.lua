-- guest-rootfs-pull.lua -- a root filesystem the guest pulls itself (class
-- "rootfs", action "guest-pull": an io.katacontainers.volume= option, a
-- base64 JSON KataVirtualVolume) as kata's fs_share_linux.go
-- shareRootFilesystemWithVirtualVolume and handleVirtualVolume make it:
-- the root at <guest_container_dir>/<container>/<rootfs_suffix>, and for
-- each volume of type image_guest_pull (kata_agent.go
-- handleImageGuestPullBlockVolume) a storage of driver "image_guest_pull",
-- source the image's name, fstype "overlay", and the driver option
-- image_guest_pull=<the volume's image_pull as JSON, its metadata merged
-- with the container's annotations>. Other volume types make no storage.
-- Nothing happens on the host.
--
-- The image's name comes from the annotations (plan takes them from the
-- spec's; a caller of classify passes ctx.annotations): "pause" for a
-- sandbox container, else io.kubernetes.cri.image-name (containerd, and
-- without a CRI container type) or io.kubernetes.cri-o.ImageName (CRI-O).
--
-- Tune: params.annotations.

param { name = "annotations", type = "map", default = {},
  doc = "the container's OCI annotations (plan takes spec.annotations): the guest pull's image and metadata" }

-- oci.CRIContainerTypeKeyList (containerd's, then CRI-O's) and the image
-- name each runtime puts in the spec (getContainerTypeforCRI's callers)
local CRI_TYPE_KEYS = { "io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType" }
local IMAGE_NAME_KEYS = { ["io.kubernetes.cri.container-type"] = "io.kubernetes.cri.image-name",
  ["io.kubernetes.cri-o.ContainerType"] = "io.kubernetes.cri-o.ImageName" }
local CONTAINER_TYPES = { sandbox = "pod_sandbox", container = "pod_container" }
-- vcAnnotations.ContainerTypeKey: oci.ContainerConfig adds it to the
-- container's annotations
local CONTAINER_TYPE_KEY = "io.katacontainers.pkg.oci.container_type"

-- oci.ContainerType: the first CRI key present decides (an unknown value is
-- an error); none: a single container. Returns the type and the key.
local function container_type(annotations)
  for _, key in ipairs(CRI_TYPE_KEYS) do
    local v = annotations[key]
    if v ~= nil then
      local t = CONTAINER_TYPES[v]
      if t == nil then error(("Unknown container type %s (annotation %s)"):format(tostring(v), key), 0) end
      return t, key
    end
  end
  return "single_container", nil
end

local function image_pull_storage(volume, annotations, path)
  local pull = volume.image_pull
  if type(pull) ~= "table" or type(pull.metadata) ~= "table" then
    error("an image_guest_pull KataVirtualVolume needs image_pull.metadata", 0)
  end
  local ctype, key = container_type(annotations)
  local image
  if key ~= nil and ctype == "pod_sandbox" then
    image = "pause"
  else
    image = annotations[IMAGE_NAME_KEYS[key] or "io.kubernetes.cri.image-name"]
    if image == nil or image == "" then error("Failed to get image name from annotations", 0) end
  end
  local metadata = {}
  for k, v in pairs(pull.metadata) do
    if type(k) ~= "string" or type(v) ~= "string" then
      error("image_pull.metadata must be an object of strings", 0)
    end
    metadata[k] = v
  end
  for k, v in pairs(annotations) do metadata[k] = v end
  metadata[CONTAINER_TYPE_KEY] = ctype
  return { driver = "image_guest_pull", source = image, fstype = "overlay", mount_point = path,
    driver_options = { "image_guest_pull={\"metadata\":" .. json_string_map(metadata) .. "}" } }
end

guest {
  class = "rootfs", action = "guest-pull",
  build = function(m, ctx)
    local path = guest_join(ctx.guest_container_dir, kata_id(ctx, "container_id"), ctx.rootfs_suffix)
    local annotations = type(ctx.annotations) == "table" and ctx.annotations or {}
    local prefix = params.virtual_volume_option
    local storages = {}
    for _, o in ipairs(m.options) do
      if o:sub(1, #prefix) == prefix then
        local text = base64_decode(o:sub(#prefix + 1))
        if text == nil then error("the " .. prefix .. " value is not base64", 0) end
        local volume = json_decode(text)
        if type(volume) ~= "table" then error("the " .. prefix .. " value is not a JSON object", 0) end
        if volume.volume_type == "image_guest_pull" then
          storages[#storages + 1] = image_pull_storage(volume, annotations, path)
        end
      end
    end
    return { storages = storages, guest_mount = guest_root(m, path), host = { action = "none" } }
  end,
}
