/*
 * mountentry.c -- the Lua table of one mount entry, built from its fields
 * (a parsed mountinfo line or a statmount answer), the same whichever way
 * it was found:
 *   {id=, parent=, major=, minor=, root=, mount_point=, options={...},
 *    fstype=, source=, super_options={...}, optional={...}}
 *
 * No Lua functions: km_push_entry and km_append_items, declared in
 * katamount.h.
 */
#include "katamount.h"

#include <string.h>

/* Push s[0..n) with its escapes decoded. */
static void push_unescaped(lua_State *L, const char *s, size_t n)
{
    luaL_Buffer b;
    char *p;
    if (memchr(s, '\\', n) == NULL) {
        lua_pushlstring(L, s, n);
        return;
    }
    p = luaL_buffinitsize(L, &b, n);
    memcpy(p, s, n);
    luaL_pushresultsize(&b, km_unescape(p, n));
}

/* Append the `sep`-separated items of s[0..n) (empty items dropped), each
 * unescaped, to the array at the top of the stack. */
void km_append_items(lua_State *L, const char *s, size_t n, char sep)
{
    lua_Integer k = (lua_Integer)luaL_len(L, -1);
    size_t p = 0;
    while (p < n) {
        const char *q = memchr(s + p, sep, n - p);
        size_t il = q != NULL ? (size_t)(q - (s + p)) : n - p;
        if (il > 0) {
            push_unescaped(L, s + p, il);
            lua_rawseti(L, -2, ++k);
        }
        p += il + 1;
    }
}

static void set_str(lua_State *L, const char *name, const char *s, size_t n)
{
    lua_pushlstring(L, s, n);
    lua_setfield(L, -2, name);
}

static void set_int(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

/* Push the entry table of e. */
void km_push_entry(lua_State *L, const struct km_ent *e)
{
    lua_createtable(L, 0, 11);
    set_int(L, "id", (lua_Integer)e->id);
    set_int(L, "parent", (lua_Integer)e->parent);
    set_int(L, "major", (lua_Integer)e->major);
    set_int(L, "minor", (lua_Integer)e->minor);
    set_str(L, "root", e->str[KM_F_ROOT], e->len[KM_F_ROOT]);
    set_str(L, "mount_point", e->str[KM_F_MNT], e->len[KM_F_MNT]);
    set_str(L, "fstype", e->str[KM_F_FSTYPE], e->len[KM_F_FSTYPE]);
    set_str(L, "source", e->str[KM_F_SOURCE], e->len[KM_F_SOURCE]);
    lua_newtable(L);
    km_append_items(L, e->str[KM_F_OPTS], e->len[KM_F_OPTS], ',');
    lua_setfield(L, -2, "options");
    lua_newtable(L);
    km_append_items(L, e->str[KM_F_SUPER], e->len[KM_F_SUPER], ',');
    lua_setfield(L, -2, "super_options");
    lua_newtable(L);
    km_append_items(L, e->str[KM_F_OPTIONAL], e->len[KM_F_OPTIONAL], ' ');
    lua_setfield(L, -2, "optional");
}

