/*
 * ocimount.c -- an OCI mount of a spec (config.json, outside text) checked
 * and copied into the fields a decision starts from (decide.lua's fields).
 *
 * Lua functions: mount_fields.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <stdio.h>

/* The fields of a decision (decide.lua's `decision` fills them in place):
 * source, destination, type, options, scope, class, action, rule, reasons,
 * storages, guest_mount, guest_reason, host, translation. */
#define KM_DECISION_FIELDS 14

/* nil and a message naming what is wrong (the stack is the caller's). */
static int km_fields_error(lua_State *L, const char *fmt, const char *what, const char *type)
{
    lua_pushnil(L);
    lua_pushfstring(L, fmt, what, type);
    return 2;
}

/* The options list at `idx`, checked and copied onto the stack: up to the
 * first nil, each a string. A list without a metatable is counted, then
 * copied into a table of its size; one with a metatable is read once per
 * element through lua_geti, as ipairs reads it (an __index answers once).
 * Returns 1, or 2 with nil and the message pushed. */
static int km_copy_options(lua_State *L, int idx)
{
    lua_Integer i, n = 0;
    char place[32];
    if (!lua_getmetatable(L, idx)) {
        for (;;) {
            int t = lua_rawgeti(L, idx, n + 1);
            lua_pop(L, 1);
            if (t == LUA_TNIL)
                break;
            if (t != LUA_TSTRING) {
                lua_rawgeti(L, idx, n + 1);
                snprintf(place, sizeof place, "%lld", (long long)(n + 1));
                return km_fields_error(L, "mount option %s must be a string, got %s", place,
                                       luaL_typename(L, -1));
            }
            n++;
        }
        lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            lua_rawseti(L, -2, i);
        }
        return 1;
    }
    lua_pop(L, 1);                      /* the metatable */
    lua_newtable(L);
    for (i = 1;; i++) {
        int t = lua_geti(L, idx, i);
        if (t == LUA_TNIL) {
            lua_pop(L, 1);
            return 1;
        }
        if (t != LUA_TSTRING) {
            snprintf(place, sizeof place, "%lld", (long long)i);
            return km_fields_error(L, "mount option %s must be a string, got %s", place,
                                   luaL_typename(L, -1));
        }
        lua_rawseti(L, -2, i);
    }
}

/***
 * An OCI mount's fields, checked and copied as a decision starts from
 * them: `{source=, destination=, type=, options=}` (a missing source,
 * destination or type is `""`, missing options `{}`), the options copied up
 * to the first nil (a list behind `__index` is read once per element, as
 * `ipairs` reads it), the table sized for the decision's own fields.
 * @function mount_fields
 * @tparam table mount
 * @treturn[1] table the fields (fresh; the options copied)
 * @return[2] nil, message (a field or an option of the wrong type)
 */
static int km_mount_fields(lua_State *L)
{
    static const char *const names[] = {"source", "destination", "type"};
    size_t i;
    int t;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_createtable(L, 0, KM_DECISION_FIELDS);                /* 2 */
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        t = lua_getfield(L, 1, names[i]);
        if (t == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushliteral(L, "");
        } else if (t != LUA_TSTRING) {
            return km_fields_error(L, "mount %s must be a string, got %s", names[i],
                                   luaL_typename(L, -1));
        }
        lua_setfield(L, 2, names[i]);
    }
    t = lua_getfield(L, 1, "options");                        /* 3 */
    if (t == LUA_TNIL) {
        lua_newtable(L);
    } else if (t != LUA_TTABLE) {
        return km_fields_error(L, "mount %s must be a list, got %s", "options", luaL_typename(L, -1));
    } else if (km_copy_options(L, 3) != 1) {
        return 2;
    }
    lua_setfield(L, 2, "options");
    lua_settop(L, 2);
    return 1;
}

const luaL_Reg km_ocimount_funcs[] = {
    {"mount_fields", km_mount_fields},
    {NULL, NULL}
};
