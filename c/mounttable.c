/*
 * mounttable.c -- the mount table object: reads a mountinfo file once,
 * parses it (mountinfo.c), indexes the entries by mount point
 * (mountindex.c), and answers t:lookup, t:entries, t:changed.
 *
 * Lua functions: mounts.
 * Table object (metatable "katamount.mounts"): t:lookup(mount_point),
 * t:entries(), t:changed(), #t, tostring(t), __close, __gc.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define KM_MOUNTS_MT "katamount.mounts"
/* First read buffer of a mount table file; it doubles as needed. */
#define KM_MOUNTINFO_FIRST_READ (16 * 1024)

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

struct km_mounts {
    int fd;                 /* the mountinfo file, kept for poll; -1 closed */
    int is_proc;            /* poll on fd tells of changes */
    int changed;            /* sticky: the table changed since it was read */
    char *text;             /* the file's bytes, parsed in place */
    struct km_ent *ents;    /* entries in file order */
    size_t n;
    struct km_index index;  /* by mount point (mountindex.c) */
};

/* Close the descriptor and free the memory (idempotent). */
void km_mounts_release(struct km_mounts *m)
{
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    free(m->text);
    free(m->ents);
    km_index_free(&m->index);
    m->text = NULL;
    m->ents = NULL;
    m->n = 0;
}

/* Read the whole file into m->text (NUL-terminated); *len its size.
 * 0, or an errno (EFBIG past KM_MOUNTINFO_BYTES_MAX). */
static int mounts_read(struct km_mounts *m, size_t *len)
{
    size_t cap = KM_MOUNTINFO_FIRST_READ, n = 0;
    m->text = malloc(cap + 1);
    if (m->text == NULL)
        return ENOMEM;
    for (;;) {
        ssize_t r;
        if (n == cap) {
            char *t;
            if (cap >= KM_MOUNTINFO_BYTES_MAX)
                return EFBIG;
            cap = cap * 2 > KM_MOUNTINFO_BYTES_MAX ? KM_MOUNTINFO_BYTES_MAX : cap * 2;
            t = realloc(m->text, cap + 1);
            if (t == NULL)
                return ENOMEM;
            m->text = t;
        }
        r = read(m->fd, m->text + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    m->text[n] = '\0';
    *len = n;
    return 0;
}

/* Split the text into lines and parse each; a malformed line, a line
 * longer than KM_MOUNTINFO_LINE_MAX or holding a NUL is skipped.
 * 0, or an errno (E2BIG past KM_MOUNTS_MAX entries). */
static int mounts_parse(struct km_mounts *m, size_t len)
{
    size_t cap = 0, p = 0, i;
    char *nl;
    while (p < len) {
        struct km_mountinfo mi;
        struct km_ent *e;
        size_t ll;
        nl = memchr(m->text + p, '\n', len - p);
        ll = nl != NULL ? (size_t)(nl - (m->text + p)) : len - p;
        if (ll <= KM_MOUNTINFO_LINE_MAX &&
            km_parse_mountinfo_line(m->text + p, ll, &mi) == 0) {
            if (m->n == KM_MOUNTS_MAX)
                return E2BIG;
            if (m->n == cap) {
                struct km_ent *ne;
                cap = cap == 0 ? 64 : cap * 2;
                ne = realloc(m->ents, cap * sizeof *ne);
                if (ne == NULL)
                    return ENOMEM;
                m->ents = ne;
            }
            e = &m->ents[m->n++];
            e->id = mi.id;
            e->parent = mi.parent;
            e->major = mi.major;
            e->minor = mi.minor;
            e->str[KM_F_ROOT] = mi.root;
            e->str[KM_F_MNT] = mi.mount_point;
            e->str[KM_F_OPTS] = mi.options;
            e->str[KM_F_OPTIONAL] = mi.optional;
            e->str[KM_F_FSTYPE] = mi.fstype;
            e->str[KM_F_SOURCE] = mi.source;
            e->str[KM_F_SUPER] = mi.super_options;
            for (i = 0; i < KM_F_N; i++)
                e->len[i] = strlen(e->str[i]);
        }
        p += ll + 1;
    }
    return 0;
}

int km_mounts_load(lua_State *L, const char *what, const char *path,
                       size_t plen, struct km_mounts **out)
{
    struct km_mounts *m;
    struct stat st;
    struct statfs sfs;
    size_t len = 0;
    int err;

    m = lua_newuserdatauv(L, sizeof *m, 2);
    memset(m, 0, sizeof *m);
    m->fd = -1;
    luaL_setmetatable(L, KM_MOUNTS_MT);
    lua_pushlstring(L, path, plen);
    lua_setiuservalue(L, -2, 2);
    lua_newtable(L);                    /* cache of built entry tables */
    lua_setiuservalue(L, -2, 1);

    m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (m->fd < 0) {
        err = errno;
        return km_push_error(L, what, path, plen, err);
    }
    if (fstat(m->fd, &st) != 0) {
        err = errno;
        km_mounts_release(m);
        return km_push_error(L, what, path, plen, err);
    }
    if (S_ISDIR(st.st_mode)) {
        km_mounts_release(m);
        return km_push_error(L, what, path, plen, EISDIR);
    }
    if (!S_ISREG(st.st_mode)) {
        km_mounts_release(m);
        return km_push_error_msg(L, what, path, plen, "not a regular file", EINVAL);
    }
    m->is_proc = fstatfs(m->fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
    err = mounts_read(m, &len);
    if (err == 0)
        err = mounts_parse(m, len);
    if (err == 0)
        err = km_index_build(&m->index, m->ents, m->n);
    if (err != 0) {
        km_mounts_release(m);
        if (err == EFBIG)
            return km_push_error_limit(L, what, path, plen,
                                       "larger than KM_MOUNTINFO_BYTES_MAX (%I bytes)",
                                       (lua_Integer)KM_MOUNTINFO_BYTES_MAX, err);
        if (err == E2BIG)
            return km_push_error_limit(L, what, path, plen,
                                       "more than KM_MOUNTS_MAX (%I) entries",
                                       (lua_Integer)KM_MOUNTS_MAX, err);
        return km_push_error(L, what, path, plen, err);
    }
    *out = m;
    return 0;
}
static void push_cached_entry(lua_State *L, int ud, struct km_mounts *m, size_t i)
{
    lua_getiuservalue(L, ud, 1);
    if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TNIL) {
        lua_pop(L, 1);
        km_push_entry(L, &m->ents[i]);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)i + 1);
    }
    lua_remove(L, -2);
}

/* ------------------------------------------------------ object methods */

static struct km_mounts *check_mounts(lua_State *L)
{
    return luaL_checkudata(L, 1, KM_MOUNTS_MT);
}

/***
 * The entry mounted on a mount point (of stacked mounts, the last: the
 * visible one). O(1): the table's index, keyed per table.
 * @function mounts_table:lookup
 * @tparam string mount_point as the table spells it ("/a/b", not "/a/b/")
 * @treturn[1] table the entry (as for mount_entry), the same table for
 *   every call on this object
 * @treturn[2] nil when nothing is mounted there
 * @return[3] nil, message, errno (EINVAL) for a key holding a NUL byte
 */
static int km_lookup(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    size_t len;
    const char *key = luaL_checklstring(L, 2, &len);
    long i;
    if (memchr(key, '\0', len) != NULL)
        return km_push_path_error(L, "lookup", 2);
    i = km_index_find(&m->index, m->ents, key, len);
    if (i < 0) {
        lua_pushnil(L);
        return 1;
    }
    push_cached_entry(L, 1, m, (size_t)i);
    return 1;
}

static int km_entries_iter(lua_State *L)
{
    struct km_mounts *m = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    if (m == NULL || i < 0 || (size_t)i >= m->n)
        return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    push_cached_entry(L, lua_upvalueindex(1), m, (size_t)i);
    return 1;
}

/***
 * Every entry, in the order of the file.
 * @function mounts_table:entries
 * @treturn function an iterator: `for e in t:entries() do ... end`
 */
static int km_entries(lua_State *L)
{
    check_mounts(L);
    lua_settop(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, km_entries_iter, 2);
    return 1;
}

/***
 * Whether the mount table changed since the object read it (poll(2) on the
 * /proc file); once true, always true.
 * @function mounts_table:changed
 * @treturn[1] boolean false for a file that is not a /proc mount table, or
 *   after the object was closed
 * @return[2] nil, message, errno when poll fails
 */
static int km_changed(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    if (!m->changed && m->fd >= 0 && m->is_proc) {
        struct pollfd pfd;
        int rc;
        pfd.fd = m->fd;
        pfd.events = POLLPRI;
        pfd.revents = 0;
        do
            rc = poll(&pfd, 1, 0);
        while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            int err = errno;
            size_t plen;
            const char *path;
            lua_getiuservalue(L, 1, 2);
            path = lua_tolstring(L, -1, &plen);
            return km_push_error(L, "changed", path, plen, err);
        }
        if (rc > 0 && (pfd.revents & (POLLPRI | POLLERR)) != 0)
            m->changed = 1;
    }
    lua_pushboolean(L, m->changed);
    return 1;
}

/***
 * The cost of building the table's index, for the specs and the
 * benchmarks (not for rules): a deterministic measure, about 1.2 slots per
 * entry for any table (colliding keys under an unkeyed hash cost n^2/2).
 * @function mounts_table:_index_cost
 * @treturn integer slots probed while building the index
 * @treturn integer the longest probe run among them
 */
static int km_index_cost(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    lua_pushinteger(L, (lua_Integer)m->index.probes);
    lua_pushinteger(L, (lua_Integer)m->index.longest);
    return 2;
}

/***
 * The number of entries: `#t`.
 * @function mounts_table:__len
 * @treturn integer
 */
static int km_mounts_len(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    lua_pushinteger(L, (lua_Integer)m->n);
    return 1;
}

/***
 * `tostring(t)`: "katamount.mounts (N entries from <file>): <address>".
 * @function mounts_table:__tostring
 * @treturn string
 */
static int km_mounts_tostring(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    lua_getiuservalue(L, 1, 2);
    lua_pushfstring(L, "katamount.mounts (%I entries from %s): %p",
                    (lua_Integer)m->n, lua_tostring(L, -1), (void *)m);
    return 1;
}

/***
 * `__close` (a `local t <close>` going out of scope): closes the table's
 * file; the entries stay readable, t:changed() answers what it knew.
 * @function mounts_table:__close
 */
static int km_mounts_close(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    return 0;
}

static int km_mounts_gc(lua_State *L)
{
    km_mounts_release(check_mounts(L));
    return 0;
}

static const luaL_Reg km_mounts_methods[] = {
    {"lookup", km_lookup},
    {"entries", km_entries},
    {"changed", km_changed},
    {"_index_cost", km_index_cost},
    {NULL, NULL}
};

static const luaL_Reg km_mounts_meta[] = {
    {"__len", km_mounts_len},
    {"__tostring", km_mounts_tostring},
    {"__close", km_mounts_close},
    {"__gc", km_mounts_gc},
    {NULL, NULL}
};

void km_mounts_open(lua_State *L)
{
    luaL_newmetatable(L, KM_MOUNTS_MT);
    luaL_setfuncs(L, km_mounts_meta, 0);
    luaL_newlib(L, km_mounts_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/***
 * The mount table, read once into an object: `t:lookup(mount_point)`,
 * `t:entries()`, `t:changed()`, `#t` (the number of entries),
 * `tostring(t)`; `__close` closes its file (the entries stay readable),
 * `__gc` frees it. Lines that are malformed, longer than
 * KM_MOUNTINFO_LINE_MAX or hold a NUL byte are skipped.
 * @function mounts
 * @tparam[opt="/proc/self/mountinfo"] string mountinfo_path a mount table file
 * @treturn[1] mounts_table the table object
 * @return[2] nil, message, errno: the file's own errors; EFBIG past
 *   KM_MOUNTINFO_BYTES_MAX bytes, E2BIG past KM_MOUNTS_MAX entries, EINVAL
 *   for a file that is not a regular file
 */
static int km_mounts(lua_State *L)
{
    struct km_mounts *m;
    const char *path = KM_MOUNTINFO_DEFAULT;
    size_t plen = sizeof KM_MOUNTINFO_DEFAULT - 1;
    int rc;
    if (!lua_isnoneornil(L, 1)) {
        path = km_check_path(L, 1, &plen);
        if (path == NULL)
            return km_push_path_error(L, "mounts", 1);
    }
    rc = km_mounts_load(L, "mounts", path, plen, &m);
    return rc != 0 ? rc : 1;
}

/* ------------------------------------------------- lookups for statmount.c */

const struct km_ent *km_mounts_find_path(const struct km_mounts *m,
                                         const char *path, size_t len)
{
    long i = km_index_find(&m->index, m->ents, path, len);
    while (i < 0 && len > 1 && path[len - 1] == '/') {
        while (len > 1 && path[len - 1] == '/')
            len--;
        i = km_index_find(&m->index, m->ents, path, len);
    }
    return i < 0 ? NULL : &m->ents[i];
}

const struct km_ent *km_mounts_find_id(const struct km_mounts *m, long long id)
{
    size_t k;
    for (k = m->n; k-- > 0;) {
        if (m->ents[k].id == id)
            return &m->ents[k];
    }
    return NULL;
}

const luaL_Reg km_mounts_funcs[] = {
    {"mounts", km_mounts},
    {NULL, NULL}
};
