/*
 * core.c -- assembles the module `katamount.core`: each concern's
 * functions, the mount-table metatable and the version.
 */

/***
 * The C core of katamount: the system work the rules need (stat, paths,
 * the mount table, bounded directory counting, sysfs). Environmental
 * failures return `nil, message, errno` (the message names the path and
 * quotes any limit from its KM_* macro); wrong argument types raise.
 * `_VERSION` is `KM_VERSION` (c/katamount.h).
 * @module katamount.core
 */
#include "katamount.h"

static const luaL_Reg *const km_concerns[] = {
    km_stat_funcs, km_path_funcs, km_mounts_funcs, km_statmount_funcs,
    km_count_funcs, km_treesize_funcs, km_list_dir_funcs, km_sysfs_funcs, km_dest_funcs,
    km_encode_funcs, km_readfile_funcs, km_ocimount_funcs,
    km_rulestate_funcs,
    km_rulefiles_funcs, km_term_funcs,
};

int luaopen_katamount_core(lua_State *L)
{
    size_t i;
    luaL_checkversion(L);
    lua_newtable(L);
    for (i = 0; i < sizeof km_concerns / sizeof km_concerns[0]; i++)
        luaL_setfuncs(L, km_concerns[i], 0);
    km_stat_open(L);
    km_mounts_open(L);
    km_rulestate_open(L);
    lua_pushliteral(L, KM_VERSION);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
