/*
 * rulestate.h -- the rule state object (rulestate.c), shared with the
 * runtime functions inside it (ruleruntime.c).
 */
#ifndef KM_RULESTATE_H
#define KM_RULESTATE_H

/* Registry field of the table of functions st:call calls (runtime.export). */
#define KM_RULE_ENTRIES "katamount.entries"

enum { KM_TRIP_NONE, KM_TRIP_BUDGET, KM_TRIP_DEADLINE };

/* Small blocks the rule state's allocator keeps for reuse: size classes of
 * KM_POOL_CLASS_BYTES up to KM_POOL_CLASSES of them, at most
 * KM_POOL_BYTES_MAX bytes kept in all (beyond the limit Lua may hold). */
#define KM_POOL_CLASS_BYTES 16
#define KM_POOL_CLASSES 16
#define KM_POOL_BYTES_MAX (1024 * 1024)

struct km_rule_state {
    lua_State *L;           /* the rule state; NULL once closed */
    size_t used, limit;     /* bytes held, bytes allowed */
    void *pool[KM_POOL_CLASSES];    /* free blocks of each size class */
    size_t pooled;          /* bytes in the pool */
    int refused;            /* an allocation was refused during this call */
    lua_Integer budget, spent;
    int tick;
    int counting;           /* rule code runs: charge it, stop it */
    int armed;              /* the count hook is set (only while rules run:
                             * a hook slows every instruction of the state) */
    int tripped;            /* KM_TRIP_*: what stopped the running rule */
    int late;               /* the deadline passed */
    int late_plan;          /* ... and it was the plan's */
    int track_lines;
    int line;               /* last line run in a rule file (loading) */
    lua_Integer rule;       /* runtime.first: the place of the rule running */
    int written;            /* a rule wrote on an overlay (runtime.write) */
    lua_Integer unclocked;  /* units charged since the clock was last read */
    double deadline_s, plan_deadline_s;
    int64_t deadline_ns, plan_ns;   /* absolute CLOCK_MONOTONIC; 0: none */
};

/* The rule state object of rule state L (its allocator's data). */
struct km_rule_state *km_rs_of(lua_State *L);

/* Raise the error that stops the running rule (inside the rule state). */
void km_rs_stop(lua_State *L, struct km_rule_state *rs);

/* Set the state's hook as track_lines and armed say. */
void km_rs_set_hook(struct km_rule_state *rs);

/* Set (on) or clear the count hook that charges running rule code. */
void km_rs_arm(struct km_rule_state *rs, int on);

/* The call's deadline from now, or the plan's when that comes first. */
void km_rs_restart(struct km_rule_state *rs);

/* Open the state's libraries (a protected call inside the new state). */
int km_rs_open(lua_State *L);

/* rulefacts.c: the rule state's own core functions and runtime functions. */
extern const luaL_Reg km_rulefacts_core_funcs[];
extern const luaL_Reg km_rulefacts_runtime_funcs[];

#endif /* KM_RULESTATE_H */
