/*
 * rulestring.c -- the string library wrappers of a rule state.
 *
 * string.find, match, gmatch and gsub run on the step-charged matcher
 * (rulematch.c), never on Lua's own (and with it the Debian Lua 5.4.4 crash
 * of a gmatch iterator called again after "pattern too complex");
 * string.rep checks its size (KM_REP_MAX) before it writes a byte. Each is
 * charged to the running rule's budget by the bytes it reads or writes
 * (km_rule_charge_bytes). rulelib.c puts them in the string library.
 */
#include "katamount.h"
#include "rulematch.h"

#include <string.h>

/* Longest string string.rep may build in a rule state (bytes). */
#define KM_REP_MAX (1024 * 1024)

static const char km_specials[] = "^$*+?.([%-";

/* Charge the work of `bytes` bytes (and one call). */
void km_rule_charge_bytes(lua_State *L, size_t bytes)
{
    km_rule_charge(L, (lua_Integer)(bytes / KM_RULE_BYTES_PER_STEP) + 1);
}

static size_t km_start_pos(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static int km_has_specials(const char *p, size_t lp)
{
    size_t i;
    for (i = 0; i < lp; i++)
        if (p[i] != '\0' && strchr(km_specials, p[i]) != NULL)
            return 1;
    return 0;
}

static int km_find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = km_start_pos(luaL_optinteger(L, 3, 1), ls);
    struct km_match ms;
    const char *s1;
    int anchor;
    if (init > ls + 1) {
        luaL_pushfail(L);
        return 1;
    }
    km_rule_charge_bytes(L, lp);
    if (find && (lua_toboolean(L, 4) || !km_has_specials(p, lp))) {
        const char *hit;
        km_rule_charge_bytes(L, ls - (init - 1));
        hit = lp == 0 ? s + init - 1 : memmem(s + init - 1, ls - (init - 1), p, lp);
        if (hit != NULL) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((hit - s) + (ptrdiff_t)lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    anchor = (lp > 0 && *p == '^');
    if (anchor) {
        p++;
        lp--;
    }
    km_match_init(&ms, L, s, ls, p, lp);
    s1 = s + init - 1;
    do {
        const char *e;
        km_match_reset(&ms);
        e = km_match_at(&ms, s1, p);
        if (e != NULL) {
            if (find) {
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return km_push_captures(&ms, NULL, NULL) + 2;
            }
            return km_push_captures(&ms, s1, e);
        }
        km_match_step(&ms);
    } while (s1++ < ms.src_end && !anchor);
    luaL_pushfail(L);
    return 1;
}

static int km_str_find(lua_State *L) { return km_find_aux(L, 1); }
static int km_str_match(lua_State *L) { return km_find_aux(L, 0); }

/* gmatch's iterator: upvalues subject, pattern, next offset, last match end
 * (-1: none). Each call starts a fresh match state. */
static int km_gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
    struct km_match ms;
    const char *src;
    km_match_init(&ms, L, s, ls, p, lp);
    for (src = s + pos; src <= ms.src_end; src++) {
        const char *e;
        km_match_reset(&ms);
        e = km_match_at(&ms, src, p);
        if (e != NULL && (last < 0 || e != s + last)) {
            lua_pushinteger(L, e - s);
            lua_replace(L, lua_upvalueindex(3));
            lua_pushinteger(L, e - s);
            lua_replace(L, lua_upvalueindex(4));
            return km_push_captures(&ms, src, e);
        }
        km_match_step(&ms);
    }
    lua_pushinteger(L, (lua_Integer)ls + 1);
    lua_replace(L, lua_upvalueindex(3));
    return 0;
}

static int km_str_gmatch(lua_State *L)
{
    size_t ls, init;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    init = km_start_pos(luaL_optinteger(L, 3, 1), ls);
    if (init > ls)
        init = ls + 1;
    lua_settop(L, 2);
    lua_pushinteger(L, (lua_Integer)init - 1);
    lua_pushinteger(L, -1);
    lua_pushcclosure(L, km_gmatch_next, 4);
    return 1;
}

/* The replacement string of gsub, with %0-%9 and %%. */
static void km_add_repl_string(struct km_match *ms, luaL_Buffer *b,
                               const char *s, const char *e)
{
    size_t l, i;
    const char *news = lua_tolstring(ms->L, 3, &l);
    ms->steps += (long long)(l / KM_RULE_BYTES_PER_STEP);
    for (i = 0; i < l; i++) {
        if (news[i] != '%') {
            luaL_addchar(b, news[i]);
            continue;
        }
        i++;
        if (i < l && news[i] == '%') {
            luaL_addchar(b, '%');
        } else if (i < l && news[i] == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (i < l && news[i] >= '1' && news[i] <= '9') {
            km_push_capture(ms, news[i] - '1', s, e);
            luaL_tolstring(ms->L, -1, NULL);
            lua_remove(ms->L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(ms->L, "invalid use of '%%' in replacement string");
        }
    }
}

static void km_add_value(struct km_match *ms, luaL_Buffer *b, const char *s,
                         const char *e, int tr)
{
    lua_State *L = ms->L;
    if (tr == LUA_TFUNCTION) {
        int n;
        lua_pushvalue(L, 3);
        n = km_push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        km_push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        km_add_repl_string(ms, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

static int km_str_gsub(lua_State *L)
{
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = (lp > 0 && *p == '^');
    lua_Integer n = 0;
    struct km_match ms;
    luaL_Buffer b;
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION
                     || tr == LUA_TTABLE, 3, "string/function/table");
    if (anchor) {
        p++;
        lp--;
    }
    km_rule_charge_bytes(L, srcl + lp);
    luaL_buffinit(L, &b);
    km_match_init(&ms, L, src, srcl, p, lp);
    while (n < max_s) {
        const char *e;
        km_match_reset(&ms);
        e = km_match_at(&ms, src, p);
        if (e != NULL && e != lastmatch) {
            n++;
            km_add_value(&ms, &b, src, e, tr);
            src = lastmatch = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        km_match_step(&ms);
        if (anchor)
            break;
    }
    luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

/* string.rep, built here: the size is checked before any byte is written. */
static int km_str_rep(lua_State *L)
{
    size_t l, lsep, total;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    luaL_Buffer b;
    char *out;
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep > KM_REP_MAX || (lua_Integer)((KM_REP_MAX + lsep) / (l + lsep)) < n)
        return luaL_error(L, "string.rep: result longer than %d bytes", KM_REP_MAX);
    total = l * (size_t)n + lsep * (size_t)(n - 1);
    km_rule_charge_bytes(L, total);
    out = luaL_buffinitsize(L, &b, total);
    while (n-- > 0) {
        memcpy(out, s, l);
        out += l;
        if (n > 0 && lsep > 0) {
            memcpy(out, sep, lsep);
            out += lsep;
        }
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

/* The wrappers rulelib.c sets in a rule state's string library. */
const luaL_Reg km_rulestring_funcs[] = {
    {"find", km_str_find},
    {"match", km_str_match},
    {"gmatch", km_str_gmatch},
    {"gsub", km_str_gsub},
    {"rep", km_str_rep},
    {NULL, NULL}
};
