/*
 * rulefacts.c -- what rule code asks most, in C inside a rule state: the
 * option test of every mount rule (`core.has_option`) and the prefix tests
 * of paths (`core.starts_with`, `core.path_under`), charged to the running
 * rule; the read-only views of facts (`runtime.freezer`) and the memo of
 * one-path facts (`runtime.memoizer`).
 *
 * They run in C what the sandbox ran as Lua under the count hook, which
 * slows every instruction of rule code: they are the same operations, made
 * cheaper, not new powers. km_rs_open puts them in the rule state only.
 */
#include "katamount.h"
#include "rulestate.h"

#include <string.h>

/* Options of a list compared per unit charged to the running rule. */
#define KM_OPTIONS_PER_UNIT 8

/* core.has_option(options, option), in a rule state only: whether the list
 * `options` (nil: false) holds exactly the value `option`, up to its first
 * nil, read as `options[i]` (an overlay shows its base's entries). Each
 * KM_OPTIONS_PER_UNIT options read are charged to the running rule. */
/* has_option's upvalue: the string "__index", made once (ruleruntime.c). */
#define KM_HAS_OPTION_INDEX lua_upvalueindex(1)

/* The table that `options[i]` reads for every i, without a metamethod
 * running: `options` itself when it has no metatable; the base of an
 * overlay holding nothing (an empty table whose __index is a table without
 * a metatable: what the sandbox makes of a mount's options); else 0 (read
 * through lua_geti). Pushes nothing; returns a stack index or 0. */
static int km_raw_list(lua_State *L, int idx)
{
    int top = lua_gettop(L);
    if (lua_type(L, idx) != LUA_TTABLE)
        return 0;
    if (!lua_getmetatable(L, idx))
        return idx;
    lua_pushvalue(L, KM_HAS_OPTION_INDEX);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_pushnil(L);
    if (lua_type(L, -2) == LUA_TTABLE && !lua_next(L, idx) && !lua_getmetatable(L, -1))
        return lua_gettop(L);           /* the base, left on the stack */
    lua_settop(L, top);
    return 0;
}

static int km_rf_has_option(lua_State *L)
{
    lua_Integer i;
    int found = 0, raw;
    if (lua_isnoneornil(L, 1)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_settop(L, 2);
    raw = km_raw_list(L, 1);
    for (i = 1;; i++) {
        if (i % KM_OPTIONS_PER_UNIT == 0)
            km_rule_charge(L, 1);
        if ((raw ? lua_rawgeti(L, raw, i) : lua_geti(L, 1, i)) == LUA_TNIL)
            break;
        found = lua_rawequal(L, -1, 2);
        lua_pop(L, 1);
        if (found)
            break;
    }
    lua_pushboolean(L, found);
    return 1;
}

/* core.starts_with(s, prefix), in a rule state only: whether the string `s`
 * begins with the string `prefix` ("" begins every string), as
 * `s:find(prefix, 1, true) == 1` says, without a scan of the rest of `s`.
 * Charged to the running rule as the string library charges a scan of
 * #prefix bytes. */
static int km_rf_starts_with(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    km_rule_charge_bytes(L, lp);
    lua_pushboolean(L, lp <= ls && memcmp(s, p, lp) == 0);
    return 1;
}

/* core.path_under(path, prefixes), in a rule state only: the first string
 * p of the list `prefixes` (read as prefixes[i], up to its first nil) that
 * `path` is or is below (path == p, or path begins with p and a "/"; "/"
 * covers every absolute path), or nil. The paths are compared as given
 * (the rules clean them first). Each prefix compared is charged as the
 * string library charges a scan of its bytes; one that is not a string
 * raises. */
static int km_rf_path_under(lua_State *L)
{
    size_t lpath;
    const char *path = luaL_checklstring(L, 1, &lpath);
    lua_Integer i;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    for (i = 1;; i++) {
        size_t lp;
        const char *p;
        int t = lua_geti(L, 2, i);
        if (t == LUA_TNIL)
            break;
        if (t != LUA_TSTRING)
            return luaL_error(L, "path_under: prefix %I is a %s, not a string", (LUAI_UACINT)i,
                              lua_typename(L, t));
        p = lua_tolstring(L, -1, &lp);
        km_rule_charge_bytes(L, lp);
        if (lp <= lpath && memcmp(path, p, lp) == 0 &&
            (lp == lpath || path[lp] == '/' || (lp > 0 && p[lp - 1] == '/')))
            return 1;                   /* the prefix, at the top */
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    return 1;
}

/* Upvalues of a freezer: the views' __newindex, __len and __pairs, the
 * deepest nesting, and a frozen view's metatable's __newindex is that first
 * one (how a view is told from any other table). */
#define KM_FREEZE_WRITE lua_upvalueindex(1)
#define KM_FREEZE_LEN lua_upvalueindex(2)
#define KM_FREEZE_PAIRS lua_upvalueindex(3)
#define KM_FREEZE_DEPTH lua_upvalueindex(4)
/* ... and the metatable's keys, strings made once (no lookup of a C
 * string per key and view) */
#define KM_FREEZE_KEY(i) lua_upvalueindex(5 + (i))
enum { KM_KEY_INDEX, KM_KEY_NEWINDEX, KM_KEY_LEN, KM_KEY_PAIRS, KM_KEY_METATABLE, KM_FREEZE_KEYS };
static const char *const km_freeze_keys[KM_FREEZE_KEYS] = {
    "__index", "__newindex", "__len", "__pairs", "__metatable",
};

/* Whether the table at `idx` is a frozen view already. */
static int km_is_view(lua_State *L, int idx)
{
    int view;
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_pushvalue(L, KM_FREEZE_KEY(KM_KEY_NEWINDEX));
    lua_rawget(L, -2);
    view = lua_rawequal(L, -1, KM_FREEZE_WRITE);
    lua_pop(L, 2);
    return view;
}

/* metatable[key] = the value at `idx` (the metatable at the top). */
static void km_meta_field(lua_State *L, int key, int idx)
{
    lua_pushvalue(L, KM_FREEZE_KEY(key));
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
}

/* Replace the table at the top by its view (it becomes the view's hidden
 * table), its nested tables first, in place; `depth` levels above it.
 * `flat`: the caller knows the table holds no table (a core answer of that
 * shape): not walked. */
static void km_freeze_top(lua_State *L, lua_Integer depth, lua_Integer most, int flat)
{
    int t = lua_gettop(L);
    if (km_is_view(L, t))
        return;
    if (depth > most)
        luaL_error(L, "facts nested deeper than %I", (LUAI_UACINT)most);
    luaL_checkstack(L, 4, "freeze");
    lua_pushnil(L);
    while (!flat && lua_next(L, t)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            km_freeze_top(L, depth + 1, most, 0);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, t);       /* same key: no new entry during the walk */
        } else {
            lua_pop(L, 1);
        }
    }
    if (flat)
        lua_pop(L, 1);                  /* the nil no walk took */
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, KM_FREEZE_KEYS);
    km_meta_field(L, KM_KEY_INDEX, t);
    km_meta_field(L, KM_KEY_NEWINDEX, KM_FREEZE_WRITE);
    km_meta_field(L, KM_KEY_LEN, KM_FREEZE_LEN);
    km_meta_field(L, KM_KEY_PAIRS, KM_FREEZE_PAIRS);
    lua_pushvalue(L, KM_FREEZE_KEY(KM_KEY_METATABLE));
    lua_pushboolean(L, 0);
    lua_rawset(L, -3);
    lua_setmetatable(L, -2);
    lua_replace(L, t);
}

/* The freezer, freeze_owned(v [, flat]): `v`'s read-only view, `v` itself
 * its hidden table; `flat` true: the caller knows `v` holds no table (not
 * walked for nested ones). */
static int km_rf_freeze_owned(lua_State *L)
{
    int flat = lua_toboolean(L, 2);
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TTABLE)
        km_freeze_top(L, 0, lua_tointeger(L, KM_FREEZE_DEPTH), flat);
    return 1;
}

/* runtime.freezer(write, len, pairs, depth): the sandbox's freeze_owned(v),
 * which freezes a table nothing else refers to (a core call's fresh answer)
 * in place: its view is a new table whose metatable has `__index` the
 * table, `__newindex` write (raises: facts are read-only), `__len` len,
 * `__pairs` pairs and `__metatable` false; nested tables are frozen alike,
 * at most `depth` levels; views stay as they are. */
static int km_rf_freezer(lua_State *L)
{
    int i;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_checkinteger(L, 4);
    lua_settop(L, 4);
    luaL_checkstack(L, KM_FREEZE_KEYS, "freezer");
    for (i = 0; i < KM_FREEZE_KEYS; i++)
        lua_pushstring(L, km_freeze_keys[i]);
    lua_pushcclosure(L, km_rf_freeze_owned, 4 + KM_FREEZE_KEYS);
    return 1;
}

/* Upvalues of a memoised fact: the facts' state (its `memo` field the
 * running decision's memo, or nil), the fact's name, the name of its
 * failures, the core function, the freezer of its table answers, whether
 * those hold no table (flat). */
#define KM_MEMO_STATE lua_upvalueindex(1)
#define KM_MEMO_NAME lua_upvalueindex(2)
#define KM_MEMO_FAILS lua_upvalueindex(3)
#define KM_MEMO_FN lua_upvalueindex(4)
#define KM_MEMO_FREEZE lua_upvalueindex(5)
#define KM_MEMO_KEY lua_upvalueindex(6)     /* the string "memo" */
#define KM_MEMO_FLAT lua_upvalueindex(7)

/* Paths a fact's memo table has room for when made (it grows past them:
 * a plan asks stat and realpath of a path or two per mount). */
#define KM_MEMO_PATHS 8
/* Facts (and their failures) the memo of a call has room for when made. */
#define KM_MEMO_FACTS 16

/* memo[upvalue `name`], made when `make` and missing; nil pushed when
 * missing and not made. The memo table is at `memo`. */
static int km_memo_sub(lua_State *L, int memo, int name, int make)
{
    lua_pushvalue(L, name);
    if (lua_rawget(L, memo) == LUA_TTABLE || !make)
        return lua_type(L, -1) == LUA_TTABLE;
    lua_pop(L, 1);
    lua_createtable(L, 0, KM_MEMO_PATHS);
    lua_pushvalue(L, name);
    lua_pushvalue(L, -2);
    lua_rawset(L, memo);
    return 1;
}

/* A memoised one-path fact: the running decision's answer for `path` if
 * there is one (its failure as nil, message, errno), else the core's,
 * remembered (a table answer frozen first). Outside a decision, the core's. */
static int km_rf_memo_call(lua_State *L)
{
    int memo;
    lua_settop(L, 1);
    lua_pushvalue(L, KM_MEMO_KEY);
    if (lua_rawget(L, KM_MEMO_STATE) != LUA_TTABLE) {
        lua_settop(L, 1);
        lua_pushvalue(L, KM_MEMO_FN);
        lua_insert(L, 1);
        lua_call(L, 1, LUA_MULTRET);
        return lua_gettop(L);
    }
    memo = lua_gettop(L);               /* 2 */
    if (km_memo_sub(L, memo, KM_MEMO_NAME, 0)) {
        lua_pushvalue(L, 1);
        if (lua_rawget(L, -2) != LUA_TNIL)
            return 1;
    }
    lua_settop(L, memo);
    if (lua_type(L, 1) == LUA_TSTRING && km_memo_sub(L, memo, KM_MEMO_FAILS, 0)) {
        lua_pushvalue(L, 1);
        if (lua_rawget(L, -2) == LUA_TTABLE) {
            lua_pushnil(L);
            lua_rawgeti(L, -2, 1);
            lua_rawgeti(L, -3, 2);
            return 3;
        }
    }
    lua_settop(L, memo);
    lua_pushvalue(L, KM_MEMO_FN);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);                  /* v (3), message (4), errno (5) */
    if (lua_type(L, 1) != LUA_TSTRING)
        return 3;
    if (lua_type(L, 3) == LUA_TTABLE && !lua_isnil(L, KM_MEMO_FREEZE)) {
        lua_pushvalue(L, KM_MEMO_FREEZE);
        lua_pushvalue(L, 3);
        lua_pushvalue(L, KM_MEMO_FLAT);
        lua_call(L, 2, 1);
        lua_replace(L, 3);
    }
    if (lua_isnil(L, 3)) {
        km_memo_sub(L, memo, KM_MEMO_FAILS, 1);
        lua_pushvalue(L, 1);
        lua_createtable(L, 2, 0);
        lua_pushvalue(L, 4);
        lua_rawseti(L, -2, 1);
        lua_pushvalue(L, 5);
        lua_rawseti(L, -2, 2);
    } else {
        km_memo_sub(L, memo, KM_MEMO_NAME, 1);
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 3);
    }
    lua_rawset(L, -3);
    lua_settop(L, 5);
    return 3;
}

/* runtime.memoizer(state, name, fn [, freeze [, flat]]): fact(path), the
 * core function `fn` memoised while a decision runs (facts.lua's one-path
 * facts): `state.memo[name][path]` holds its answers (a table frozen by
 * `freeze(v, flat)` first: `flat` true when fn's answers hold no table),
 * `state.memo[name .. "!"][path]` its failures `{message, errno}`; only
 * string paths are remembered. */
static int km_rf_memoizer(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 4))
        luaL_checktype(L, 4, LUA_TFUNCTION);
    lua_settop(L, 5);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "!");
    lua_concat(L, 2);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    lua_pushliteral(L, "memo");
    lua_pushboolean(L, lua_toboolean(L, 5));
    lua_pushcclosure(L, km_rf_memo_call, 7);
    return 1;
}

const luaL_Reg km_rulefacts_core_funcs[] = {
    {"has_option", km_rf_has_option},
    {"starts_with", km_rf_starts_with},
    {"path_under", km_rf_path_under},
    {NULL, NULL}
};

/* runtime.memo(): a fresh memo for a call (a plan, a decision, a
 * predicate call), sized for KM_MEMO_FACTS facts: not grown key by key. */
static int km_rf_memo(lua_State *L)
{
    lua_createtable(L, 0, KM_MEMO_FACTS);
    return 1;
}

const luaL_Reg km_rulefacts_runtime_funcs[] = {
    {"freezer", km_rf_freezer},
    {"memoizer", km_rf_memoizer},
    {"memo", km_rf_memo},
    {NULL, NULL}
};
