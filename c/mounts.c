/*
 * mounts.c -- the mount table: the /proc/self/mountinfo parser, the mount
 * table object, and the lookups by path (statx + statmount(2) where the
 * kernel has them, the table otherwise).
 *
 * Lua functions: mounts, mount_entry, is_mount_point.
 * Table object (metatable "katamount.mounts"): t:lookup(mount_point),
 * t:entries(), t:changed(), #t, tostring(t), __close, __gc.
 *
 * An entry is the Lua table
 *   {id=, parent=, major=, minor=, root=, mount_point=, options={...},
 *    fstype=, source=, super_options={...}, optional={...}}
 * whichever way it was found.
 */
#include "katamount.h"

#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KM_MOUNTS_MT "katamount.mounts"
#define KM_MOUNTINFO_DEFAULT "/proc/self/mountinfo"
/* First read buffer of a mount table file; it doubles as needed. */
#define KM_MOUNTINFO_FIRST_READ (16 * 1024)
/* The stack buffer for a statmount(2) answer; larger answers use the heap. */
#define KM_STATMOUNT_BUF_FIRST 4096

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* --------------------------------------------- kernel uapi (Linux 6.8+) */
/* Debian 12's headers are 6.1: what they lack is defined here. */

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif
#ifndef AT_NO_AUTOMOUNT
#define AT_NO_AUTOMOUNT 0x800
#endif

#ifndef SYS_statmount
#if defined(__alpha__)
#define SYS_statmount 567
#else
#define SYS_statmount 457           /* the unified syscall table */
#endif
#endif

#ifndef STATMOUNT_SB_BASIC
#define STATMOUNT_SB_BASIC       0x00000001U
#define STATMOUNT_MNT_BASIC      0x00000002U
#define STATMOUNT_PROPAGATE_FROM 0x00000004U
#define STATMOUNT_MNT_ROOT       0x00000008U
#define STATMOUNT_MNT_POINT      0x00000010U
#define STATMOUNT_FS_TYPE        0x00000020U
#endif
#ifndef STATMOUNT_MNT_OPTS
#define STATMOUNT_MNT_OPTS       0x00000080U
#endif
#ifndef STATMOUNT_FS_SUBTYPE
#define STATMOUNT_FS_SUBTYPE     0x00000100U
#define STATMOUNT_SB_SOURCE      0x00000200U
#endif
#ifndef STATMOUNT_SUPPORTED_MASK
#define STATMOUNT_SUPPORTED_MASK 0x00001000U
#endif

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY      0x00000001
#define MOUNT_ATTR_NOSUID      0x00000002
#define MOUNT_ATTR_NODEV       0x00000004
#define MOUNT_ATTR_NOEXEC      0x00000008
#define MOUNT_ATTR__ATIME      0x00000070
#define MOUNT_ATTR_RELATIME    0x00000000
#define MOUNT_ATTR_NOATIME     0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME  0x00000080
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP       0x00100000
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif

/* Super-block flags statmount reports (sb_flags). */
#define KM_SB_RDONLY      0x00000001U
#define KM_SB_SYNCHRONOUS 0x00000010U
#define KM_SB_DIRSYNC     0x00000080U
#define KM_SB_LAZYTIME    0x02000000U

/* Propagation flags (mnt_propagation). */
#define KM_MS_UNBINDABLE (1U << 17)
#define KM_MS_SLAVE      (1U << 19)
#define KM_MS_SHARED     (1U << 20)

/* struct mnt_id_req, version 0 (24 bytes: what Linux 6.8 takes). */
struct km_mnt_id_req {
    uint32_t size;
    uint32_t spare;
    uint64_t mnt_id;
    uint64_t param;
};
#define KM_MNT_ID_REQ_SIZE_VER0 24

/* struct statmount as of Linux 6.18; the fixed part is 512 bytes in every
 * version, the strings follow it (offsets are relative to str). */
struct km_statmount {
    uint32_t size;
    uint32_t mnt_opts;
    uint64_t mask;
    uint32_t sb_dev_major;
    uint32_t sb_dev_minor;
    uint64_t sb_magic;
    uint32_t sb_flags;
    uint32_t fs_type;
    uint64_t mnt_id;
    uint64_t mnt_parent_id;
    uint32_t mnt_id_old;
    uint32_t mnt_parent_id_old;
    uint64_t mnt_attr;
    uint64_t mnt_propagation;
    uint64_t mnt_peer_group;
    uint64_t mnt_master;
    uint64_t propagate_from;
    uint32_t mnt_root;
    uint32_t mnt_point;
    uint64_t mnt_ns_id;
    uint32_t fs_subtype;
    uint32_t sb_source;
    uint32_t opt_num;
    uint32_t opt_array;
    uint32_t opt_sec_num;
    uint32_t opt_sec_array;
    uint64_t supported_mask;
    uint32_t mnt_uidmap_num;
    uint32_t mnt_uidmap;
    uint32_t mnt_gidmap_num;
    uint32_t mnt_gidmap;
    uint64_t spare2[43];
    /* char str[] follows */
};
#define KM_STATMOUNT_FIXED 512
typedef char km_statmount_size_check[sizeof(struct km_statmount) == KM_STATMOUNT_FIXED ? 1 : -1];

/* ------------------------------------------------------------ the parser */

static int is_octal(char c) { return c >= '0' && c <= '7'; }

size_t km_unescape(char *s, size_t len)
{
    size_t r = 0, w = 0;
    if (s == NULL)
        return 0;
    while (r < len) {
        if (s[r] == '\\' && len - r >= 4 && s[r + 1] >= '0' && s[r + 1] <= '3' &&
            is_octal(s[r + 2]) && is_octal(s[r + 3])) {
            int v = (s[r + 1] - '0') * 64 + (s[r + 2] - '0') * 8 + (s[r + 3] - '0');
            if (v != 0) {               /* \000 stays as is: no NUL in a field */
                s[w++] = (char)v;
                r += 4;
                continue;
            }
        }
        s[w++] = s[r++];
    }
    return w;
}

/* Next field of line[*pos..len): [*start, *start + *flen), up to the next
 * space or the end. *pos moves past the space; *more tells whether there
 * was one (so that another field follows). */
static void next_field(const char *line, size_t len, size_t *pos,
                       size_t *start, size_t *flen, int *more)
{
    size_t p = *pos;
    const char *sp = p < len ? memchr(line + p, ' ', len - p) : NULL;
    *start = p;
    if (sp != NULL) {
        *flen = (size_t)(sp - (line + p));
        *pos = p + *flen + 1;
        *more = 1;
    } else {
        *flen = len - p;
        *pos = len;
        *more = 0;
    }
}

/* A decimal number of line[start..start+n), at most `max`. */
static int parse_dec(const char *s, size_t n, unsigned long long max,
                     unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Unescape the NUL-terminated field f of length n in place. */
static void unescape_field(char *f, size_t n)
{
    f[km_unescape(f, n)] = '\0';
}

int km_parse_mountinfo_line(char *line, size_t len, struct km_mountinfo *out)
{
    size_t pos = 0, s[6], n[6], os = 0, oe = 0, ts, tn, ss, sn, ps, pn, dash;
    unsigned long long v;
    const char *colon;
    int more = 0, i, have_opt = 0;

    if (line == NULL || out == NULL || len == 0 || memchr(line, '\0', len) != NULL)
        return -1;
    /* id parent major:minor root mount_point options */
    for (i = 0; i < 6; i++) {
        next_field(line, len, &pos, &s[i], &n[i], &more);
        if (!more || n[i] == 0)
            return -1;
    }
    if (parse_dec(line + s[0], n[0], LLONG_MAX, &v) != 0)
        return -1;
    out->id = (long long)v;
    if (parse_dec(line + s[1], n[1], LLONG_MAX, &v) != 0)
        return -1;
    out->parent = (long long)v;
    colon = memchr(line + s[2], ':', n[2]);
    if (colon == NULL)
        return -1;
    if (parse_dec(line + s[2], (size_t)(colon - (line + s[2])), UINT_MAX, &v) != 0)
        return -1;
    out->major = (unsigned int)v;
    if (parse_dec(colon + 1, n[2] - (size_t)(colon - (line + s[2])) - 1, UINT_MAX, &v) != 0)
        return -1;
    out->minor = (unsigned int)v;
    /* optional fields up to the "-" separator */
    for (;;) {
        size_t fs, fn;
        next_field(line, len, &pos, &fs, &fn, &more);
        if (fn == 1 && line[fs] == '-') {
            dash = fs;
            break;
        }
        if (!more)
            return -1;                  /* no " - " separator */
        if (!have_opt) {
            os = fs;
            have_opt = 1;
        }
        oe = fs + fn;
    }
    if (!more)
        return -1;                      /* nothing after the separator */
    /* fstype source super_options (the rest of the line) */
    next_field(line, len, &pos, &ts, &tn, &more);
    if (!more || tn == 0)
        return -1;
    next_field(line, len, &pos, &ss, &sn, &more);
    if (!more)
        return -1;
    ps = pos;
    pn = len - pos;

    /* Terminate the fields before the separator (their spaces become NULs). */
    for (i = 0; i < 6; i++)
        line[s[i] + n[i]] = '\0';
    if (have_opt)
        line[oe] = '\0';                /* the space before "-" */
    /* Move fstype, source and super_options left over "- ": the three of
     * them and their NULs then end before line[len]. */
    memmove(line + dash, line + ts, tn);
    ts = dash;
    line[ts + tn] = '\0';
    memmove(line + ts + tn + 1, line + ss, sn);
    ss = ts + tn + 1;
    line[ss + sn] = '\0';
    memmove(line + ss + sn + 1, line + ps, pn);
    ps = ss + sn + 1;
    line[ps + pn] = '\0';               /* ps + pn == len - 2 */

    unescape_field(line + s[3], n[3]);
    unescape_field(line + s[4], n[4]);
    unescape_field(line + ts, tn);
    unescape_field(line + ss, sn);
    out->root = line + s[3];
    out->mount_point = line + s[4];
    out->options = line + s[5];
    out->optional = have_opt ? line + os : line + s[5] + n[5];
    out->fstype = line + ts;
    out->source = line + ss;
    out->super_options = line + ps;
    return 0;
}

/* ----------------------------------------------------- the table object */

enum { KM_F_ROOT, KM_F_MNT, KM_F_OPTS, KM_F_OPTIONAL, KM_F_FSTYPE,
       KM_F_SOURCE, KM_F_SUPER, KM_F_N };

/* One entry: strings point into the table's text (or elsewhere for a
 * statmount answer), with their lengths. */
struct km_ent {
    long long id, parent;
    unsigned int major, minor;
    const char *str[KM_F_N];
    size_t len[KM_F_N];
};

struct km_mounts {
    int fd;                 /* the mountinfo file, kept for poll; -1 closed */
    int is_proc;            /* poll on fd tells of changes */
    int changed;            /* sticky: the table changed since it was read */
    char *text;             /* the file's bytes, parsed in place */
    struct km_ent *ents;    /* entries in file order */
    size_t n;
    uint32_t *index;        /* open addressing: entry index + 1, 0 empty */
    size_t index_mask;
};

/* Close the descriptor and free the memory (idempotent). */
static void mounts_release(struct km_mounts *m)
{
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
    free(m->text);
    free(m->ents);
    free(m->index);
    m->text = NULL;
    m->ents = NULL;
    m->index = NULL;
    m->n = 0;
    m->index_mask = 0;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;   /* FNV-1a */
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* The index of the last entry mounted on key, or -1. */
static long mounts_find(const struct km_mounts *m, const char *key, size_t len)
{
    size_t slot;
    if (m->index == NULL)
        return -1;
    slot = (size_t)hash_bytes(key, len) & m->index_mask;
    for (;;) {
        uint32_t v = m->index[slot];
        const struct km_ent *e;
        if (v == 0)
            return -1;
        e = &m->ents[v - 1];
        if (e->len[KM_F_MNT] == len && memcmp(e->str[KM_F_MNT], key, len) == 0)
            return (long)(v - 1);
        slot = (slot + 1) & m->index_mask;
    }
}

/* Build the hash index over the entries; a later entry on the same mount
 * point replaces the earlier one. 0, or an errno. */
static int mounts_index(struct km_mounts *m)
{
    size_t cap = 8, i;
    while (cap < 2 * m->n)
        cap *= 2;
    m->index = calloc(cap, sizeof *m->index);
    if (m->index == NULL)
        return ENOMEM;
    m->index_mask = cap - 1;
    for (i = 0; i < m->n; i++) {
        const struct km_ent *e = &m->ents[i];
        size_t slot = (size_t)hash_bytes(e->str[KM_F_MNT], e->len[KM_F_MNT]) & m->index_mask;
        for (;;) {
            uint32_t v = m->index[slot];
            if (v == 0 || (m->ents[v - 1].len[KM_F_MNT] == e->len[KM_F_MNT] &&
                           memcmp(m->ents[v - 1].str[KM_F_MNT], e->str[KM_F_MNT],
                                  e->len[KM_F_MNT]) == 0)) {
                m->index[slot] = (uint32_t)(i + 1);
                break;
            }
            slot = (slot + 1) & m->index_mask;
        }
    }
    return 0;
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

/*
 * Read the mount table file `path` into a new table object, pushed on the
 * stack; returns 0. On failure pushes `nil, "<what> '<path>': ...", errno`
 * and returns 3 (the object, emptied, stays below them).
 */
static int mounts_load(lua_State *L, const char *what, const char *path,
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
        mounts_release(m);
        return km_push_error(L, what, path, plen, err);
    }
    if (S_ISDIR(st.st_mode)) {
        mounts_release(m);
        return km_push_error(L, what, path, plen, EISDIR);
    }
    if (!S_ISREG(st.st_mode)) {
        mounts_release(m);
        return km_push_error_msg(L, what, path, plen, "not a regular file", EINVAL);
    }
    m->is_proc = fstatfs(m->fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
    err = mounts_read(m, &len);
    if (err == 0)
        err = mounts_parse(m, len);
    if (err == 0)
        err = mounts_index(m);
    if (err != 0) {
        mounts_release(m);
        if (err == EFBIG)
            return km_push_error_msg(L, what, path, plen,
                                     "larger than KM_MOUNTINFO_BYTES_MAX (268435456 bytes)", err);
        if (err == E2BIG)
            return km_push_error_msg(L, what, path, plen,
                                     "more than KM_MOUNTS_MAX (1048576) entries", err);
        return km_push_error(L, what, path, plen, err);
    }
    *out = m;
    return 0;
}

/* ------------------------------------------------------- entry tables */

/* Push s[0..n) with its escapes decoded. */
static void push_unescaped(lua_State *L, const char *s, size_t n)
{
    luaL_Buffer b;
    char *p;
    if (memchr(s, '\\', n) == NULL) {
        lua_pushlstring(L, s, n);
        return;
    }
    p = luaL_buffinitsize(L, &b, n);
    memcpy(p, s, n);
    luaL_pushresultsize(&b, km_unescape(p, n));
}

/* Append the `sep`-separated items of s[0..n) (empty items dropped), each
 * unescaped, to the array at the top of the stack. */
static void append_items(lua_State *L, const char *s, size_t n, char sep)
{
    lua_Integer k = (lua_Integer)luaL_len(L, -1);
    size_t p = 0;
    while (p < n) {
        const char *q = memchr(s + p, sep, n - p);
        size_t il = q != NULL ? (size_t)(q - (s + p)) : n - p;
        if (il > 0) {
            push_unescaped(L, s + p, il);
            lua_rawseti(L, -2, ++k);
        }
        p += il + 1;
    }
}

static void set_str(lua_State *L, const char *name, const char *s, size_t n)
{
    lua_pushlstring(L, s, n);
    lua_setfield(L, -2, name);
}

static void set_int(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

/* Push the entry table of e. */
static void push_entry(lua_State *L, const struct km_ent *e)
{
    lua_createtable(L, 0, 11);
    set_int(L, "id", (lua_Integer)e->id);
    set_int(L, "parent", (lua_Integer)e->parent);
    set_int(L, "major", (lua_Integer)e->major);
    set_int(L, "minor", (lua_Integer)e->minor);
    set_str(L, "root", e->str[KM_F_ROOT], e->len[KM_F_ROOT]);
    set_str(L, "mount_point", e->str[KM_F_MNT], e->len[KM_F_MNT]);
    set_str(L, "fstype", e->str[KM_F_FSTYPE], e->len[KM_F_FSTYPE]);
    set_str(L, "source", e->str[KM_F_SOURCE], e->len[KM_F_SOURCE]);
    lua_newtable(L);
    append_items(L, e->str[KM_F_OPTS], e->len[KM_F_OPTS], ',');
    lua_setfield(L, -2, "options");
    lua_newtable(L);
    append_items(L, e->str[KM_F_SUPER], e->len[KM_F_SUPER], ',');
    lua_setfield(L, -2, "super_options");
    lua_newtable(L);
    append_items(L, e->str[KM_F_OPTIONAL], e->len[KM_F_OPTIONAL], ' ');
    lua_setfield(L, -2, "optional");
}

/* Push the (cached) entry table i of the table object at stack index ud. */
static void push_cached_entry(lua_State *L, int ud, struct km_mounts *m, size_t i)
{
    lua_getiuservalue(L, ud, 1);
    if (lua_rawgeti(L, -1, (lua_Integer)i + 1) == LUA_TNIL) {
        lua_pop(L, 1);
        push_entry(L, &m->ents[i]);
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

/*** t:lookup(mount_point) -> entry table, or nil when nothing is mounted
 * there (the last of stacked mounts wins); nil, message, errno for a key
 * holding a NUL byte. */
static int km_lookup(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    size_t len;
    const char *key = luaL_checklstring(L, 2, &len);
    long i;
    if (memchr(key, '\0', len) != NULL)
        return km_push_path_error(L, "lookup", 2);
    i = mounts_find(m, key, len);
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

/*** t:entries() -> iterator over every entry in file order. */
static int km_entries(lua_State *L)
{
    check_mounts(L);
    lua_settop(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, km_entries_iter, 2);
    return 1;
}

/*** t:changed() -> true once the mount table changed since it was read
 * (and from then on); false for a file that is not a /proc mount table. */
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

static int km_mounts_len(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    lua_pushinteger(L, (lua_Integer)m->n);
    return 1;
}

static int km_mounts_tostring(lua_State *L)
{
    struct km_mounts *m = check_mounts(L);
    lua_getiuservalue(L, 1, 2);
    lua_pushfstring(L, "katamount.mounts (%I entries from %s): %p",
                    (lua_Integer)m->n, lua_tostring(L, -1), (void *)m);
    return 1;
}

/* __close: the descriptor goes; the entries stay readable. */
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
    mounts_release(check_mounts(L));
    return 0;
}

static const luaL_Reg km_mounts_methods[] = {
    {"lookup", km_lookup},
    {"entries", km_entries},
    {"changed", km_changed},
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

/*** mounts([mountinfo_path]) -> table object, or nil, message, errno.
 * Reads /proc/self/mountinfo (or the given file) once. */
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
    rc = mounts_load(L, "mounts", path, plen, &m);
    return rc != 0 ? rc : 1;
}

/* ------------------------------------------------- lookups by path */

/* mounts_find for a path given by a caller: "/a/b/" finds "/a/b". */
static long mounts_find_path(const struct km_mounts *m, const char *path, size_t len)
{
    long i = mounts_find(m, path, len);
    while (i < 0 && len > 1 && path[len - 1] == '/') {
        while (len > 1 && path[len - 1] == '/')
            len--;
        i = mounts_find(m, path, len);
    }
    return i;
}

static int not_a_mount_point(lua_State *L, const char *path, size_t len)
{
    return km_push_error_msg(L, "mount_entry", path, len, "not a mount point", EINVAL);
}

/* The entry of `path` (or of mount id `id` when id >= 0) from the mount
 * table file `info`: pushes the entry (1) or the failure triple (3). */
static int entry_from_table(lua_State *L, const char *path, size_t len,
                            long long id, const char *info, size_t ilen)
{
    struct km_mounts *m;
    long i = -1;
    int rc = mounts_load(L, "mount_entry", info, ilen, &m);
    if (rc != 0)
        return rc;
    if (id >= 0) {
        size_t k;
        for (k = m->n; k-- > 0;) {
            if (m->ents[k].id == id) {
                i = (long)k;
                break;
            }
        }
    } else {
        i = mounts_find_path(m, path, len);
    }
    if (i < 0) {
        mounts_release(m);
        return not_a_mount_point(L, path, len);
    }
    push_entry(L, &m->ents[i]);
    mounts_release(m);
    return 1;
}

static int do_statx(const char *path, unsigned int mask, struct statx *sx)
{
    memset(sx, 0, sizeof *sx);
    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, mask, sx);
}

/* A string of a statmount answer: present (mask bit set, offset inside the
 * answer and NUL-terminated there), or "" when the kernel supports the bit
 * but had nothing to say. Returns 0, or -1 when the answer cannot be used. */
static int sm_string(const struct km_statmount *sm, const char *str, size_t strsize,
                     uint64_t bit, uint32_t off, uint64_t supported,
                     const char **s, size_t *n)
{
    const char *end;
    if ((sm->mask & bit) == 0) {
        if ((supported & bit) == 0)
            return -1;
        *s = "";
        *n = 0;
        return 0;
    }
    if (off >= strsize)
        return -1;
    end = memchr(str + off, '\0', strsize - off);
    if (end == NULL)
        return -1;
    *s = str + off;
    *n = (size_t)(end - *s);
    return 0;
}

/* Append ",word" (or "word" at the start) to buf[*n..cap). */
static void add_word(char *buf, size_t cap, size_t *n, const char *word)
{
    size_t wl = strlen(word);
    if (*n + wl + 2 > cap)
        return;
    if (*n > 0)
        buf[(*n)++] = ',';
    memcpy(buf + *n, word, wl);
    *n += wl;
    buf[*n] = '\0';
}

/* A word of the options mountinfo shows, shown when (flags & mask) == value. */
struct km_flag_word {
    uint64_t mask;
    uint64_t value;
    const char *word;
};

/* The per-mount options after "ro"/"rw", in mountinfo's order
 * (strictatime: mountinfo shows nothing for it). */
static const struct km_flag_word km_mnt_words[] = {
    {MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSUID, "nosuid"},
    {MOUNT_ATTR_NODEV, MOUNT_ATTR_NODEV, "nodev"},
    {MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOEXEC, "noexec"},
    {MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, "noatime"},
    {MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NODIRATIME, "nodiratime"},
    {MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, "relatime"},
    {MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"},
    {MOUNT_ATTR_IDMAP, MOUNT_ATTR_IDMAP, "idmapped"},
};

/* The super-block flags after "ro"/"rw" (the file system's own options
 * follow them). */
static const struct km_flag_word km_sb_words[] = {
    {KM_SB_SYNCHRONOUS, KM_SB_SYNCHRONOUS, "sync"},
    {KM_SB_DIRSYNC, KM_SB_DIRSYNC, "dirsync"},
    {KM_SB_LAZYTIME, KM_SB_LAZYTIME, "lazytime"},
};

/* buf = first, then each word whose flags match, comma-separated; returns
 * the length. */
static size_t add_words(char *buf, size_t cap, uint64_t flags, const char *first,
                        const struct km_flag_word *words, size_t nwords)
{
    size_t n = 0, i;
    buf[0] = '\0';
    add_word(buf, cap, &n, first);
    for (i = 0; i < nwords; i++) {
        if ((flags & words[i].mask) == words[i].value)
            add_word(buf, cap, &n, words[i].word);
    }
    return n;
}

/* Push the entry table from a statmount answer; 0 when the answer lacks
 * something (the caller then reads the table), 1 when pushed. */
static int push_statmount_entry(lua_State *L, const struct km_statmount *sm, size_t got)
{
    const uint64_t need = STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC | STATMOUNT_MNT_ROOT |
                          STATMOUNT_MNT_POINT | STATMOUNT_FS_TYPE;
    const char *str = (const char *)sm + KM_STATMOUNT_FIXED;
    size_t strsize, n;
    uint64_t supported = 0;
    struct km_ent e;
    const char *sub = "", *mopts = "";
    size_t subn = 0, moptsn = 0;
    char opts[128], super[64];
    lua_Integer k = 0;

    if (got <= KM_STATMOUNT_FIXED || (sm->mask & need) != need)
        return 0;
    strsize = got - KM_STATMOUNT_FIXED;
    if (sm->mask & STATMOUNT_SUPPORTED_MASK)
        supported = sm->supported_mask;
    memset(&e, 0, sizeof e);
    if (sm_string(sm, str, strsize, STATMOUNT_MNT_ROOT, sm->mnt_root, 0,
                  &e.str[KM_F_ROOT], &e.len[KM_F_ROOT]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_MNT_POINT, sm->mnt_point, 0,
                  &e.str[KM_F_MNT], &e.len[KM_F_MNT]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_FS_TYPE, sm->fs_type, 0,
                  &e.str[KM_F_FSTYPE], &e.len[KM_F_FSTYPE]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_MNT_OPTS, sm->mnt_opts, supported,
                  &mopts, &moptsn) != 0 ||
        /* no SB_SOURCE bit: mountinfo says "" or "none", statmount cannot
         * tell which; supported=0 sends that case to the table */
        sm_string(sm, str, strsize, STATMOUNT_SB_SOURCE, sm->sb_source, 0,
                  &e.str[KM_F_SOURCE], &e.len[KM_F_SOURCE]) != 0)
        return 0;
    /* the subtype came with SB_SOURCE (Linux 6.11): missing means none */
    if (sm_string(sm, str, strsize, STATMOUNT_FS_SUBTYPE, sm->fs_subtype,
                  STATMOUNT_FS_SUBTYPE, &sub, &subn) != 0)
        return 0;
    if (e.len[KM_F_MNT] == 0 || e.len[KM_F_FSTYPE] == 0)
        return 0;                       /* unreachable from our root */
    e.id = (long long)sm->mnt_id_old;
    e.parent = (long long)sm->mnt_parent_id_old;
    e.major = sm->sb_dev_major;
    e.minor = sm->sb_dev_minor;

    /* per-mount options, then super-block flags, as mountinfo shows them */
    n = add_words(opts, sizeof opts, sm->mnt_attr,
                  (sm->mnt_attr & MOUNT_ATTR_RDONLY) ? "ro" : "rw", km_mnt_words,
                  sizeof km_mnt_words / sizeof km_mnt_words[0]);
    e.str[KM_F_OPTS] = opts;
    e.len[KM_F_OPTS] = n;
    n = add_words(super, sizeof super, sm->sb_flags,
                  (sm->sb_flags & KM_SB_RDONLY) ? "ro" : "rw", km_sb_words,
                  sizeof km_sb_words / sizeof km_sb_words[0]);
    e.str[KM_F_SUPER] = super;
    e.len[KM_F_SUPER] = n;
    e.str[KM_F_OPTIONAL] = "";

    push_entry(L, &e);
    /* super_options: the file system's options follow the flags */
    lua_getfield(L, -1, "super_options");
    append_items(L, mopts, moptsn, ',');
    lua_pop(L, 1);
    /* fstype.subtype */
    if (subn > 0) {
        lua_pushlstring(L, e.str[KM_F_FSTYPE], e.len[KM_F_FSTYPE]);
        lua_pushliteral(L, ".");
        lua_pushlstring(L, sub, subn);
        lua_concat(L, 3);
        lua_setfield(L, -2, "fstype");
    }
    /* optional fields: shared:N master:N propagate_from:N unbindable */
    lua_getfield(L, -1, "optional");
    if (sm->mnt_propagation & KM_MS_SHARED) {
        lua_pushfstring(L, "shared:%I", (lua_Integer)sm->mnt_peer_group);
        lua_rawseti(L, -2, ++k);
    }
    if (sm->mnt_propagation & KM_MS_SLAVE) {
        lua_pushfstring(L, "master:%I", (lua_Integer)sm->mnt_master);
        lua_rawseti(L, -2, ++k);
        if ((sm->mask & STATMOUNT_PROPAGATE_FROM) && sm->propagate_from != 0 &&
            sm->propagate_from != sm->mnt_master) {
            lua_pushfstring(L, "propagate_from:%I", (lua_Integer)sm->propagate_from);
            lua_rawseti(L, -2, ++k);
        }
    }
    if (sm->mnt_propagation & KM_MS_UNBINDABLE) {
        lua_pushliteral(L, "unbindable");
        lua_rawseti(L, -2, ++k);
    }
    lua_pop(L, 1);
    return 1;
}

/* statmount(2) of unique mount id `id` into a buffer that grows as needed
 * (up to KM_STATMOUNT_BUF_MAX). Pushes the entry and returns 1, or returns
 * 0 (nothing pushed) when the table must answer instead. */
static int entry_from_statmount(lua_State *L, uint64_t id)
{
    union {
        struct km_statmount sm;
        char bytes[KM_STATMOUNT_BUF_FIRST];
    } first;
    struct km_statmount *sm = &first.sm;
    size_t size = sizeof first;
    const uint64_t mask = STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC | STATMOUNT_PROPAGATE_FROM |
                          STATMOUNT_MNT_ROOT | STATMOUNT_MNT_POINT | STATMOUNT_FS_TYPE |
                          STATMOUNT_MNT_OPTS | STATMOUNT_FS_SUBTYPE | STATMOUNT_SB_SOURCE |
                          STATMOUNT_SUPPORTED_MASK;
    int top = lua_gettop(L), rc;
    for (;;) {
        struct km_mnt_id_req req;
        long r;
        memset(&req, 0, sizeof req);
        req.size = KM_MNT_ID_REQ_SIZE_VER0;
        req.mnt_id = id;
        req.param = mask;
        memset(sm, 0, KM_STATMOUNT_FIXED);
        r = syscall(SYS_statmount, &req, sm, size, 0);
        if (r == 0)
            break;
        /* ENOSYS, EINVAL (older kernel), EPERM (filtered), ENOENT (gone)...:
         * the table answers */
        if (errno != EOVERFLOW || size >= KM_STATMOUNT_BUF_MAX) {
            lua_settop(L, top);
            return 0;
        }
        size *= 4;
        if (size > KM_STATMOUNT_BUF_MAX)
            size = KM_STATMOUNT_BUF_MAX;
        lua_settop(L, top);
        sm = lua_newuserdatauv(L, size, 0);   /* collected with the call */
    }
    if (sm->size < KM_STATMOUNT_FIXED || sm->size > size) {
        lua_settop(L, top);
        return 0;
    }
    rc = push_statmount_entry(L, sm, sm->size);
    if (rc == 0) {
        lua_settop(L, top);
        return 0;
    }
    if (lua_gettop(L) > top + 1)
        lua_remove(L, top + 1);               /* the heap buffer */
    return 1;
}

/*** mount_entry(mount_point [, mountinfo_path]) -> entry table, or
 * nil, "mount_entry '<path>': not a mount point", EINVAL, or another
 * failure with its own errno. Without mountinfo_path: statx + statmount
 * where the kernel has them, else /proc/self/mountinfo. */
static int km_mount_entry(lua_State *L)
{
    size_t len, ilen;
    const char *path = km_check_path(L, 1, &len);
    const char *info;
    struct statx sx;
    long long old_id = -1;
    if (path == NULL)
        return km_push_path_error(L, "mount_entry", 1);
    if (!lua_isnoneornil(L, 2)) {
        info = km_check_path(L, 2, &ilen);
        if (info == NULL)
            return km_push_path_error(L, "mount_entry", 2);
        return entry_from_table(L, path, len, -1, info, ilen);
    }
    if (do_statx(path, STATX_MNT_ID_UNIQUE, &sx) != 0) {
        int err = errno;
        if (err != ENOSYS)
            return km_push_error(L, "mount_entry", path, len, err);
    } else {
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
            if ((sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) == 0)
                return not_a_mount_point(L, path, len);
            if ((sx.stx_mask & STATX_MNT_ID_UNIQUE) && entry_from_statmount(L, sx.stx_mnt_id))
                return 1;
            /* a mount root: the table answers by its mountinfo id */
            if (sx.stx_mask & STATX_MNT_ID) {
                old_id = (long long)sx.stx_mnt_id;
            } else if ((sx.stx_mask & STATX_MNT_ID_UNIQUE) &&
                       do_statx(path, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
                old_id = (long long)sx.stx_mnt_id;
            }
        }
    }
    return entry_from_table(L, path, len, old_id, KM_MOUNTINFO_DEFAULT,
                            sizeof KM_MOUNTINFO_DEFAULT - 1);
}

/*** statmount_supported() -> boolean: whether mount_entry answers a path
 * with statx + statmount(2) here (kernel, seccomp filters and all), so that
 * a caller knows whether a lookup by path reads the mount table. Probes "/"
 * once per call: call it once and keep the answer. */
static int km_statmount_supported(lua_State *L)
{
    struct statx sx;
    int top = lua_gettop(L);
    int ok = do_statx("/", STATX_MNT_ID_UNIQUE, &sx) == 0 &&
             (sx.stx_mask & STATX_MNT_ID_UNIQUE) != 0 &&
             entry_from_statmount(L, sx.stx_mnt_id);
    lua_settop(L, top);
    lua_pushboolean(L, ok);
    return 1;
}

/*** is_mount_point(path) -> boolean, or nil, message, errno.
 * statx STATX_ATTR_MOUNT_ROOT where the kernel has it, else the table. */
static int km_is_mount_point(lua_State *L)
{
    size_t len;
    const char *path = km_check_path(L, 1, &len);
    struct statx sx;
    struct km_mounts *m;
    int rc;
    if (path == NULL)
        return km_push_path_error(L, "is_mount_point", 1);
    if (do_statx(path, 0, &sx) != 0) {
        int err = errno;
        if (err != ENOSYS)
            return km_push_error(L, "is_mount_point", path, len, err);
    } else if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
        lua_pushboolean(L, (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0);
        return 1;
    }
    rc = mounts_load(L, "is_mount_point", KM_MOUNTINFO_DEFAULT,
                     sizeof KM_MOUNTINFO_DEFAULT - 1, &m);
    if (rc != 0)
        return rc;
    rc = mounts_find_path(m, path, len) >= 0;
    mounts_release(m);
    lua_pushboolean(L, rc);
    return 1;
}

const luaL_Reg km_mounts_funcs[] = {
    {"mounts", km_mounts},
    {"statmount_supported", km_statmount_supported},
    {"mount_entry", km_mount_entry},
    {"is_mount_point", km_is_mount_point},
    {NULL, NULL}
};
