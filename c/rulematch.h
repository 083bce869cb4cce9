/*
 * rulematch.h -- the step-charged pattern matcher of a rule state
 * (rulematch.c), shared with the string library wrappers (rulestring.c).
 */
#ifndef KM_RULEMATCH_H
#define KM_RULEMATCH_H

/* Deepest recursion of the pattern matcher (Lua's own allows 200). */
#define KM_PATTERN_DEPTH_MAX 200
/* Most captures of one pattern (Lua's LUA_MAXCAPTURES). */
#define KM_PATTERN_CAPTURES_MAX 32
/* Steps the matcher takes between two charges to the budget. */
#define KM_PATTERN_CHARGE_EVERY 1024
/* Most steps of one pattern call, even outside a rule's budget. */
#define KM_PATTERN_STEPS_MAX (100LL * 1000 * 1000)

#define KM_CAP_UNFINISHED (-1)
#define KM_CAP_POSITION (-2)

/* One match of a pattern against a subject. */
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

/* Count one step; every KM_PATTERN_CHARGE_EVERY steps charge them to the
 * rule's budget (raises past it, or past KM_PATTERN_STEPS_MAX). */
void km_match_step(struct km_match *ms);

/* Start matching pattern p[0..lp) against subject s[0..ls). */
void km_match_init(struct km_match *ms, lua_State *L, const char *s,
                   size_t ls, const char *p, size_t lp);

/* Forget the captures and depth of the last attempt. */
void km_match_reset(struct km_match *ms);

/* Match pattern p against s; the end of the match or NULL. */
const char *km_match_at(struct km_match *ms, const char *s, const char *p);

/* Push capture i of the match s..e (the whole match when there is none). */
void km_push_capture(struct km_match *ms, int i, const char *s, const char *e);

/* Push all captures of the match s..e (or the whole match); their number. */
int km_push_captures(struct km_match *ms, const char *s, const char *e);

#endif /* KM_RULEMATCH_H */
