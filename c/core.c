/*
 * core.c -- assembles the module `katamount.core` and holds the helpers
 * every concern shares (error returns and path arguments).
 */
#include "katamount.h"

#include <string.h>

static void push_quoted_path(luaL_Buffer *b, const char *path, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (path[i] == '\0')
            luaL_addstring(b, "\\0");
        else
            luaL_addchar(b, path[i]);
    }
}

int km_push_error_msg(lua_State *L, const char *what, const char *path,
                      size_t len, const char *msg, int err)
{
    luaL_Buffer b;
    lua_pushnil(L);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, what);
    if (path != NULL) {
        luaL_addstring(&b, " '");
        push_quoted_path(&b, path, len);
        luaL_addchar(&b, '\'');
    }
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, msg);
    luaL_pushresult(&b);
    lua_pushinteger(L, err);
    return 3;
}

int km_push_error(lua_State *L, const char *what, const char *path, size_t len,
                  int err)
{
    /* strerror's text is copied into the Lua buffer before anything else
     * could change errno: `err` was saved by the caller. */
    return km_push_error_msg(L, what, path, len, strerror(err), err);
}

const char *km_check_path(lua_State *L, int arg, size_t *len)
{
    const char *path = luaL_checklstring(L, arg, len);
    if (memchr(path, '\0', *len) != NULL || *len > KM_PATH_MAX)
        return NULL;
    return path;
}

int km_push_path_error(lua_State *L, const char *what, int arg)
{
    size_t len;
    const char *path = lua_tolstring(L, arg, &len);
    if (memchr(path, '\0', len) != NULL)
        return km_push_error_msg(L, what, path, len,
                                 "path contains a NUL byte", EINVAL);
    return km_push_error_msg(L, what, path, len > 64 ? 64 : len,
                             "path longer than KM_PATH_MAX (4096 bytes)",
                             ENAMETOOLONG);
}

static const luaL_Reg *const km_concerns[] = {
    km_stat_funcs, km_path_funcs, km_mounts_funcs,
    km_count_funcs, km_sysfs_funcs, km_dest_funcs,
    km_rulefiles_funcs,
};

int luaopen_katamount_core(lua_State *L)
{
    size_t i;
    lua_newtable(L);
    for (i = 0; i < sizeof km_concerns / sizeof km_concerns[0]; i++)
        luaL_setfuncs(L, km_concerns[i], 0);
    km_mounts_open(L);
    lua_pushliteral(L, KM_VERSION);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}
