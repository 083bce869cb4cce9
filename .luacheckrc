-- luacheck configuration: Lua 5.4, no globals anywhere.
std = "lua54"
max_line_length = 110
codes = true

-- Rule files run in the engine's sandbox: these names are its API.
files["rules/"] = {
  std = "lua54",
  read_globals = {
    "params", "predicate", "rule", "core",
    "mount_entry", "device_for_path", "count_files",
    -- the predicates, callable by name once defined
    "is_system_mount", "is_host_device", "is_docker_volume", "is_empty_dir",
    "is_config_map", "is_secret", "is_projected", "is_downward_api",
    "is_hugepage_empty_dir", "is_ephemeral_storage", "is_host_empty_dir",
    "is_watchable_mount", "is_block_device", "is_device_mapper",
    "has_option", "has_option_prefix", "kubernetes_volume_kind",
  },
}
