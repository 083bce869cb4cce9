/*
 * errors.c -- the error contract every concern of the core shares: the
 * failure triple `nil, "<what> '<path>': <reason>", errno` and the check of
 * a path argument (NUL bytes, KM_PATH_MAX).
 *
 * No Lua functions: helpers declared in katamount.h.
 */
#include "katamount.h"

#include <string.h>

/* Append path[0..len) to b, a NUL byte shown as \0. */
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

int km_push_error_limit(lua_State *L, const char *what, const char *path,
                        size_t len, const char *fmt, lua_Integer limit, int err)
{
    const char *msg = lua_pushfstring(L, fmt, limit);
    km_push_error_msg(L, what, path, len, msg, err);
    lua_remove(L, -4);                  /* the formatted message */
    return 3;
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
    return km_push_error_limit(L, what, path, len > 64 ? 64 : len,
                               "path longer than KM_PATH_MAX (%I bytes)",
                               (lua_Integer)KM_PATH_MAX, ENAMETOOLONG);
}
