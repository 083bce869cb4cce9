/*
 * rulematch.c -- the step-charged pattern matcher of a rule state.
 *
 * Lua's pattern language, matched here so that every step is charged to the
 * running rule's instruction budget (km_rule_charge, every
 * KM_PATTERN_CHARGE_EVERY steps): a backtracking pattern is stopped by the
 * budget, not by the clock. Recursion is bounded by KM_PATTERN_DEPTH_MAX,
 * captures by KM_PATTERN_CAPTURES_MAX. The string library wrappers
 * (rulestring.c) run find, match, gmatch and gsub on it.
 */
#include "katamount.h"
#include "rulematch.h"

#include <ctype.h>
#include <string.h>

void km_match_step(struct km_match *ms)
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

static const char *km_max_expand(struct km_match *ms, const char *s,
                                 const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (km_single(ms, s + i, p, ep)) {
        km_match_step(ms);
        i++;
    }
    while (i >= 0) {
        const char *r = km_match_at(ms, s + i, ep + 1);
        if (r != NULL)
            return r;
        km_match_step(ms);
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
        km_match_step(ms);
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
        km_match_step(ms);
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
const char *km_match_at(struct km_match *ms, const char *s, const char *p)
{
    if (++ms->depth > KM_PATTERN_DEPTH_MAX)
        luaL_error(ms->L, "pattern too complex (deeper than KM_PATTERN_DEPTH_MAX = %d)",
                   KM_PATTERN_DEPTH_MAX);
    for (;;) {
        const char *ep;
        int m;
        char q;
        km_match_step(ms);
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

void km_match_init(struct km_match *ms, lua_State *L, const char *s,
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

void km_match_reset(struct km_match *ms)
{
    ms->depth = 0;
    ms->level = 0;
}

void km_push_capture(struct km_match *ms, int i, const char *s, const char *e)
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

int km_push_captures(struct km_match *ms, const char *s, const char *e)
{
    int i, n = (ms->level == 0 && s != NULL) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (i = 0; i < n; i++)
        km_push_capture(ms, i, s, e);
    return n;
}
