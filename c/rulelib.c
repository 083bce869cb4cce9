/*
 * rulelib.c -- the bounded standard library of a rule state (rulestate.c):
 * the table wrappers and the setup of the libraries.
 *
 * Inside a rule state every library function whose cost depends on its
 * arguments is charged to the running rule's instruction budget before it
 * does the work (km_rule_charge: one instruction per KM_RULE_BYTES_PER_STEP
 * bytes, or per element of a range), so that no single call can outlast the
 * budget: string.format/pack/upper/lower/reverse/sub/byte, table.concat/
 * insert/remove/move/unpack/sort, utf8 (charged here). The string pattern
 * functions and string.rep are rulestring.c's (on the matcher of
 * rulematch.c). string.dump is removed.
 */
#include "katamount.h"

#include <lualib.h>

/* ---------------------------------------------------------------- charges */

/* Charge a range of `n` elements (a negative or huge n charges all). */
static void km_charge_range(lua_State *L, lua_Integer first, lua_Integer last)
{
    lua_Integer n;
    if (last < first)
        return;
    if (first < 0 && last > LUA_MAXINTEGER + first)
        n = LUA_MAXINTEGER;
    else
        n = last - first + 1;
    if (n < 0)
        n = LUA_MAXINTEGER;
    km_rule_charge(L, n);
}

/*
 * A library function charged by the sizes of its string arguments, then run
 * as it is: upvalue 1 is the original function, a C function of the
 * standard library (none of which has upvalues), run in this call's frame
 * on these arguments (its errors name the function as the rule called it).
 */
static int km_charged(lua_State *L)
{
    int n = lua_gettop(L), i;
    size_t bytes = 0, len;
    lua_CFunction original = lua_tocfunction(L, lua_upvalueindex(1));
    for (i = 1; i <= n; i++) {
        if (lua_type(L, i) == LUA_TSTRING) {
            lua_tolstring(L, i, &len);
            bytes += len;
        }
    }
    km_rule_charge_bytes(L, bytes + (size_t)n);
    if (original == NULL)
        return luaL_error(L, "rule state: a charged function is not a C function");
    return original(L);
}

/* ---------------------------------------------------------------- tables */

static lua_Integer km_len(lua_State *L, int idx)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    return luaL_len(L, idx);
}

static int km_tab_concat(lua_State *L)
{
    size_t lsep;
    lua_Integer last = km_len(L, 1);
    const char *sep = luaL_optlstring(L, 2, "", &lsep);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    luaL_Buffer b;
    last = luaL_optinteger(L, 4, last);
    km_charge_range(L, i, last);
    luaL_buffinit(L, &b);
    for (; i <= last; i++) {
        lua_geti(L, 1, i);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "invalid value (at index %I) in table for 'concat'",
                              (LUAI_UACINT)i);
        luaL_addvalue(&b);
        if (i != last)
            luaL_addlstring(&b, sep, lsep);
        if (i == LUA_MAXINTEGER)
            break;
    }
    luaL_pushresult(&b);
    return 1;
}

static int km_tab_insert(lua_State *L)
{
    lua_Integer e = km_len(L, 1), pos, i;
    if (e < LUA_MAXINTEGER)
        e++;
    switch (lua_gettop(L)) {
    case 2:
        pos = e;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
        km_charge_range(L, pos, e);
        for (i = e; i > pos; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int km_tab_remove(lua_State *L)
{
    lua_Integer size = km_len(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (lua_gettop(L) >= 2 && pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    km_charge_range(L, pos, size);
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int km_tab_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    lua_Integer i;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, tt, LUA_TTABLE);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        luaL_argcheck(L, t <= LUA_MAXINTEGER - (e - f), 4, "destination wrap around");
        km_charge_range(L, f, e);
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (i = 0; i <= e - f; i++) {
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (i = e - f; i >= 0; i--) {
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

static int km_tab_unpack(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 2, 1);
    lua_Integer e = lua_isnoneornil(L, 3) ? luaL_len(L, 1) : luaL_checkinteger(L, 3);
    lua_Unsigned n;
    if (i > e)
        return 0;
    n = (lua_Unsigned)e - (lua_Unsigned)i;
    if (n >= (unsigned int)INT_MAX || !lua_checkstack(L, (int)(++n)))
        return luaL_error(L, "too many results to unpack");
    km_charge_range(L, i, e);
    for (; i < e; i++)
        lua_geti(L, 1, i);
    lua_geti(L, 1, e);
    return (int)n;
}

/* table.sort of a plain table only (a metatable's __len could answer
 * otherwise the second time), charged n log n before it runs. */
static int km_tab_sort(lua_State *L)
{
    lua_Integer n, cost = 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getmetatable(L, 1))
        return luaL_error(L, "table.sort: a table with a metatable is not sorted in rules");
    n = (lua_Integer)lua_rawlen(L, 1);
    while ((1LL << (cost < 62 ? cost : 62)) < n && cost < 63)
        cost++;
    km_rule_charge(L, n > LUA_MAXINTEGER / cost ? LUA_MAXINTEGER : n * cost);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 0);
    return 0;
}

/* ---------------------------------------------------------------- setup */

/* Replace lib[name] (lib at -2) by f with the original as its upvalue;
 * the original is kept in the table at -1, registered as the library's
 * module, so that its argument errors name it ("bad argument #1 to
 * 'string.pack'"). */
static void km_wrap(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getfield(L, -2, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -3, name);
}

/* Open library `name`; push it and the table of its wrapped originals,
 * which replaces it in package.loaded. */
static void km_open(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_requiref(L, name, open, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_remove(L, -2);
}

static void km_set(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_setfield(L, -3, name);
}

void km_rulelib_open(lua_State *L)
{
    static const char *const charged_string[] = {
        "byte", "char", "format", "lower", "pack", "packsize", "reverse",
        "sub", "unpack", "upper", NULL,
    };
    static const char *const charged_utf8[] = {
        "char", "codepoint", "len", "offset", "codes", NULL,
    };
    int i;

    km_open(L, LUA_STRLIBNAME, luaopen_string);
    for (i = 0; charged_string[i] != NULL; i++)
        km_wrap(L, charged_string[i], km_charged);
    for (i = 0; km_rulestring_funcs[i].name != NULL; i++)
        km_set(L, km_rulestring_funcs[i].name, km_rulestring_funcs[i].func);
    lua_pushnil(L);
    lua_setfield(L, -3, "dump");
    lua_pop(L, 2);

    km_open(L, LUA_TABLIBNAME, luaopen_table);
    km_set(L, "concat", km_tab_concat);
    km_set(L, "insert", km_tab_insert);
    km_set(L, "remove", km_tab_remove);
    km_set(L, "move", km_tab_move);
    km_set(L, "unpack", km_tab_unpack);
    km_wrap(L, "sort", km_tab_sort);
    km_wrap(L, "pack", km_charged);
    lua_pop(L, 2);

    km_open(L, LUA_UTF8LIBNAME, luaopen_utf8);
    for (i = 0; charged_utf8[i] != NULL; i++)
        km_wrap(L, charged_utf8[i], km_charged);
    lua_pop(L, 2);

    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_pop(L, 1);
}

