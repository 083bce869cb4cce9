/*
 * rulestate.c -- the Lua state an engine evaluates its rules in.
 *
 * `core.rule_state{memory=, budget=, deadline=, plan_deadline=}` makes a
 * lua_State of its own (never the caller's), as Suricata's Lua sandbox does:
 *
 * - its allocator counts bytes and refuses past `memory` (default
 *   KM_RULE_MEMORY_DEFAULT): a rule that reaches the limit fails with
 *   "memory limit (N bytes) reached", the host never sees the failure;
 * - a count hook charges the running rule (while runtime.call or
 *   runtime.first runs it) every tick and raises once it spent `budget`
 *   instructions; it also reads CLOCK_MONOTONIC and raises once the call's
 *   deadline passed (`deadline` seconds per call, one decision; a plan's
 *   calls also stop at `plan_deadline` seconds after plan_begin());
 * - its libraries are bounded (rulelib.c), its globals hold no io, os
 *   (but time, clock, date, difftime), package, load of files, or debug
 *   (but getinfo and getmetatable) (ruleruntime.c): the engine's own code
 *   runs there as trusted code (loaded by st:load) and builds the rules'
 *   environments;
 * - only plain data crosses (st:call, boundary.c): strings, numbers, booleans and
 *   tables of those, copied raw (no metamethod runs) with a bound on depth
 *   (KM_BOUNDARY_DEPTH_MAX), entries (KM_BOUNDARY_ITEMS_MAX) and string
 *   bytes (KM_BOUNDARY_BYTES_MAX); a function, userdata, thread or table
 *   with a metatable never crosses, either way.
 *
 * Lua functions: rule_state; methods load, call, call_each, call_each_into,
 * plan_begin, plan_end, memory, close (also __close, __gc).
 */
#include "katamount.h"
#include "rulestate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Memory a rule state may hold when new{memory=} is not given (bytes). */
#define KM_RULE_MEMORY_DEFAULT (64 * 1024 * 1024)
/* Least memory a rule state is given (the engine's own code needs it). */
#define KM_RULE_MEMORY_MIN (2 * 1024 * 1024)
/* Instructions one rule call may run when new{budget=} is not given. */
#define KM_RULE_BUDGET_DEFAULT 1000000
/* Seconds one call (a decision, a predicate call, a load) may run. */
#define KM_RULE_DEADLINE_DEFAULT 2.0
/* Seconds one plan (all its decisions) may run. */
#define KM_RULE_PLAN_DEADLINE_DEFAULT 10.0
/* Most instructions between two runs of the count hook. */
#define KM_RULE_TICK_MAX 1000
/* Growth (percent) of the rule state's memory that starts a minor
 * collection between plans' ends (see km_rule_state and plan_end). */
#define KM_RULE_GC_MINOR 20

#define KM_RULE_STATE_MT "katamount.rule_state"

static int64_t km_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct km_rule_state *km_rs_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

/* A hint to bring p's memory into the cache (GCC and clang). */
#if defined(__GNUC__)
#define KM_PREFETCH(p) __builtin_prefetch(p)
#else
#define KM_PREFETCH(p) ((void)(p))
#endif

/* The size class of an n-byte block (1..KM_POOL_CLASSES), 0: not pooled. */
static size_t km_pool_class(size_t n)
{
    size_t c = (n + KM_POOL_CLASS_BYTES - 1) / KM_POOL_CLASS_BYTES;
    return n > 0 && c <= KM_POOL_CLASSES ? c : 0;
}

/* A block for n bytes: a pooled one of its class, else a new one (of its
 * class's whole size, so that the pool can hand it out again). */
static void *km_pool_get(struct km_rule_state *rs, size_t n)
{
    size_t c = km_pool_class(n);
    void *p;
    if (c == 0)
        return malloc(n);
    p = rs->pool[c - 1];
    if (p == NULL)
        return malloc(c * KM_POOL_CLASS_BYTES);
    memcpy(&rs->pool[c - 1], p, sizeof p);     /* its first bytes: the next */
    rs->pooled -= c * KM_POOL_CLASS_BYTES;
    /* the next block of the class is read at the next allocation: freed by
     * a sweep long ago, it is rarely cached (perf: this load was the
     * hottest of the state's own code) */
    if (rs->pool[c - 1] != NULL)
        KM_PREFETCH(rs->pool[c - 1]);
    return p;
}

/* Give back the n-byte block p: kept in its class while the pool has room. */
static void km_pool_put(struct km_rule_state *rs, void *p, size_t n)
{
    size_t c = km_pool_class(n);
    if (c == 0 || rs->pooled + c * KM_POOL_CLASS_BYTES > KM_POOL_BYTES_MAX) {
        free(p);
        return;
    }
    memcpy(p, &rs->pool[c - 1], sizeof p);
    rs->pool[c - 1] = p;
    rs->pooled += c * KM_POOL_CLASS_BYTES;
}

/* Free every pooled block (the state is closed). */
static void km_pool_drain(struct km_rule_state *rs)
{
    int c;
    for (c = 0; c < KM_POOL_CLASSES; c++) {
        while (rs->pool[c] != NULL) {
            void *p = rs->pool[c];
            memcpy(&rs->pool[c], p, sizeof p);
            free(p);
        }
    }
    rs->pooled = 0;
}

/* Move block p of osize bytes to one of nsize bytes (both non-zero). */
static void *km_pool_resize(struct km_rule_state *rs, void *p, size_t osize, size_t nsize)
{
    size_t oc = km_pool_class(osize), nc = km_pool_class(nsize);
    void *q;
    if (oc != 0 && oc == nc)
        return p;                       /* its block has room already */
    if (oc == 0 && nc == 0)
        return realloc(p, nsize);
    q = km_pool_get(rs, nsize);
    if (q == NULL)
        return NULL;
    memcpy(q, p, osize < nsize ? osize : nsize);
    km_pool_put(rs, p, osize);
    return q;
}

/* The rule state's allocator: Lua's blocks counted against the limit, small
 * ones (the many tables and strings of each decision) kept for reuse. */
static void *km_rs_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct km_rule_state *rs = ud;
    size_t old = ptr != NULL ? osize : 0;
    void *p;
    if (nsize == 0) {
        if (ptr != NULL)
            km_pool_put(rs, ptr, old);
        rs->used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > rs->limit - rs->used) {
        rs->refused = 1;
        return NULL;
    }
    p = ptr != NULL ? km_pool_resize(rs, ptr, old, nsize) : km_pool_get(rs, nsize);
    if (p == NULL) {
        rs->refused = 1;
        return NULL;
    }
    rs->used = rs->used - old + nsize;
    return p;
}

/* Raise the error that stops the running rule (inside the rule state). */
void km_rs_stop(lua_State *L, struct km_rule_state *rs)
{
    if (rs->spent >= rs->budget) {
        rs->tripped = KM_TRIP_BUDGET;
        lua_pushfstring(L, "instruction budget exceeded (%I instructions)",
                        (LUAI_UACINT)rs->budget);
        lua_error(L);
    }
    if (rs->late) {
        rs->tripped = KM_TRIP_DEADLINE;
        if (rs->late_plan)
            lua_pushfstring(L, "plan deadline exceeded (%f s)", (lua_Number)rs->plan_deadline_s);
        else
            lua_pushfstring(L, "deadline exceeded (%f s)", (lua_Number)rs->deadline_s);
        lua_error(L);
    }
}

static void km_rs_clock(struct km_rule_state *rs)
{
    if (rs->deadline_ns != 0 && km_now_ns() > rs->deadline_ns)
        rs->late = 1;
}

void km_rule_charge(lua_State *L, lua_Integer units)
{
    struct km_rule_state *rs = km_rs_of(L);
    if (!rs->counting)
        return;
    if (units < 0 || units >= rs->budget - rs->spent)
        rs->spent = rs->budget;
    else
        rs->spent += units;
    /* the clock is read once per tick's worth of charges, as the hook does */
    if (units < 0 || units >= rs->tick - rs->unclocked) {
        rs->unclocked = 0;
        km_rs_clock(rs);
    } else {
        rs->unclocked += units;
    }
    km_rs_stop(L, rs);
}

static void km_rs_hook(lua_State *L, lua_Debug *ar)
{
    struct km_rule_state *rs = km_rs_of(L);
    if (ar->event == LUA_HOOKLINE) {
        if (lua_getinfo(L, "S", ar) && ar->source[0] == '@')
            rs->line = ar->currentline;
        return;
    }
    km_rs_clock(rs);
    if (!rs->counting)
        return;
    if (rs->spent < rs->budget)
        rs->spent += rs->tick;
    km_rs_stop(L, rs);
}

void km_rs_set_hook(struct km_rule_state *rs)
{
    if (rs->track_lines)
        lua_sethook(rs->L, km_rs_hook, LUA_MASKCOUNT | LUA_MASKLINE, rs->tick);
    else if (rs->armed)
        lua_sethook(rs->L, km_rs_hook, LUA_MASKCOUNT, rs->tick);
    else
        lua_sethook(rs->L, NULL, 0, 0);
}

void km_rs_arm(struct km_rule_state *rs, int on)
{
    if (rs->armed != on) {
        rs->armed = on;
        km_rs_set_hook(rs);
    }
}

/* The call's deadline from now, or the plan's when that comes first. */
void km_rs_restart(struct km_rule_state *rs)
{
    int64_t now = km_now_ns();
    rs->deadline_ns = now + (int64_t)(rs->deadline_s * 1e9);
    rs->late = 0;
    rs->late_plan = 0;
    if (rs->plan_ns != 0 && rs->plan_ns <= rs->deadline_ns) {
        rs->deadline_ns = rs->plan_ns;
        rs->late_plan = 1;
        if (now > rs->plan_ns)
            rs->late = 1;
    }
}

/* ------------------------------------------------ host side */

static struct km_rule_state *km_rs_check(lua_State *L)
{
    struct km_rule_state *rs = luaL_checkudata(L, 1, KM_RULE_STATE_MT);
    if (rs->L == NULL)
        luaL_error(L, "rule state is closed");
    return rs;
}

/* The failure of a call into the state as `nil, message` on the host. */
static int km_rs_failed(lua_State *L, struct km_rule_state *rs, int status)
{
    lua_State *C = rs->L;
    lua_pushnil(L);
    if (status == LUA_ERRMEM || rs->refused) {
        lua_pushfstring(L, "memory limit (%I bytes) reached", (LUAI_UACINT)rs->limit);
    } else if (lua_type(C, -1) == LUA_TSTRING) {
        size_t len;
        const char *msg = lua_tolstring(C, -1, &len);
        lua_pushlstring(L, msg, len);
    } else {
        lua_pushliteral(L, "rule state: error object is not a string");
    }
    lua_settop(C, 0);
    if (rs->refused)
        lua_gc(C, LUA_GCCOLLECT);
    return 2;
}

static void km_rs_begin(struct km_rule_state *rs)
{
    rs->refused = 0;
    rs->tripped = KM_TRIP_NONE;
    rs->counting = 0;
    km_rs_restart(rs);
}

static void km_rs_end(struct km_rule_state *rs)
{
    rs->counting = 0;
    km_rs_arm(rs, 0);
    rs->deadline_ns = 0;
    rs->late = 0;
}

struct km_load_args {
    const char *name, *text;
    size_t len;
};

static int km_rs_do_load(lua_State *C)
{
    struct km_load_args *a = lua_touserdata(C, 1);
    lua_settop(C, 0);
    lua_pushfstring(C, "=%s", a->name);
    if (luaL_loadbufferx(C, a->text, a->len, lua_tostring(C, 1), "t") != LUA_OK)
        return lua_error(C);
    lua_call(C, 0, 1);
    if (lua_isnil(C, -1)) {
        lua_pop(C, 1);
        lua_pushboolean(C, 1);
    }
    luaL_getsubtable(C, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_insert(C, -2);
    lua_setfield(C, -2, a->name);
    return 0;
}

/*** @submodule katamount.core */

/***
 * Load the engine's own module `name` (trusted code, its text) into the
 * state: run as chunk "=name", its value kept for require(name) there.
 * @function load
 * @treturn[1] boolean true
 * @return[2] nil, message
 */
static int km_rs_load(lua_State *L)
{
    struct km_rule_state *rs = km_rs_check(L);
    struct km_load_args a;
    int status;
    a.name = luaL_checkstring(L, 2);
    a.text = luaL_checklstring(L, 3, &a.len);
    lua_settop(rs->L, 0);
    km_rs_begin(rs);
    lua_pushcfunction(rs->L, km_rs_do_load);
    lua_pushlightuserdata(rs->L, &a);
    status = lua_pcall(rs->L, 1, 0, 0);
    km_rs_end(rs);
    if (status != LUA_OK)
        return km_rs_failed(L, rs, status);
    lua_pushboolean(L, 1);
    return 1;
}

struct km_call_args {
    lua_State *host;
    const char *name;
    int first, nargs;
    int each;           /* the first argument crosses element by element */
};

/* How the results of a call cross back (km_rs_call_with). */
enum km_call_kind {
    KM_CALL_WHOLE,      /* st:call: each result as one crossing */
    KM_CALL_EACH,       /* st:call_each: the first result element by element */
    KM_CALL_EACH_INTO   /* st:call_each_into: ... into the caller's tables */
};

/* Inside the state: the entry, the arguments copied in, the call. */
static int km_rs_do_call(lua_State *C)
{
    struct km_call_args *a = lua_touserdata(C, 1);
    struct km_copy c;
    int i;
    lua_settop(C, 0);
    luaL_checkstack(C, a->nargs + KM_COPY_SLOTS, "rule state call");
    if (lua_getfield(C, LUA_REGISTRYINDEX, KM_RULE_ENTRIES) != LUA_TTABLE)
        return luaL_error(C, "rule state: no entries exported");
    lua_getfield(C, -1, a->name);
    lua_remove(C, -2);
    if (lua_type(C, -1) != LUA_TFUNCTION)
        return luaL_error(C, "rule state: no entry '%s'", a->name);
    memset(&c, 0, sizeof c);
    for (i = 0; i < a->nargs; i++) {
        int failed = i == 0 && a->each ? km_copy_each(a->host, a->first, C, &c, 0)
                                       : km_copy_value(a->host, a->first + i, C, &c);
        if (failed != 0) {
            lua_settop(C, 0);
            lua_pushstring(C, c.msg);
            return lua_error(C);
        }
    }
    lua_call(C, a->nargs, LUA_MULTRET);
    luaL_checkstack(C, KM_COPY_SLOTS, "rule state results");
    return lua_gettop(C);
}

/* st:call, st:call_each and st:call_each_into: but for KM_CALL_WHOLE,
 * the first argument and the first result, when tables, cross element by
 * element (KM_CALL_EACH_INTO: the result's into the tables of the list
 * argument 2, the name and arguments following it). */
static int km_rs_call_with(lua_State *L, enum km_call_kind kind)
{
    struct km_rule_state *rs = km_rs_check(L);
    lua_State *C = rs->L;
    struct km_call_args a;
    struct km_copy c;
    int status, nres, i, top, into = 0;
    int each = kind != KM_CALL_WHOLE;
    if (kind == KM_CALL_EACH_INTO) {
        luaL_checktype(L, 2, LUA_TTABLE);
        into = 2;
    }
    a.host = L;
    a.name = luaL_checkstring(L, 2 + (into != 0));
    a.first = 3 + (into != 0);
    a.nargs = lua_gettop(L) - a.first + 1;
    a.each = each && lua_type(L, a.first) == LUA_TTABLE;
    luaL_checkstack(L, KM_COPY_SLOTS, "rule state call");
    top = lua_gettop(L);
    lua_settop(C, 0);
    km_rs_begin(rs);
    lua_pushcfunction(C, km_rs_do_call);
    lua_pushlightuserdata(C, &a);
    status = lua_pcall(C, 1, LUA_MULTRET, 0);
    km_rs_end(rs);
    if (rs->refused && status == LUA_OK)
        lua_gc(C, LUA_GCCOLLECT);
    lua_settop(L, top);
    if (status != LUA_OK)
        return km_rs_failed(L, rs, status);
    nres = lua_gettop(C);
    luaL_checkstack(L, nres + KM_COPY_SLOTS, "rule state results");
    memset(&c, 0, sizeof c);
    for (i = 1; i <= nres; i++) {
        int failed = i == 1 && each && lua_type(C, 1) == LUA_TTABLE ? km_copy_each(C, 1, L, &c, into)
                                                                   : km_copy_value(C, i, L, &c);
        if (failed != 0) {
            lua_settop(C, 0);
            lua_settop(L, top);
            lua_pushnil(L);
            lua_pushstring(L, c.msg);
            return 2;
        }
    }
    lua_settop(C, 0);
    return nres;
}

/***
 * Call the exported function `name` of the state with copies of the
 * arguments (plain data only); its results copied back. Each crossing
 * (the arguments, the results) is bounded by KM_BOUNDARY_*_MAX as a whole.
 * @function call
 * @treturn[1] ... what the function returned
 * @return[2] nil, message (memory limit, a value that cannot cross, an error)
 */
static int km_rs_call(lua_State *L)
{
    return km_rs_call_with(L, KM_CALL_WHOLE);
}

/***
 * As `call`, but the first argument and the first result, when they are
 * tables (lists), cross element by element, each element bounded by
 * KM_BOUNDARY_*_MAX on its own: an element that cannot cross arrives as
 * `{error = message}` and the others cross all the same (a plan's jobs and
 * decisions, the lists of a rule set).
 * @function call_each
 * @tparam string name
 * @param[opt] list
 * @treturn[1] ... what the function returned
 * @return[2] nil, message
 */
static int km_rs_call_each(lua_State *L)
{
    return km_rs_call_with(L, KM_CALL_EACH);
}

/***
 * As `call_each`, the first result's elements set in the caller's tables:
 * an element that crosses whole as a table of at most 16 entries
 * (KM_BOUNDARY_STAGED_MAX) has them set, raw, on `targets[i]`
 * when that is a table, which then takes its place in the list (a plan's
 * decisions fill in the fields of their mounts: no table made per decision
 * to be emptied into them). Any other element crosses as `call_each` has it
 * cross; `targets[i]` is left as it was when its element cannot cross.
 * @function call_each_into
 * @tparam table targets
 * @tparam string name
 * @param[opt] list
 * @treturn[1] ... what the function returned
 * @return[2] nil, message
 */
static int km_rs_call_each_into(lua_State *L)
{
    return km_rs_call_with(L, KM_CALL_EACH_INTO);
}

/***
 * A plan begins: the calls that follow stop at plan_deadline seconds from now.
 * @function plan_begin
 */
static int km_rs_plan_begin(lua_State *L)
{
    struct km_rule_state *rs = km_rs_check(L);
    rs->plan_ns = km_now_ns() + (int64_t)(rs->plan_deadline_s * 1e9);
    return 0;
}

/***
 * The plan is over: calls have their own deadline only, and a minor
 * collection reclaims the plan's garbage (its jobs, facts and results are
 * dead once its decisions crossed out: few objects survive to be aged, and
 * those the plan made are still in the cache). No finalizer of a rule can
 * run (the sandbox's setmetatable refuses `__gc`).
 * @function plan_end
 */
static int km_rs_plan_end(lua_State *L)
{
    struct km_rule_state *rs = km_rs_check(L);
    rs->plan_ns = 0;
    lua_gc(rs->L, LUA_GCSTEP, 0);
    return 0;
}

/***
 * Bytes the state holds and its limit.
 * @function memory
 * @treturn integer used
 * @treturn integer limit
 */
static int km_rs_memory(lua_State *L)
{
    struct km_rule_state *rs = km_rs_check(L);
    lua_pushinteger(L, (lua_Integer)rs->used);
    lua_pushinteger(L, (lua_Integer)rs->limit);
    return 2;
}

static void km_rs_shut(struct km_rule_state *rs)
{
    if (rs->L != NULL) {
        lua_State *C = rs->L;
        rs->L = NULL;
        rs->counting = 0;
        rs->deadline_ns = 0;
        lua_close(C);
        km_pool_drain(rs);
    }
}

/* close, __close, __gc: the state goes (once). */
static int km_rs_close(lua_State *L)
{
    km_rs_shut(luaL_checkudata(L, 1, KM_RULE_STATE_MT));
    return 0;
}

static const luaL_Reg km_rs_methods[] = {
    {"load", km_rs_load},
    {"call", km_rs_call},
    {"call_each", km_rs_call_each},
    {"call_each_into", km_rs_call_each_into},
    {"plan_begin", km_rs_plan_begin},
    {"plan_end", km_rs_plan_end},
    {"memory", km_rs_memory},
    {"close", km_rs_close},
    {NULL, NULL}
};

static const luaL_Reg km_rs_meta[] = {
    {"__close", km_rs_close},
    {"__gc", km_rs_close},
    {NULL, NULL}
};

static lua_Integer km_opt_int(lua_State *L, const char *name, lua_Integer def, lua_Integer min)
{
    lua_Integer v;
    int isint;
    if (lua_getfield(L, 1, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < min)
        luaL_error(L, "rule_state: %s must be an integer >= %I", name, (LUAI_UACINT)min);
    lua_pop(L, 1);
    return v;
}

static double km_opt_seconds(lua_State *L, const char *name, double def)
{
    lua_Number v;
    int isnum;
    if (lua_getfield(L, 1, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    v = lua_tonumberx(L, -1, &isnum);
    if (!isnum || !(v > 0) || v > 86400)
        luaL_error(L, "rule_state: %s must be a number of seconds in (0, 86400]", name);
    lua_pop(L, 1);
    return (double)v;
}

/***
 * A new rule state.
 * @function rule_state
 * @tparam[opt] table opts `memory` (bytes, default KM_RULE_MEMORY_DEFAULT),
 *   `budget` (instructions per rule call, default KM_RULE_BUDGET_DEFAULT),
 *   `deadline` (seconds per call, KM_RULE_DEADLINE_DEFAULT), `plan_deadline`
 *   (seconds per plan, KM_RULE_PLAN_DEADLINE_DEFAULT)
 * @treturn[1] userdata the state
 * @return[2] nil, message
 */
static int km_rule_state(lua_State *L)
{
    struct km_rule_state *rs;
    lua_Integer memory, budget;
    double deadline, plan_deadline;
    int status;
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    memory = km_opt_int(L, "memory", KM_RULE_MEMORY_DEFAULT, KM_RULE_MEMORY_MIN);
    budget = km_opt_int(L, "budget", KM_RULE_BUDGET_DEFAULT, 1);
    deadline = km_opt_seconds(L, "deadline", KM_RULE_DEADLINE_DEFAULT);
    plan_deadline = km_opt_seconds(L, "plan_deadline", KM_RULE_PLAN_DEADLINE_DEFAULT);

    rs = lua_newuserdatauv(L, sizeof *rs, 0);
    memset(rs, 0, sizeof *rs);
    luaL_setmetatable(L, KM_RULE_STATE_MT);
    rs->limit = (size_t)memory;
    rs->budget = budget;
    rs->tick = (int)(budget / 8 > KM_RULE_TICK_MAX ? KM_RULE_TICK_MAX : budget / 8);
    if (rs->tick < 1)
        rs->tick = 1;
    rs->deadline_s = deadline;
    rs->plan_deadline_s = plan_deadline;
    rs->L = lua_newstate(km_rs_alloc, rs);
    if (rs->L == NULL) {
        km_pool_drain(rs);
        lua_pushnil(L);
        lua_pushfstring(L, "rule state: memory limit (%I bytes) too small", (LUAI_UACINT)memory);
        return 2;
    }
    /* generational collection: a decision makes many short-lived tables
     * (its job, overlays, facts, results) and keeps few, and minor
     * collections reclaim them young (3-4% less CPU per plan than the
     * incremental mode in alternating runs). A plan ends with a minor
     * collection (plan_end), when its garbage is dead and still in the
     * cache (2-2.6% less time per plan than minor collections at 10%
     * growth wherever they fell, in alternating runs); in between, one
     * once the state grew by KM_RULE_GC_MINOR percent (Lua's default):
     * the bundled rules' state holds about 530 KB, and a plan of a 20-mount
     * pod makes about 47 KB, so only a much larger plan collects midway */
    lua_gc(rs->L, LUA_GCGEN, KM_RULE_GC_MINOR, 0);
    lua_pushcfunction(rs->L, km_rs_open);
    status = lua_pcall(rs->L, 0, 0, 0);
    if (status != LUA_OK) {
        int n = km_rs_failed(L, rs, status);
        km_rs_shut(rs);
        lua_remove(L, -n - 1);
        return n;
    }
    return 1;
}

const luaL_Reg km_rulestate_funcs[] = {
    {"rule_state", km_rule_state},
    {NULL, NULL}
};

void km_rulestate_open(lua_State *L)
{
    if (luaL_newmetatable(L, KM_RULE_STATE_MT)) {
        luaL_setfuncs(L, km_rs_meta, 0);
        luaL_newlib(L, km_rs_methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, KM_RULE_STATE_MT);
        lua_setfield(L, -2, "__name");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
}
