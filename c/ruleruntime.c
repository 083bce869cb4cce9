/*
 * ruleruntime.c -- what the engine's own code finds inside a rule state:
 * the `katamount.runtime` functions (first, try_first, call, stop, restart,
 * tripped, lines, line, memory, export, handler, is_plain, guest_result)
 * that drive the
 * running rule's budget and deadlines, and the state's globals (km_rs_open: the bounded libraries, a
 * few os and debug functions, require, the core without rule_state).
 */
#include "katamount.h"
#include "rulestate.h"

#include <lualib.h>

#include <stdio.h>
#include <string.h>

/* Stack frames the message handler looks through for a rule's position. */
#define KM_HANDLER_LEVELS_MAX 64
/* Bytes of a string answer quoted in the message of a bad `when` answer. */
#define KM_ANSWER_QUOTE_MAX 40

static int km_rt_handler(lua_State *L);
static void km_rt_push_message(lua_State *L, int idx);

/* The budget of a rule (or a rule file) that starts: whole. */
static void km_rt_begin_rule(lua_State *L, struct km_rule_state *rs)
{
    rs->spent = 0;
    rs->tripped = KM_TRIP_NONE;
    rs->counting = 1;
    km_rs_arm(rs, 1);
    km_rs_stop(L, rs);
}

/* runtime.write(t, k, v): the __newindex of the sandbox's overlays, a
 * raw set that marks the overlays written (runtime.first then has them
 * cleared before the next rule). */
static int km_rt_write(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    km_rs_of(L)->written = 1;
    return 0;
}

/* runtime.written([flag]): whether an overlay was written since the flag
 * was last cleared; with `flag`, sets it. */
static int km_rt_written(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    lua_pushboolean(L, rs->written);
    if (!lua_isnoneornil(L, 1))
        rs->written = lua_toboolean(L, 1);
    return 1;
}

/* A `when` answered something else than true, false or nil: a mistake (a
 * string, a count), never taken for a match. A string is quoted (its first
 * KM_ANSWER_QUOTE_MAX bytes, '"', '\\' and control bytes escaped). */
static int km_rt_bad_answer(lua_State *L, int idx)
{
    luaL_Buffer b;
    size_t len, i;
    const char *s;
    if (lua_type(L, idx) != LUA_TSTRING)
        return luaL_error(L, "when must return true, false or nil, got a %s", luaL_typename(L, idx));
    s = lua_tolstring(L, idx, &len);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "when must return true, false or nil, got the string \"");
    for (i = 0; i < len && i < KM_ANSWER_QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            luaL_addchar(&b, '\\');
            luaL_addchar(&b, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\%u", (unsigned)c);
            luaL_addstring(&b, esc);
        } else {
            luaL_addchar(&b, (char)c);
        }
    }
    luaL_addstring(&b, len > KM_ANSWER_QUOTE_MAX ? "...\"" : "\"");
    luaL_pushresult(&b);
    return lua_error(L);
}

/* The running rule is done: nothing is charged until the next begins. */
static void km_rt_end_rule(struct km_rule_state *rs)
{
    rs->counting = 0;
    km_rs_arm(rs, 0);
}

/* runtime.stop(): the engine's own code runs again. */
static int km_rt_stop(lua_State *L)
{
    km_rt_end_rule(km_rs_of(L));
    return 0;
}

/*
 * runtime.first(rules, a, b, clear [, on_result]): each rule's `when(a, b)`
 * of the list `rules` in order, each with a whole budget (as runtime.call
 * gives), until one returns true: that rule and its reason; nil when none
 * does. Before each rule, clear() runs when the rule before wrote on an
 * overlay (runtime.write; clear() resets runtime.written). An
 * answer other than true, false or nil raises. on_result(rule, matched,
 * why), when given, sees each answer outside the budget (explaining).
 * runtime.rule() says which rule ran last (its place in the list), for the
 * message of one that raised.
 */
static int km_rt_first(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    lua_Integer i, n;
    int traced;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TFUNCTION);
    traced = !lua_isnoneornil(L, 5);
    if (traced)
        luaL_checktype(L, 5, LUA_TFUNCTION);
    lua_settop(L, 5);
    lua_pushliteral(L, "when");         /* 6: the key, made once */
    n = (lua_Integer)lua_rawlen(L, 1);
    rs->rule = 0;
    for (i = 1; i <= n; i++) {
        rs->rule = i;
        if (rs->written) {
            lua_pushvalue(L, 4);
            lua_call(L, 0, 0);
        }
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
            return luaL_error(L, "rule %I is not a table", (LUAI_UACINT)i);
        lua_pushvalue(L, 6);
        lua_rawget(L, 7);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        km_rt_begin_rule(L, rs);
        lua_call(L, 2, 2);              /* the rule (7), matched (8), why (9) */
        if (lua_toboolean(L, 8) && !lua_isboolean(L, 8)) {
            km_rt_stop(L);
            return km_rt_bad_answer(L, 8);
        }
        if (traced) {
            km_rt_stop(L);
            lua_pushvalue(L, 5);
            lua_pushvalue(L, 7);
            lua_pushvalue(L, 8);
            lua_pushvalue(L, 9);
            lua_call(L, 3, 0);
        }
        if (lua_toboolean(L, 8)) {
            lua_remove(L, 8);
            return 2;
        }
        lua_settop(L, 6);
    }
    lua_pushnil(L);
    return 1;
}

/*
 * runtime.try_first(rules, a, b, clear [, on_result]): runtime.first run
 * protected, runtime.handler its message handler, the budget stopped after
 * (as runtime.stop): true and the rule that matched and its reason (nil:
 * none did), or false, the rule that raised or was stopped (nil: none ran)
 * and the message (runtime.message's).
 */
static int km_rt_try_first(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    int status, i;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 5);
    lua_pushcfunction(L, km_rt_handler);            /* 6 */
    lua_pushcfunction(L, km_rt_first);
    for (i = 1; i <= 5; i++)
        lua_pushvalue(L, i);
    status = lua_pcall(L, 5, 2, 6);                 /* the rule (7), its reason (8) */
    km_rt_end_rule(rs);
    if (status != LUA_OK) {                         /* the error (7) */
        lua_pushboolean(L, 0);
        lua_rawgeti(L, 1, rs->rule);
        km_rt_push_message(L, 7);
        return 3;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, 7);
    return 3;
}

/* runtime.rule(): the place of the rule runtime.first ran last (0: none). */
static int km_rt_rule(lua_State *L)
{
    lua_pushinteger(L, km_rs_of(L)->rule);
    return 1;
}

/* runtime.restart(): a new decision (or file) gets a deadline of its own,
 * and forgets what stopped the one before; returns whether an overlay was
 * written since that flag was last cleared (runtime.written()), which the
 * decision then clears. */
static int km_rt_restart(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    rs->refused = 0;
    rs->tripped = KM_TRIP_NONE;
    km_rs_restart(rs);
    lua_pushboolean(L, rs->written);
    return 1;
}

/* runtime.tripped(): why the running rule was stopped (memory, budget,
 * deadline), or nil: a rule's pcall then raises it again. */
static int km_rt_tripped(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    if (rs->refused)
        lua_pushfstring(L, "memory limit (%I bytes) reached", (LUAI_UACINT)rs->limit);
    else if (rs->tripped == KM_TRIP_BUDGET)
        lua_pushfstring(L, "instruction budget exceeded (%I instructions)",
                        (LUAI_UACINT)rs->budget);
    else if (rs->tripped == KM_TRIP_DEADLINE && rs->late_plan)
        lua_pushfstring(L, "plan deadline exceeded (%f s)", (lua_Number)rs->plan_deadline_s);
    else if (rs->tripped == KM_TRIP_DEADLINE)
        lua_pushfstring(L, "deadline exceeded (%f s)", (lua_Number)rs->deadline_s);
    else
        lua_pushnil(L);
    return 1;
}

/* The message of a failed protected call whose error value is at `idx`
 * (pushed): what stopped the rule (memory, budget, deadline) when the
 * error itself does not say (not a string, or Lua's own "not enough
 * memory" and "error in error handling"); else the error. */
static void km_rt_push_message(lua_State *L, int idx)
{
    int is_string = lua_type(L, idx) == LUA_TSTRING;
    idx = lua_absindex(L, idx);
    if (!is_string || strcmp(lua_tostring(L, idx), "not enough memory") == 0
        || strcmp(lua_tostring(L, idx), "error in error handling") == 0) {
        km_rt_tripped(L);
        if (!lua_isnil(L, -1))
            return;
        lua_pop(L, 1);
        if (!is_string) {
            lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
            return;
        }
    }
    lua_pushvalue(L, idx);
}

/* runtime.message(e): the message of a failed protected call into rule
 * code (see km_rt_push_message). */
static int km_rt_message(lua_State *L)
{
    luaL_checkany(L, 1);
    km_rt_push_message(L, 1);
    return 1;
}

/* runtime.call(fn, ...): fn(...) as rule code, with a whole budget (as
 * every rule gets) and runtime.handler as its message handler: true and
 * fn's results, or false and the message (runtime.message's). */
static int km_rt_call(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    int nargs = lua_gettop(L) - 1, status;
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushcfunction(L, km_rt_handler);
    lua_insert(L, 1);                   /* the handler (1), fn (2), its arguments */
    km_rt_begin_rule(L, rs);
    status = lua_pcall(L, nargs, LUA_MULTRET, 1);
    km_rt_end_rule(rs);
    if (status != LUA_OK) {
        km_rt_push_message(L, -1);
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_replace(L, 1);
    return lua_gettop(L);
}

/* runtime.lines(on): track the line run (while a file loads), runtime.line()
 * reads it (0: none yet). */
static int km_rt_lines(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    rs->track_lines = lua_toboolean(L, 1);
    rs->line = 0;
    km_rs_set_hook(rs);
    return 0;
}

static int km_rt_line(lua_State *L)
{
    lua_pushinteger(L, km_rs_of(L)->line);
    return 1;
}

/* runtime.memory(): bytes held, bytes allowed. */
static int km_rt_memory(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    lua_pushinteger(L, (lua_Integer)rs->used);
    lua_pushinteger(L, (lua_Integer)rs->limit);
    return 2;
}

/* runtime.export(t): t's functions are what st:call calls. */
static int km_rt_export(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, KM_RULE_ENTRIES);
    return 0;
}

/* Whether msg starts with "<trusted chunk>:<line>: " (the engine's own
 * modules are loaded as "=katamount.<name>"); its length, else 0. */
static size_t km_own_prefix(const char *msg, size_t len)
{
    size_t i = 0;
    if (len < 11 || memcmp(msg, "katamount.", 10) != 0)
        return 0;
    while (i < len && msg[i] != ':')
        i++;
    if (i + 1 >= len || msg[i + 1] < '0' || msg[i + 1] > '9')
        return 0;
    i++;
    while (i < len && msg[i] >= '0' && msg[i] <= '9')
        i++;
    if (i + 1 < len && msg[i] == ':' && msg[i + 1] == ' ')
        return i + 2;
    return 0;
}

/*
 * Lua names a chunk in a position by at most LUA_IDSIZE bytes: a longer
 * "@path" comes out as "..." and the path's tail. When `msg` starts with such
 * a position of `src` ("...tail:LINE:"), the length of "...tail"; else 0.
 */
static size_t km_cut_position(const char *msg, size_t len, const char *src, size_t slen)
{
    size_t i, j, tail;
    if (len < 4 || memcmp(msg, "...", 3) != 0)
        return 0;
    for (i = 3; i < len; i++) {
        if (msg[i] != ':')
            continue;
        for (j = i + 1; j < len && msg[j] >= '0' && msg[j] <= '9'; j++)
            ;
        if (j == i + 1 || j >= len || msg[j] != ':')
            continue;
        tail = i - 3;
        if (tail > 0 && tail < slen && memcmp(src + slen - tail, msg + 3, tail) == 0)
            return i;
    }
    return 0;
}

/*
 * runtime.handler(e): the message handler of every protected call into
 * rule code. Never calls a metamethod of the error object; names the
 * innermost frame of a rule file ("@path") as the position when the
 * message does not start with that file already, instead of the engine's
 * own code (error(msg, 2) in a rule's `when` names the engine, its caller).
 */
static int km_rt_handler(lua_State *L)
{
    struct km_rule_state *rs = km_rs_of(L);
    const char *msg;
    size_t len, skip, flen, cut;
    lua_Debug ar;
    int level;
    if (rs->refused) {
        lua_pushfstring(L, "memory limit (%I bytes) reached", (LUAI_UACINT)rs->limit);
    } else if (lua_type(L, 1) == LUA_TSTRING) {
        lua_pushvalue(L, 1);
    } else {
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    msg = lua_tolstring(L, -1, &len);
    skip = km_own_prefix(msg, len);
    msg += skip;
    len -= skip;
    for (level = 1; level <= KM_HANDLER_LEVELS_MAX; level++) {
        if (!lua_getstack(L, level, &ar))
            break;
        if (!lua_getinfo(L, "Sl", &ar))
            break;
        if (ar.source[0] != '@' || ar.currentline <= 0)
            continue;
        flen = strlen(ar.source + 1);
        cut = km_cut_position(msg, len, ar.source + 1, flen);
        if (cut > 0) {
            /* the whole path for Lua's cut one (a deep rules directory) */
            lua_pushlstring(L, ar.source + 1, flen);
            lua_pushlstring(L, msg + cut, len - cut);
            lua_concat(L, 2);
            return 1;
        }
        if (len > flen && memcmp(msg, ar.source + 1, flen) == 0 && msg[flen] == ':') {
            lua_pushlstring(L, msg, len);
            return 1;
        }
        lua_pushfstring(L, "%s:%d: ", ar.source + 1, ar.currentline);
        lua_pushlstring(L, msg, len);
        lua_concat(L, 2);
        return 1;
    }
    lua_pushlstring(L, msg, len);
    return 1;
}

/* require(name) inside the state: a module loaded by st:load (or the core). */
static int km_rt_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) == LUA_TNIL)
        return luaL_error(L, "module '%s' is not loaded in the rule state", name);
    return 1;
}

/* Whether the value at `idx` is a string, number or boolean (a table's key
 * or a leaf). */
static int km_is_plain_scalar(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    return t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN;
}

/* Whether the table at `idx` (absolute) is plain data: no metatable at any
 * level, keys and leaves strings, numbers or booleans, tables at most
 * `most` deep. Raw (lua_next): no metamethod runs; no recursion: an
 * explicit stack of table indices. Leaves the stack as it found it. */
static int km_plain_table(lua_State *L, int idx, lua_Integer most)
{
    int stack[KM_BOUNDARY_DEPTH_MAX];
    int depth = 1, plain = 1, top = lua_gettop(L);
    luaL_checkstack(L, 2 * KM_BOUNDARY_DEPTH_MAX + 4, "is_plain");
    if (lua_getmetatable(L, idx)) {
        lua_settop(L, top);
        return 0;
    }
    stack[0] = idx;
    lua_pushnil(L);
    while (depth > 0 && plain) {
        if (!lua_next(L, stack[depth - 1])) {
            depth--;
            if (depth > 0)
                lua_pop(L, 1);         /* the table just walked (a value) */
            continue;
        }
        if (!km_is_plain_scalar(L, -2)) {
            plain = 0;
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            if (depth > most || lua_getmetatable(L, -1)) {
                plain = 0;
            } else {
                stack[depth++] = lua_gettop(L);
                lua_pushnil(L);
            }
        } else if (!km_is_plain_scalar(L, -1)) {
            plain = 0;
        } else {
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    return plain;
}

/* runtime.is_plain(v, depth_max): whether `v` is plain data already (what
 * the sandbox's as_plain hands over without a copy): no metatable at any
 * level, keys and leaves strings, numbers or booleans, tables at most
 * `depth_max` (at most KM_BOUNDARY_DEPTH_MAX) deep. */
static int km_rt_is_plain(lua_State *L)
{
    lua_Integer most = luaL_checkinteger(L, 2);
    luaL_argcheck(L, most >= 0 && most < KM_BOUNDARY_DEPTH_MAX, 2, "out of range");
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE)
        lua_pushboolean(L, km_is_plain_scalar(L, 1));
    else
        lua_pushboolean(L, km_plain_table(L, 1, most));
    return 1;
}

/* The keys guest_result reads: its upvalues, strings made once. */
enum { KM_GR_STORAGES, KM_GR_GUEST_MOUNT, KM_GR_HOST, KM_GR_ACTION, KM_GR_WHY, KM_GR_KEYS };
static const char *const km_guest_result_keys[KM_GR_KEYS] = {
    "storages", "guest_mount", "host", "action", "why",
};

/* Field `key` (KM_GR_*) of the plain table at `idx` (raw: it has no
 * metatable), pushed; its type. */
static int km_raw_field(lua_State *L, int idx, int key)
{
    lua_pushvalue(L, lua_upvalueindex(1 + key));
    return lua_rawget(L, idx);
}

/* runtime.guest_result(out, depth_max): what a translation's build
 * returned, when it is plain data (as is_plain) of the right shape:
 * true, storages (nil or a list of tables), guest_mount (nil or a table),
 * host (nil or a table whose action is a string), why. Anything else
 * (not plain, or not that shape): false, and the sandbox's own checks
 * say what is wrong or make plain copies. */
static int km_rt_guest_result(lua_State *L)
{
    lua_Integer i, n, most = luaL_checkinteger(L, 2);
    luaL_argcheck(L, most >= 0 && most < KM_BOUNDARY_DEPTH_MAX, 2, "out of range");
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE || !km_plain_table(L, 1, most)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1);                                   /* 2 */
    switch (km_raw_field(L, 1, KM_GR_STORAGES)) {                /* 3 */
    case LUA_TNIL:
        break;
    case LUA_TTABLE:
        n = (lua_Integer)lua_rawlen(L, 3);
        for (i = 1; i <= n; i++) {
            if (lua_rawgeti(L, 3, i) != LUA_TTABLE) {
                lua_pushboolean(L, 0);
                return 1;
            }
            lua_pop(L, 1);
        }
        break;
    default:
        lua_pushboolean(L, 0);
        return 1;
    }
    n = km_raw_field(L, 1, KM_GR_GUEST_MOUNT);                   /* 4 */
    if (n != LUA_TNIL && n != LUA_TTABLE) {
        lua_pushboolean(L, 0);
        return 1;
    }
    n = km_raw_field(L, 1, KM_GR_HOST);                          /* 5 */
    if (n == LUA_TTABLE) {
        int action = km_raw_field(L, 5, KM_GR_ACTION);
        lua_pop(L, 1);
        if (action != LUA_TSTRING) {
            lua_pushboolean(L, 0);
            return 1;
        }
    } else if (n != LUA_TNIL) {
        lua_pushboolean(L, 0);
        return 1;
    }
    km_raw_field(L, 1, KM_GR_WHY);                               /* 6 */
    return 5;
}

static const luaL_Reg km_runtime_funcs[] = {
    {"stop", km_rt_stop},
    {"restart", km_rt_restart},
    {"try_first", km_rt_try_first},
    {"tripped", km_rt_tripped},
    {"lines", km_rt_lines},
    {"line", km_rt_line},
    {"memory", km_rt_memory},
    {"export", km_rt_export},
    {"handler", km_rt_handler},
    {"is_plain", km_rt_is_plain},
    {"first", km_rt_first},
    {"call", km_rt_call},
    {"message", km_rt_message},
    {"write", km_rt_write},
    {"written", km_rt_written},
    {"rule", km_rt_rule},
    {NULL, NULL}
};

/* type(v) as the base library's, its answers strings made once, its
 * upvalues (the base library's looks the name up in Lua's string table on
 * every call; rules and the engine's own code ask it often). */
static int km_rt_type(lua_State *L)
{
    int t = lua_type(L, 1);
    luaL_argcheck(L, t != LUA_TNONE, 1, "value expected");
    lua_pushvalue(L, lua_upvalueindex(t + 1));
    return 1;
}

/* Set the global table's (at the top) `type` to km_rt_type. */
static void km_rt_set_type(lua_State *L)
{
    int t;
    luaL_checkstack(L, LUA_NUMTYPES, "type");
    for (t = 0; t < LUA_NUMTYPES; t++)
        lua_pushstring(L, lua_typename(L, t));
    lua_pushcclosure(L, km_rt_type, LUA_NUMTYPES);
    lua_setfield(L, -2, "type");
}

/* Copy field `name` of table `from` (at -1) to table `to` (at -2). */
static void km_keep_field(lua_State *L, const char *name)
{
    lua_getfield(L, -1, name);
    lua_setfield(L, -3, name);
}

/* Open the state's libraries (a protected call inside the new state). */
int km_rs_open(lua_State *L)
{
    static const char *const os_keep[] = { "time", "clock", "date", "difftime", NULL };
    static const char *const base_drop[] = { "dofile", "loadfile", "print", NULL };
    int i;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    for (i = 0; base_drop[i] != NULL; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, base_drop[i]);
    }
    lua_pushcfunction(L, km_rt_require);
    lua_setfield(L, -2, "require");
    km_rt_set_type(L);
    lua_pop(L, 1);
    km_rulelib_open(L);

    /* os and debug: a few functions, never the libraries */
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    lua_newtable(L);
    lua_insert(L, -2);
    for (i = 0; os_keep[i] != NULL; i++)
        km_keep_field(L, os_keep[i]);
    lua_pop(L, 1);
    lua_setglobal(L, LUA_OSLIBNAME);
    luaL_requiref(L, LUA_DBLIBNAME, luaopen_debug, 0);
    lua_newtable(L);
    lua_insert(L, -2);
    km_keep_field(L, "getinfo");
    km_keep_field(L, "getmetatable");
    lua_pop(L, 1);
    lua_setglobal(L, LUA_DBLIBNAME);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushnil(L);
    lua_setfield(L, -2, LUA_OSLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, LUA_DBLIBNAME);
    lua_pop(L, 1);

    /* the core's primitives (and has_option, charged: rulefacts.c); a rule
     * state makes no rule state */
    luaL_requiref(L, "katamount.core", luaopen_katamount_core, 0);
    lua_pushnil(L);
    lua_setfield(L, -2, "rule_state");
    lua_pushliteral(L, "__index");      /* has_option's upvalue */
    luaL_setfuncs(L, km_rulefacts_core_funcs, 1);
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    luaL_newlib(L, km_runtime_funcs);
    for (i = 0; i < KM_GR_KEYS; i++)
        lua_pushstring(L, km_guest_result_keys[i]);
    lua_pushcclosure(L, km_rt_guest_result, KM_GR_KEYS);
    lua_setfield(L, -2, "guest_result");
    luaL_setfuncs(L, km_rulefacts_runtime_funcs, 0);
    lua_setfield(L, -2, "katamount.runtime");
    lua_pop(L, 1);
    return 0;
}
