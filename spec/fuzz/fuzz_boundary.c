/*
 * fuzz_boundary.c -- libFuzzer target for km_copy_value (c/boundary.c), the
 * plain-data crossing between a host state and a rule state. The input is a
 * small program that builds a value in one Lua state: nested tables, keys
 * and values of every kind, shared and cyclic references, long lists, long
 * strings, and what must not cross (a function, a table with a metatable, a
 * table as a key). Checked:
 *  - no sanitizer report, whatever the value;
 *  - the copy succeeds exactly when a reference walker (in Lua, below) says
 *    the value is plain data within KM_BOUNDARY_DEPTH_MAX levels,
 *    KM_BOUNDARY_ITEMS_MAX entries and KM_BOUNDARY_BYTES_MAX string bytes;
 *    a failure has a "rule boundary: " message;
 *  - the copying side's stack is where it was after a success, and the
 *    copy is one value on the receiving side;
 *  - what crossed crosses back, and equals the original (compared in Lua:
 *    same keys, same values, integers and floats told apart);
 *  - a plain table crossing as a list element by element (km_copy_each, a
 *    plan's jobs and decisions): each element 1..#t arrives equal when the
 *    reference says it crosses on its own, else as {error = "rule
 *    boundary: ..."}; the copying stack does not move;
 *  - the same list crossing into a list of empty tables (`into`, a plan's
 *    decisions into their mounts' fields): an element that crosses and is a
 *    table of at most KM_BOUNDARY_STAGED_MAX entries arrives as its own
 *    target, filled; every other arrives as without targets, its target
 *    left empty.
 * FUZZ_BOUNDARY_VERBOSE=1 prints what each input did (crossed, or why not).
 */
#include "katamount.h"

#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values the program may hold at once, entries a "many" op adds, entries
 * and string bytes one input may make (past the boundary's own bounds, so
 * that they are reached, not much further). */
#define FZ_STACK_MAX 48
#define FZ_MANY_UNIT 64
#define FZ_ENTRIES_MAX (KM_BOUNDARY_ITEMS_MAX + 50000)
#define FZ_BYTES_MAX (KM_BOUNDARY_BYTES_MAX + 4 * 1024 * 1024)

/* The reference: whether v crosses (plain data within the bounds), and the
 * structural equality of a value and its copy. */
static const char FZ_LUA[] =
    "local DEPTH, ITEMS, BYTES = ...\n"
    "local items, bytes\n"
    "local function scalar(v)\n"
    "  local t = type(v)\n"
    "  if t == 'string' then bytes = bytes + #v return bytes <= BYTES end\n"
    "  return t == 'number' or t == 'boolean'\n"
    "end\n"
    "local function walk(t, depth)\n"
    "  if getmetatable(t) ~= nil then return false end\n"
    "  for k, v in next, t do\n"
    "    items = items + 1\n"
    "    if items > ITEMS then return false end\n"
    "    if type(k) == 'table' or not scalar(k) then return false end\n"
    "    if type(v) == 'table' then\n"
    "      if depth >= DEPTH or not walk(v, depth + 1) then return false end\n"
    "    elseif not scalar(v) then return false end\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local function crosses(v)\n"
    "  items, bytes = 0, 0\n"
    "  if type(v) == 'table' then return walk(v, 1) end\n"
    "  return v == nil or scalar(v)\n"
    "end\n"
    "local function same(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then return math.type(a) == math.type(b) and a == b end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  if getmetatable(b) ~= nil then return false end\n"
    "  local n = 0\n"
    "  for k, v in next, a do\n"
    "    n = n + 1\n"
    "    if not same(v, rawget(b, k)) then return false end\n"
    "  end\n"
    "  for _ in next, b do n = n - 1 end\n"
    "  return n == 0\n"
    "end\n"
    "return crosses, same\n";

static lua_State *fz_from, *fz_to;

static void fz_fail(const char *why, const char *detail)
{
    fprintf(stderr, "fuzz_boundary: %s%s%s\n", why, detail ? ": " : "", detail ? detail : "");
    abort();
}

static int fz_function(lua_State *L)
{
    (void)L;
    return 0;
}

/* The two states, made once: the reference's functions in the registry
 * of the copying one. */
static void fz_setup(void)
{
    if (fz_from != NULL)
        return;
    fz_from = luaL_newstate();
    fz_to = luaL_newstate();
    if (fz_from == NULL || fz_to == NULL)
        fz_fail("no Lua state", NULL);
    luaL_openlibs(fz_from);
    if (luaL_loadstring(fz_from, FZ_LUA) != LUA_OK)
        fz_fail("reference does not load", lua_tostring(fz_from, -1));
    lua_pushinteger(fz_from, KM_BOUNDARY_DEPTH_MAX);
    lua_pushinteger(fz_from, KM_BOUNDARY_ITEMS_MAX);
    lua_pushinteger(fz_from, KM_BOUNDARY_BYTES_MAX);
    lua_call(fz_from, 3, 2);
    lua_setfield(fz_from, LUA_REGISTRYINDEX, "fz_same");
    lua_setfield(fz_from, LUA_REGISTRYINDEX, "fz_crosses");
}

/* Run the program `data` on L's empty stack: the value built is at index 1
 * (nil when the program left nothing). */
static void fz_build(lua_State *L, const uint8_t *data, size_t size)
{
    size_t i = 0, entries = 0, bytes = 0;
    if (!lua_checkstack(L, FZ_STACK_MAX + 8))
        fz_fail("no stack", NULL);
    while (i < size) {
        uint8_t b = data[i++];
        int top = lua_gettop(L);
        if (top >= FZ_STACK_MAX && (b & 7) != 5 && (b & 7) != 7)
            continue;
        switch (b & 7) {
        case 0:                                     /* an integer */
            if (i + 2 > size)
                return;
            lua_pushinteger(L, (int16_t)(data[i] | (data[i + 1] << 8)));
            i += 2;
            break;
        case 1: {                                   /* a string: given, or long */
            size_t len;
            if (i + 1 > size)
                return;
            len = data[i++];
            if (len > 200) {
                size_t big = (len - 200) * 65536;
                luaL_Buffer buf;
                char *p;
                if (bytes + big > FZ_BYTES_MAX)
                    big = 0;
                bytes += big;
                p = luaL_buffinitsize(L, &buf, big);
                memset(p, 'x', big);
                luaL_pushresultsize(&buf, big);
            } else {
                if (len > size - i)
                    len = size - i;
                lua_pushlstring(L, (const char *)data + i, len);
                i += len;
            }
            break;
        }
        case 2:                                     /* a boolean */
            lua_pushboolean(L, (b >> 3) & 1);
            break;
        case 3:                                     /* a float, sometimes integral */
            if (i + 1 > size)
                return;
            lua_pushnumber(L, (lua_Number)(int8_t)data[i++] / 4.0);
            break;
        case 4:                                     /* a new table */
            lua_createtable(L, 0, 0);
            break;
        case 5:                                     /* t[k] = v: t, k, v on top */
            if (top >= 3 && lua_type(L, -3) == LUA_TTABLE && !lua_isnil(L, -2)
                && !(lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) != lua_tonumber(L, -2))
                && entries < FZ_ENTRIES_MAX) {
                lua_rawset(L, -3);
                entries++;
            } else if (top >= 1) {
                lua_pop(L, 1);
            }
            break;
        case 6:                                     /* a value held already (shared, cycles) */
            if (top > 0 && i + 1 <= size)
                lua_pushvalue(L, 1 + data[i++] % top);
            break;
        default:                                    /* 7: the rest, by the high bits */
            switch (b >> 3) {
            case 0:
                if (top < FZ_STACK_MAX)
                    lua_pushcfunction(L, fz_function);
                break;
            case 1:                                 /* a table with a metatable */
                if (top < FZ_STACK_MAX) {
                    lua_createtable(L, 0, 0);
                    lua_createtable(L, 0, 0);
                    lua_setmetatable(L, -2);
                }
                break;
            case 2:                                 /* t[#t + 1] = v */
                if (top >= 2 && lua_type(L, -2) == LUA_TTABLE && !lua_isnil(L, -1)
                    && entries < FZ_ENTRIES_MAX) {
                    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
                    entries++;
                } else if (top >= 1) {
                    lua_pop(L, 1);
                }
                break;
            case 3:                                 /* many entries at once */
                if (top >= 1 && lua_type(L, -1) == LUA_TTABLE && i + 1 <= size) {
                    size_t n = (size_t)data[i++] * FZ_MANY_UNIT, k;
                    lua_Integer at = (lua_Integer)lua_rawlen(L, -1);
                    for (k = 0; k < n && entries < FZ_ENTRIES_MAX; k++, entries++) {
                        lua_pushinteger(L, (lua_Integer)k);
                        lua_rawseti(L, -2, at + 1 + (lua_Integer)k);
                    }
                }
                break;
            default:
                if (top >= 1)
                    lua_pop(L, 1);
                break;
            }
            break;
        }
    }
}

static int fz_call_bool(lua_State *L, const char *name, int nargs)
{
    int ok;
    lua_getfield(L, LUA_REGISTRYINDEX, name);
    lua_insert(L, -nargs - 1);
    if (lua_pcall(L, nargs, 1, 0) != LUA_OK)
        fz_fail("reference failed", lua_tostring(L, -1));
    ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return ok;
}

/* One element of a list that crossed element by element (`how`): what
 * arrived (the top of fz_to) against the element (the top of fz_from):
 * equal, crossed back, when the reference says it crosses; else
 * {error = "rule boundary: ..."}. */
static void fz_check_arrived(int crosses, const char *how)
{
    struct km_copy c;
    if (crosses) {
        memset(&c, 0, sizeof c);
        lua_checkstack(fz_to, KM_COPY_SLOTS + 8);
        if (km_copy_value(fz_to, -1, fz_from, &c) != 0)
            fz_fail("an element does not cross back", c.msg);
        if (!fz_call_bool(fz_from, "fz_same", 2))
            fz_fail("an element came back different", how);
    } else if (lua_type(fz_to, -1) != LUA_TTABLE
               || lua_getfield(fz_to, -1, "error") != LUA_TSTRING
               || strncmp(lua_tostring(fz_to, -1), "rule boundary: ", 15) != 0) {
        fz_fail("a refused element is not {error = a boundary message}", how);
    }
}

/* The value (index 1 of fz_from) as a list crossing element by element. */
static void fz_check_each(void)
{
    struct km_copy c;
    lua_Integer i, n;
    int top = lua_gettop(fz_from);
    if (lua_type(fz_from, 1) != LUA_TTABLE)
        return;
    if (lua_getmetatable(fz_from, 1)) {
        lua_pop(fz_from, 1);
        memset(&c, 0, sizeof c);
        if (km_copy_each(fz_from, 1, fz_to, &c, 0) == 0)
            fz_fail("a list with a metatable crossed element by element", NULL);
        lua_settop(fz_to, 0);
        return;
    }
    lua_settop(fz_to, 0);
    memset(&c, 0, sizeof c);
    if (km_copy_each(fz_from, 1, fz_to, &c, 0) != 0)
        fz_fail("a plain list refused as a whole", c.msg);
    if (lua_gettop(fz_from) != top)
        fz_fail("the copying stack moved (element by element)", NULL);
    if (lua_gettop(fz_to) != 1 || lua_type(fz_to, 1) != LUA_TTABLE)
        fz_fail("the list is not one table", NULL);
    n = (lua_Integer)lua_rawlen(fz_from, 1);
    for (i = 1; i <= n; i++) {
        int crosses;
        lua_rawgeti(fz_from, 1, i);
        lua_pushvalue(fz_from, -1);
        crosses = fz_call_bool(fz_from, "fz_crosses", 1);
        lua_rawgeti(fz_to, 1, i);
        fz_check_arrived(crosses, "element by element");
        lua_settop(fz_from, top);
        lua_settop(fz_to, 1);
    }
    lua_settop(fz_to, 0);
}

/* Entries of the table at the top of `L`, counted up to most + 1. */
static lua_Integer fz_entries(lua_State *L, lua_Integer most)
{
    lua_Integer n = 0;
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (++n > most) {
            lua_pop(L, 1);
            break;
        }
    }
    return n;
}

/* The value (index 1 of fz_from, a table without a metatable) as a list
 * crossing element by element into a list of empty tables. */
static void fz_check_each_into(void)
{
    struct km_copy c;
    lua_Integer i, n;
    int top = lua_gettop(fz_from);
    if (lua_type(fz_from, 1) != LUA_TTABLE || lua_getmetatable(fz_from, 1)) {
        lua_settop(fz_from, top);
        return;
    }
    n = (lua_Integer)lua_rawlen(fz_from, 1);
    lua_settop(fz_to, 0);
    lua_createtable(fz_to, (int)n, 0);                  /* 1: the targets */
    for (i = 1; i <= n; i++) {
        lua_newtable(fz_to);
        lua_rawseti(fz_to, 1, i);
    }
    memset(&c, 0, sizeof c);
    if (km_copy_each(fz_from, 1, fz_to, &c, 1) != 0)
        fz_fail("a plain list refused as a whole (into)", c.msg);
    if (lua_gettop(fz_from) != top || lua_gettop(fz_to) != 2 || lua_type(fz_to, 2) != LUA_TTABLE)
        fz_fail("the stacks are not as they were, the list on top (into)", NULL);
    for (i = 1; i <= n; i++) {
        int crosses, small, merged, empty;
        lua_rawgeti(fz_from, 1, i);
        small = lua_type(fz_from, -1) == LUA_TTABLE && fz_entries(fz_from, KM_BOUNDARY_STAGED_MAX)
                                                            <= KM_BOUNDARY_STAGED_MAX;
        lua_pushvalue(fz_from, -1);
        crosses = fz_call_bool(fz_from, "fz_crosses", 1);
        lua_rawgeti(fz_to, 2, i);                       /* what arrived */
        lua_rawgeti(fz_to, 1, i);                       /* its target */
        merged = lua_rawequal(fz_to, -1, -2);
        lua_pushnil(fz_to);
        empty = !lua_next(fz_to, -2);
        lua_settop(fz_to, 3);
        if (merged != (crosses && small))
            fz_fail(merged ? "an element was set on its target" : "an element missed its target",
                    NULL);
        if (!merged && !empty)
            fz_fail("a target was written, its element arriving apart", NULL);
        fz_check_arrived(crosses, "into the caller's tables");
        lua_settop(fz_from, top);
        lua_settop(fz_to, 2);
    }
    lua_settop(fz_to, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct km_copy c;
    int crosses, status, top;
    fz_setup();
    lua_settop(fz_from, 0);
    lua_settop(fz_to, 0);
    fz_build(fz_from, data, size);
    lua_settop(fz_from, lua_gettop(fz_from) > 0 ? 1 : 0);
    if (lua_gettop(fz_from) == 0)
        lua_pushnil(fz_from);
    lua_checkstack(fz_from, KM_COPY_SLOTS + 8);
    lua_pushvalue(fz_from, 1);
    crosses = fz_call_bool(fz_from, "fz_crosses", 1);

    memset(&c, 0, sizeof c);
    top = lua_gettop(fz_from);
    status = km_copy_value(fz_from, 1, fz_to, &c);
    if (getenv("FUZZ_BOUNDARY_VERBOSE") != NULL)
        fprintf(stderr, "fuzz_boundary: %s%s\n", status == 0 ? "crossed" : "refused: ", c.msg);
    if ((status == 0) != crosses)
        fz_fail(status == 0 ? "crossed, though the reference says it must not"
                            : "refused, though the reference says it crosses", c.msg);
    if (status != 0) {
        if (strncmp(c.msg, "rule boundary: ", 15) != 0)
            fz_fail("a refusal without a boundary message", c.msg);
    } else {
        if (lua_gettop(fz_from) != top)
            fz_fail("the copying stack moved", NULL);
        if (lua_gettop(fz_to) != 1)
            fz_fail("the copy is not one value", NULL);
        /* back again, then compared with the original */
        memset(&c, 0, sizeof c);
        lua_checkstack(fz_to, KM_COPY_SLOTS + 8);
        if (km_copy_value(fz_to, 1, fz_from, &c) != 0)
            fz_fail("the copy does not cross back", c.msg);
        lua_pushvalue(fz_from, 1);
        lua_insert(fz_from, -2);
        if (!fz_call_bool(fz_from, "fz_same", 2))
            fz_fail("the value came back different", NULL);
    }
    lua_settop(fz_from, 1);
    lua_settop(fz_to, 0);
    fz_check_each();
    lua_settop(fz_from, 1);
    fz_check_each_into();
    lua_settop(fz_from, 0);
    lua_settop(fz_to, 0);
    lua_gc(fz_from, LUA_GCCOLLECT);
    lua_gc(fz_to, LUA_GCCOLLECT);
    return 0;
}
