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

#include <stdint.h>
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
        if (c->strings != NULL) {
            size_t slot = (((uintptr_t)s >> 4) ^ ((uintptr_t)s >> 10)) & (KM_COPY_STRINGS - 1);
            if (c->strings[slot] == s) {
                lua_pushvalue(to, c->strings_base + (int)slot);
                return 0;
            }
            lua_pushlstring(to, s, len);
            lua_copy(to, -1, c->strings_base + (int)slot);
            c->strings[slot] = s;
            return 0;
        }
        lua_pushlstring(to, s, len);
        return 0;
    default:
        n = snprintf(what, sizeof what, "a %s does not cross", lua_typename(from, lua_type(from, idx)));
        if (n < 0 || (size_t)n >= sizeof what)
            what[sizeof what - 1] = '\0';
        return km_copy_fail(c, what);
    }
}

/* Slots of `to` a table being copied may hold at once: its staged pairs,
 * its own table, the key that leads to a nested table. */
#define KM_BOUNDARY_FRAME_SLOTS (2 * KM_BOUNDARY_STAGED_MAX + 4)

/* A table being copied: `src` its index on `from`; on `to`, its entries
 * from `base` + 1 on (staged pairs `count` of them), or its table at
 * `base` + 1 once `made`. */
struct km_frame {
    int src, base, count, made;
};

/* The entries of the table at `idx` of `from` (raw), counted up to where
 * the copy would fail anyway (KM_BOUNDARY_ITEMS_MAX entries in all). */
static lua_Unsigned km_count_entries(lua_State *from, int idx, const struct km_copy *c)
{
    lua_Unsigned count = 0;
    lua_Unsigned most = (lua_Unsigned)(KM_BOUNDARY_ITEMS_MAX - c->items) + 1;
    lua_pushnil(from);
    while (lua_next(from, idx)) {
        lua_pop(from, 1);
        if (++count == most) {
            lua_pop(from, 1);
            break;
        }
    }
    return count;
}

/* The new table at the top of `to` becomes frame `f`'s (at f->base + 1,
 * below its staged pairs) and takes those pairs. */
static void km_fill_staged(lua_State *to, struct km_frame *f)
{
    int i;
    lua_insert(to, f->base + 1);
    for (i = 0; i < f->count; i++)
        lua_rawset(to, f->base + 1);    /* the last pair staged, each time */
    f->made = 1;
}

/* The staged pairs of frame `f` (on `to`, above f->base) moved into a new
 * table made at their size, left at f->base + 1. Integer keys 1..n go to
 * the array part when they are the most of the keys up to n. */
static void km_make_staged(lua_State *to, struct km_frame *f)
{
    int i, narr = 0, inarr = 0;
    for (i = 0; i < f->count; i++) {
        int k = f->base + 1 + 2 * i;
        if (lua_isinteger(to, k)) {
            lua_Integer v = lua_tointeger(to, k);
            if (v >= 1 && v <= f->count)
                narr++;
        }
    }
    for (i = 0; i < f->count && narr > 0; i++) {
        int k = f->base + 1 + 2 * i;
        if (lua_isinteger(to, k)) {
            lua_Integer v = lua_tointeger(to, k);
            if (v >= 1 && v <= narr)
                inarr++;
        }
    }
    lua_createtable(to, narr, f->count - inarr);
    km_fill_staged(to, f);
}

/* The table of frame `f` made now that it holds more than
 * KM_BOUNDARY_STAGED_MAX entries: sized by counting its source's entries,
 * with the staged ones in; the rest go in directly. */
static void km_make_counted(lua_State *from, lua_State *to, struct km_frame *f,
                            const struct km_copy *c)
{
    lua_Unsigned narr = lua_rawlen(from, f->src), count = km_count_entries(from, f->src, c);
    if (narr > count)
        narr = count;
    lua_createtable(to, narr > INT_MAX ? INT_MAX : (int)narr,
                    count - narr > INT_MAX ? INT_MAX : (int)(count - narr));
    km_fill_staged(to, f);
}

/* Begin copying the table at the top of `from` (no metatable: checked by
 * the caller): a frame whose entries go above the top of `to`. */
static int km_open_frame(lua_State *from, lua_State *to, struct km_frame *f, struct km_copy *c)
{
    if (!lua_checkstack(to, KM_BOUNDARY_FRAME_SLOTS))
        return km_copy_fail(c, "no stack left to copy a table");
    f->src = lua_gettop(from);
    f->base = lua_gettop(to);
    f->count = 0;
    f->made = 0;
    lua_pushnil(from);
    return 0;
}

/* The table at `idx` of `from` (no metatable) copied onto `to` in one
 * pass over each of its tables: a table's entries are staged on `to` and
 * its table made at their number (see km_copy_value). */
static int km_copy_table(lua_State *from, int idx, lua_State *to, struct km_copy *c)
{
    struct km_frame frames[KM_BOUNDARY_DEPTH_MAX];
    int depth;
    char what[96];
    int n;
    lua_pushvalue(from, idx);
    if (km_open_frame(from, to, &frames[0], c) != 0)
        return -1;
    depth = 1;
    while (depth > 0) {
        struct km_frame *f = &frames[depth - 1];
        int kt;
        if (!lua_next(from, f->src)) {
            if (!f->made && depth == 1 && c->into != 0) {
                lua_pushvalue(to, c->into);     /* the caller's table takes them */
                km_fill_staged(to, f);
            } else if (!f->made) {
                km_make_staged(to, f);
            }
            lua_pop(from, 1);           /* the source table */
            depth--;
            if (depth > 0) {
                struct km_frame *up = &frames[depth - 1];
                if (up->made)
                    lua_rawset(to, up->base + 1);
                else
                    up->count++;
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
        if (!f->made && f->count == KM_BOUNDARY_STAGED_MAX)
            km_make_counted(from, to, f, c);
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
            if (km_open_frame(from, to, &frames[depth], c) != 0)
                return -1;
            depth++;
            continue;
        }
        if (km_copy_scalar(from, -1, to, c) != 0)
            return -1;
        if (f->made)
            lua_rawset(to, f->base + 1);
        else
            f->count++;
        lua_pop(from, 1);
    }
    return 0;
}

/*
 * Copy the value at `idx` of `from` onto `to`, without recursion (an
 * explicit stack of KM_BOUNDARY_DEPTH_MAX frames), without metamethods
 * (lua_next, lua_rawset) and in one pass over each table (its entries
 * staged on `to`, its table made at their number). `from` needs
 * KM_COPY_SLOTS free slots; `to` grows as it needs. On failure c->msg says
 * why and the stacks hold leftovers (the caller resets their tops).
 */
int km_copy_value(lua_State *from, int idx, lua_State *to, struct km_copy *c)
{
    if (lua_type(from, idx) != LUA_TTABLE)
        return km_copy_scalar(from, idx, to, c);
    if (lua_getmetatable(from, idx)) {
        lua_pop(from, 1);
        return km_copy_fail(c, "a table with a metatable does not cross");
    }
    return km_copy_table(from, lua_absindex(from, idx), to, c);
}

/*
 * Copy the list at `idx` of `from` onto `to` element by element, each
 * element a crossing of its own (its own KM_BOUNDARY_*_MAX): an element
 * that cannot cross arrives as `{error = message}`, and the others cross
 * all the same (one mount's data, or one decision's, never fails a whole
 * plan). The list itself is the engine's own: a table without a metatable,
 * read from 1 to its raw length. Both stacks grow as the copy needs.
 * With `into` (the index on `to` of a list, else 0): an element that is a
 * table of at most KM_BOUNDARY_STAGED_MAX entries, copied whole, has them
 * set (raw) on the table into[i] when there is one, which then takes its
 * place in the copy; nothing is set on into[i] when the element cannot
 * cross (its entries are staged until the last is copied).
 * Returns 0, or -1 with c->msg saying why the list itself cannot cross.
 */
int km_copy_each(lua_State *from, int idx, lua_State *to, struct km_copy *c, int into)
{
    const char *strings[KM_COPY_STRINGS];
    lua_Integer i, n;
    int from_top, to_top, strings_base;
    idx = lua_absindex(from, idx);
    if (lua_type(from, idx) != LUA_TTABLE)
        return km_copy_fail(c, "a list crossing element by element must be a table");
    if (lua_getmetatable(from, idx)) {
        lua_pop(from, 1);
        return km_copy_fail(c, "a table with a metatable does not cross");
    }
    /* each element is copied from one slot above the list */
    if (!lua_checkstack(from, KM_COPY_SLOTS + 1) || !lua_checkstack(to, KM_COPY_STRINGS + 4))
        return km_copy_fail(c, "no stack space for a list");
    n = (lua_Integer)lua_rawlen(from, idx);
    if (n > INT_MAX)
        return km_copy_fail(c, "a list of more than INT_MAX elements does not cross");
    /* the strings remembered across the elements: their copies in slots
     * below the list (the list's own strings live as long as the copy) */
    strings_base = lua_gettop(to) + 1;
    for (i = 0; i < KM_COPY_STRINGS; i++) {
        strings[i] = NULL;
        lua_pushnil(to);
    }
    lua_createtable(to, (int)n, 0);
    for (i = 1; i <= n; i++) {
        struct km_copy one;
        one.items = 0;
        one.bytes = 0;
        one.msg[0] = '\0';
        one.strings = strings;
        one.strings_base = strings_base;
        from_top = lua_gettop(from);
        to_top = lua_gettop(to);
        one.into = 0;
        if (into != 0) {
            if (lua_rawgeti(to, into, i) == LUA_TTABLE)
                one.into = to_top + 1;
            to_top++;                   /* into[i] stays below the copy */
        }
        lua_rawgeti(from, idx, i);
        if (km_copy_value(from, -1, to, &one) != 0) {
            lua_settop(to, to_top);
            lua_createtable(to, 0, 1);
            lua_pushstring(to, one.msg);
            lua_setfield(to, -2, "error");
        }
        lua_settop(from, from_top);
        if (into != 0)
            lua_remove(to, to_top);
        lua_rawseti(to, -2, i);
    }
    lua_replace(to, strings_base);
    lua_settop(to, strings_base);
    return 0;
}
