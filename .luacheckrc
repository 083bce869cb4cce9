-- luacheck configuration: Lua 5.4, no globals anywhere.
std = "lua54"
max_line_length = 110
codes = true

-- Rule files run in the engine's sandbox (lua/katamount/sandbox.lua): these
-- names are all they see, so a rule using anything else fails lint.
stds.katamount_rules = {
  read_globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
    "tonumber", "tostring", "type", "rawequal", "rawlen", "rawget",
    "setmetatable", "getmetatable", "_VERSION",
    string = { fields = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
      "match", "rep", "reverse", "sub", "upper", "pack", "packsize", "unpack" } },
    table = { fields = { "concat", "insert", "move", "pack", "remove", "sort", "unpack" } },
    math = { other_fields = true },
    utf8 = { other_fields = true },
    os = { fields = { "time", "clock", "date", "difftime" } },
    -- the rule API
    params = { read_only = false, other_fields = true },
    "predicate", "rule", "param", "declare", "disable", "guest",
    core = { fields = { "stat", "lstat", "realpath", "fs_type", "is_mount_point", "list_dir",
      "device_for_path", "block_device", "count_files", "mount_entry", "clean", "base", "major",
      "minor", "mounts", "base64url", "fnv1a64", "join", "tree_size", "has_option", "starts_with",
      "path_under", "_VERSION" } },
    "mount_entry", "device_for_path", "count_files",
    -- the predicates, callable by name once defined
    "is_system_mount", "is_host_device", "is_docker_volume", "is_empty_dir",
    "is_config_map", "is_secret", "is_projected", "is_downward_api",
    "is_hugepage_empty_dir", "is_ephemeral_storage", "is_host_empty_dir",
    "is_watchable_mount", "is_block_device", "is_device_mapper",
    "has_option", "has_option_prefix", "kubernetes_volume_kind", "is_bind_mount",
    "shared_fs_kind", "emptydir_mode_of", "page_bytes", "hugepage_size", "hugepage_limit",
    "agent_watch_limit", "unwatched_reason", "is_kubelet_config_volume",
    "hotplugs_as_block", "virtual_volume", "is_nydus_rootfs", "is_erofs_rootfs",
    "is_erofs_multi_layer", "rootfs_path",
    -- the guest-side helpers (rules/guest-00-common.lua, guest-shared.lua, guest-hugepages.lua)
    "guest_join", "base_name", "kata_id", "fs_sharing", "share_file_name", "base64_url",
    "block_storage", "copy_list", "unchanged", "share", "ram_in_bytes",
    "hotplugged_volume", "json_decode", "json_string_map", "base64_decode", "guest_root", "erofs_dirs",
  },
}
files["rules/"] = { std = "katamount_rules" }
files["examples/rules/"] = { std = "katamount_rules" }
files["spec/fixtures/"] = { std = "katamount_rules" }
-- a LuaRocks configuration file: its settings are globals
files["luarocks-offline.lua"] = { globals = { "rocks_provided" } }
