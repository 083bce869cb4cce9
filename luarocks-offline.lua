-- LuaRocks configuration for an offline `luarocks make` over Debian's packages:
-- lua-cjson and argparse come from `lua-cjson` and `lua-argparse` (apt), so
-- the rockspec's dependencies are marked as provided instead of fetched.
--   LUAROCKS_CONFIG=luarocks-offline.lua luarocks --lua-version 5.4 make
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1",
  argparse = "0.7.1-1",
}
