/*
 * rulelib.c -- the bounded standard library of a rule state (rulestate.c).
 *
 * Inside a rule state every library function whose cost depends on its
 * arguments is charged to the running rule's instruction budget before it
 * does the work (km_rule_charge: one instruction per KM_RULE_BYTES_PER_STEP
 * bytes, or per element of a range), so that no single call can outlast the
 * budget: string.rep/format/pack/upper/lower/reverse/sub/byte, table.concat/
 * insert/remove/move/unpack/sort, utf8. The pattern functions (find, match,
 * gmatch, gsub) run on a matcher of this file that charges each step it
 * takes (a backtracking pattern is stopped by the budget, not by the
 * clock), with its recursion bounded by KM_PATTERN_DEPTH_MAX; Lua's own
 * matcher is never reachable from a rule state (and with it the Debian Lua
 * 5.4.4 crash of a gmatch iterator called again after "pattern too
 * complex"). string.dump is removed.
 */
#include "katamount.h"

#include <lualib.h>

#include <ctype.h>
#include <string.h>

/* Deepest recursion of the pattern matcher (Lua's own allows 200). */
#define KM_PATTERN_DEPTH_MAX 200
/* Most captures of one pattern (Lua's LUA_MAXCAPTURES). */
#define KM_PATTERN_CAPTURES_MAX 32
/* Steps the matcher takes between two charges to the budget. */
#define KM_PATTERN_CHARGE_EVERY 1024
/* Most steps of one pattern call, even outside a rule's budget. */
#define KM_PATTERN_STEPS_MAX (100LL * 1000 * 1000)
/* Longest string string.rep may build in a rule state (bytes). */
#define KM_REP_MAX (1024 * 1024)

#define KM_CAP_UNFINISHED (-1)
#define KM_CAP_POSITION (-2)

static const char km_specials[] = "^$*+?.([%-";

/* ---------------------------------------------------------------- charges */

/* Charge the work of `bytes` bytes (and one call). */
static void km_charge_bytes(lua_State *L, size_t bytes)
{
    km_rule_charge(L, (lua_Integer)(bytes / KM_RULE_BYTES_PER_STEP) + 1);
}

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
 * as it is: upvalue 1 is the original function.
 */
static int km_charged(lua_State *L)
{
    int n = lua_gettop(L), i;
    size_t bytes = 0, len;
    for (i = 1; i <= n; i++) {
        if (lua_type(L, i) == LUA_TSTRING) {
            lua_tolstring(L, i, &len);
            bytes += len;
        }
    }
    km_charge_bytes(L, bytes + (size_t)n);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* ---------------------------------------------------------------- matcher */

struct km_match {
    lua_State *L;
    const char *src, *src_end, *pat_end;
    int depth;
    int level;
    long long steps, total;
    struct {
        const char *init;
        ptrdiff_t len;
    } cap[KM_PATTERN_CAPTURES_MAX];
};

static void km_step(struct km_match *ms)
{
    if (++ms->steps < KM_PATTERN_CHARGE_EVERY)
        return;
    ms->total += ms->steps;
    km_rule_charge(ms->L, (lua_Integer)ms->steps);
    ms->steps = 0;
    if (ms->total > KM_PATTERN_STEPS_MAX)
        luaL_error(ms->L, "pattern: more than KM_PATTERN_STEPS_MAX (%d) steps",
                   (int)KM_PATTERN_STEPS_MAX);
}

/* The end of the single-character class starting at p. */
static const char *km_class_end(struct km_match *ms, const char *p)
{
    char c = *p++;
    if (c == '%') {
        if (p >= ms->pat_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < ms->pat_end && *p == '^')
            p++;
        do {
            if (p >= ms->pat_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            c = *p++;
            if (c == '%' && p < ms->pat_end)
                p++;
        } while (p >= ms->pat_end || *p != ']');
        return p + 1;
    }
    return p;
}

static int km_class_matches(int c, int cl)
{
    int res;
    switch (tolower(cl)) {
    case 'a': res = isalpha(c); break;
    case 'c': res = iscntrl(c); break;
    case 'd': res = isdigit(c); break;
    case 'g': res = isgraph(c); break;
    case 'l': res = islower(c); break;
    case 'p': res = ispunct(c); break;
    case 's': res = isspace(c); break;
    case 'u': res = isupper(c); break;
    case 'w': res = isalnum(c); break;
    case 'x': res = isxdigit(c); break;
    default: return cl == c;
    }
    if (isupper(cl))
        res = !res;
    return res != 0;
}

/* Whether c is in the set [p .. ec] (p at '[', ec at its ']'). */
static int km_set_matches(int c, const char *p, const char *ec)
{
    int yes = 1;
    p++;
    if (*p == '^') {
        yes = 0;
        p++;
    }
    while (p < ec) {
        if (*p == '%' && p + 1 < ec) {
            if (km_class_matches(c, (unsigned char)p[1]))
                return yes;
            p += 2;
        } else if (p + 2 < ec && p[1] == '-') {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return yes;
            p += 3;
        } else {
            if ((unsigned char)*p == c)
                return yes;
            p++;
        }
    }
    return !yes;
}

static int km_single(struct km_match *ms, const char *s, const char *p,
                     const char *ep)
{
    int c;
    if (s >= ms->src_end)
        return 0;
    c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return km_class_matches(c, (unsigned char)p[1]);
    case '[': return km_set_matches(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *km_match_at(struct km_match *ms, const char *s, const char *p);

static const char *km_max_expand(struct km_match *ms, const char *s,
                                 const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (km_single(ms, s + i, p, ep)) {
        km_step(ms);
        i++;
    }
    while (i >= 0) {
        const char *r = km_match_at(ms, s + i, ep + 1);
        if (r != NULL)
            return r;
        km_step(ms);
        i--;
    }
    return NULL;
}

static const char *km_min_expand(struct km_match *ms, const char *s,
                                 const char *p, const char *ep)
{
    for (;;) {
        const char *r = km_match_at(ms, s, ep + 1);
        if (r != NULL)
            return r;
        if (!km_single(ms, s, p, ep))
            return NULL;
        km_step(ms);
        s++;
    }
}

static const char *km_start_capture(struct km_match *ms, const char *s,
                                    const char *p, ptrdiff_t what)
{
    const char *r;
    if (ms->level >= KM_PATTERN_CAPTURES_MAX)
        luaL_error(ms->L, "too many captures (KM_PATTERN_CAPTURES_MAX = %d)",
                   KM_PATTERN_CAPTURES_MAX);
    ms->cap[ms->level].init = s;
    ms->cap[ms->level].len = what;
    ms->level++;
    r = km_match_at(ms, s, p);
    if (r == NULL)
        ms->level--;
    return r;
}

static const char *km_end_capture(struct km_match *ms, const char *s,
                                  const char *p)
{
    int l;
    const char *r;
    for (l = ms->level - 1; l >= 0; l--)
        if (ms->cap[l].len == KM_CAP_UNFINISHED)
            break;
    if (l < 0)
        luaL_error(ms->L, "invalid pattern capture");
    ms->cap[l].len = s - ms->cap[l].init;
    r = km_match_at(ms, s, p);
    if (r == NULL)
        ms->cap[l].len = KM_CAP_UNFINISHED;
    return r;
}

static const char *km_balance(struct km_match *ms, const char *s, const char *p)
{
    int depth = 1;
    char open, close;
    if (p + 1 >= ms->pat_end)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != p[0])
        return NULL;
    open = p[0];
    close = p[1];
    while (++s < ms->src_end) {
        km_step(ms);
        if (*s == close) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *km_backref(struct km_match *ms, const char *s, int digit)
{
    int l = digit - '1';
    ptrdiff_t len;
    if (l < 0 || l >= ms->level || ms->cap[l].len == KM_CAP_UNFINISHED)
        luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    len = ms->cap[l].len;
    if (len >= 0 && ms->src_end - s >= len && memcmp(ms->cap[l].init, s, (size_t)len) == 0)
        return s + len;
    return NULL;
}

/* Match pattern p against s; the end of the match or NULL. Recursion is
 * bounded by KM_PATTERN_DEPTH_MAX, every step charged. */
static const char *km_match_at(struct km_match *ms, const char *s, const char *p)
{
    if (++ms->depth > KM_PATTERN_DEPTH_MAX)
        luaL_error(ms->L, "pattern too complex (deeper than KM_PATTERN_DEPTH_MAX = %d)",
                   KM_PATTERN_DEPTH_MAX);
    for (;;) {
        const char *ep;
        int m;
        char q;
        km_step(ms);
        if (p >= ms->pat_end)
            break;
        if (*p == '(') {
            if (p + 1 < ms->pat_end && p[1] == ')')
                s = km_start_capture(ms, s, p + 2, KM_CAP_POSITION);
            else
                s = km_start_capture(ms, s, p + 1, KM_CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = km_end_capture(ms, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == ms->pat_end) {
            if (s != ms->src_end)
                s = NULL;
            break;
        }
        if (*p == '%' && p + 1 < ms->pat_end) {
            char k = p[1];
            if (k == 'b') {
                s = km_balance(ms, s, p + 2);
                if (s == NULL)
                    break;
                p += 4;
                continue;
            }
            if (k == 'f') {
                int prev, cur;
                p += 2;
                if (p >= ms->pat_end || *p != '[')
                    luaL_error(ms->L, "missing '[' after '%%f' in pattern");
                ep = km_class_end(ms, p);
                prev = (s == ms->src) ? '\0' : (unsigned char)s[-1];
                cur = (s < ms->src_end) ? (unsigned char)*s : '\0';
                if (!km_set_matches(prev, p, ep - 1) && km_set_matches(cur, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (k >= '0' && k <= '9') {
                s = km_backref(ms, s, k);
                if (s == NULL)
                    break;
                p += 2;
                continue;
            }
        }
        ep = km_class_end(ms, p);
        m = km_single(ms, s, p, ep);
        q = (ep < ms->pat_end) ? *ep : '\0';
        if (!m) {
            if (q == '*' || q == '?' || q == '-') {
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (q == '?') {
            const char *r = km_match_at(ms, s + 1, ep + 1);
            if (r != NULL) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (q == '+') {
            s = km_max_expand(ms, s + 1, p, ep);
            break;
        }
        if (q == '*') {
            s = km_max_expand(ms, s, p, ep);
            break;
        }
        if (q == '-') {
            s = km_min_expand(ms, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    ms->depth--;
    return s;
}

static void km_match_init(struct km_match *ms, lua_State *L, const char *s,
                          size_t ls, const char *p, size_t lp)
{
    ms->L = L;
    ms->src = s;
    ms->src_end = s + ls;
    ms->pat_end = p + lp;
    ms->depth = 0;
    ms->level = 0;
    ms->steps = 0;
    ms->total = 0;
}

static void km_match_reset(struct km_match *ms)
{
    ms->depth = 0;
    ms->level = 0;
}

static void km_push_capture(struct km_match *ms, int i, const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return;
    }
    if (ms->cap[i].len == KM_CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    if (ms->cap[i].len == KM_CAP_POSITION)
        lua_pushinteger(ms->L, (ms->cap[i].init - ms->src) + 1);
    else
        lua_pushlstring(ms->L, ms->cap[i].init, (size_t)ms->cap[i].len);
}

static int km_push_captures(struct km_match *ms, const char *s, const char *e)
{
    int i, n = (ms->level == 0 && s != NULL) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (i = 0; i < n; i++)
        km_push_capture(ms, i, s, e);
    return n;
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
    km_charge_bytes(L, lp);
    if (find && (lua_toboolean(L, 4) || !km_has_specials(p, lp))) {
        const char *hit;
        km_charge_bytes(L, ls - (init - 1));
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
        km_step(&ms);
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
        km_step(&ms);
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
    km_charge_bytes(L, srcl + lp);
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
        km_step(&ms);
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
    km_charge_bytes(L, total);
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
    km_set(L, "find", km_str_find);
    km_set(L, "match", km_str_match);
    km_set(L, "gmatch", km_str_gmatch);
    km_set(L, "gsub", km_str_gsub);
    km_set(L, "rep", km_str_rep);
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
