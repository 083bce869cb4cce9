/*
 * boundary.c -- the plain-data crossing between a host state and a rule
 * state (rulestate.c's st:call, both ways).
 *
 * Only strings, numbers, booleans and tables of those cross, copied raw (no
 * metamethod runs, lua_next and lua_rawset), without recursion, with a
 * bound on depth (KM_BOUNDARY_DEPTH_MAX), entries (KM_BOUNDARY_ITEMS_MAX)
 * and string bytes (KM_BOUNDARY_BYTES_MAX) per crossing; a function,
 * userdata, thread or table with a metatable never crosses.
 */
#include "katamount.h"

#include <stdio.h>

static int km_copy_fail(struct km_copy *c, const char *what)
{
    int n = snprintf(c->msg, sizeof c->msg,
                     "rule boundary: %s (only strings, numbers, booleans and tables of "
                     "those cross)", what);
    if (n < 0 || (size_t)n >= sizeof c->msg)
        c->msg[sizeof c->msg - 1] = '\0';
    return -1;
}

/* A string, number, boolean (or nil at the top) from `from` onto `to`. */
static int km_copy_scalar(lua_State *from, int idx, lua_State *to, struct km_copy *c)
{
    size_t len;
    const char *s;
    char what[64];
    int n;
    switch (lua_type(from, idx)) {
    case LUA_TNIL:
        lua_pushnil(to);
        return 0;
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(from, idx))
            lua_pushinteger(to, lua_tointeger(from, idx));
        else
            lua_pushnumber(to, lua_tonumber(from, idx));
        return 0;
    case LUA_TSTRING:
        s = lua_tolstring(from, idx, &len);
        if (len > KM_BOUNDARY_BYTES_MAX - c->bytes) {
            n = snprintf(c->msg, sizeof c->msg,
                         "rule boundary: more than KM_BOUNDARY_BYTES_MAX (%d) bytes of strings",
                         KM_BOUNDARY_BYTES_MAX);
            if (n < 0 || (size_t)n >= sizeof c->msg)
                c->msg[sizeof c->msg - 1] = '\0';
            return -1;
        }
        c->bytes += len;
        lua_pushlstring(to, s, len);
        return 0;
    default:
        n = snprintf(what, sizeof what, "a %s does not cross", lua_typename(from, lua_type(from, idx)));
        if (n < 0 || (size_t)n >= sizeof what)
            what[sizeof what - 1] = '\0';
        return km_copy_fail(c, what);
    }
}

/* A new table on `to` sized for the table at `idx` of `from` (its border
 * and its number of entries, counted raw: each table is made at its size,
 * never grown and rehashed entry by entry). The count stops where the
 * copy would fail anyway (KM_BOUNDARY_ITEMS_MAX entries in all). */
static void km_new_table_like(lua_State *from, int idx, lua_State *to, const struct km_copy *c)
{
    lua_Unsigned narr = lua_rawlen(from, idx), count = 0;
    lua_Unsigned most = (lua_Unsigned)(KM_BOUNDARY_ITEMS_MAX - c->items) + 1;
    lua_pushnil(from);
    while (lua_next(from, idx)) {
        lua_pop(from, 1);
        if (++count == most) {
            lua_pop(from, 1);
            break;
        }
    }
    if (narr > count)
        narr = count;
    lua_createtable(to, narr > INT_MAX ? INT_MAX : (int)narr,
                    count - narr > INT_MAX ? INT_MAX : (int)(count - narr));
}

/*
 * Copy the value at `idx` of `from` onto `to`, without recursion (an
 * explicit stack of KM_BOUNDARY_DEPTH_MAX frames) and without metamethods
 * (lua_next, lua_rawset). Both stacks need 2 * KM_BOUNDARY_DEPTH_MAX + 8
 * free slots. On failure c->msg says why and the stacks hold leftovers
 * (the caller resets their tops).
 */
int km_copy_value(lua_State *from, int idx, lua_State *to, struct km_copy *c)
{
    int src[KM_BOUNDARY_DEPTH_MAX], dst[KM_BOUNDARY_DEPTH_MAX];
    int depth;
    char what[96];
    int n;
    if (lua_type(from, idx) != LUA_TTABLE)
        return km_copy_scalar(from, idx, to, c);
    idx = lua_absindex(from, idx);
    if (lua_getmetatable(from, idx)) {
        lua_pop(from, 1);
        return km_copy_fail(c, "a table with a metatable does not cross");
    }
    km_new_table_like(from, idx, to, c);
    src[0] = idx;
    dst[0] = lua_gettop(to);
    depth = 1;
    lua_pushnil(from);
    while (depth > 0) {
        int kt;
        if (!lua_next(from, src[depth - 1])) {
            depth--;
            if (depth > 0) {
                lua_pop(from, 1);
                lua_rawset(to, dst[depth - 1]);
            }
            continue;
        }
        if (++c->items > KM_BOUNDARY_ITEMS_MAX) {
            n = snprintf(what, sizeof what, "more than KM_BOUNDARY_ITEMS_MAX (%d) table entries",
                         KM_BOUNDARY_ITEMS_MAX);
            if (n < 0 || (size_t)n >= sizeof what)
                what[sizeof what - 1] = '\0';
            return km_copy_fail(c, what);
        }
        kt = lua_type(from, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
            n = snprintf(what, sizeof what, "a %s key does not cross", lua_typename(from, kt));
            if (n < 0 || (size_t)n >= sizeof what)
                what[sizeof what - 1] = '\0';
            return km_copy_fail(c, what);
        }
        if (km_copy_scalar(from, -2, to, c) != 0)
            return -1;
        if (lua_type(from, -1) == LUA_TTABLE) {
            if (depth >= KM_BOUNDARY_DEPTH_MAX) {
                n = snprintf(what, sizeof what, "tables nested deeper than KM_BOUNDARY_DEPTH_MAX (%d)",
                             KM_BOUNDARY_DEPTH_MAX);
                if (n < 0 || (size_t)n >= sizeof what)
                    what[sizeof what - 1] = '\0';
                return km_copy_fail(c, what);
            }
            if (lua_getmetatable(from, -1)) {
                lua_pop(from, 1);
                return km_copy_fail(c, "a table with a metatable does not cross");
            }
            km_new_table_like(from, lua_gettop(from), to, c);
            src[depth] = lua_gettop(from);
            dst[depth] = lua_gettop(to);
            depth++;
            lua_pushnil(from);
            continue;
        }
        if (km_copy_scalar(from, -1, to, c) != 0)
            return -1;
        lua_rawset(to, dst[depth - 1]);
        lua_pop(from, 1);
    }
    return 0;
}
