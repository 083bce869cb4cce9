/*
 * floor.c -- the Lua module `benchfloor`: the syscall floor of each
 * benchmark case, timed in C. Each function runs the bare syscalls a case
 * needs `iters` times and returns the total nanoseconds (and the result of
 * the last run, to check the floor did the same work as katamount):
 *
 *   count(path, limit, iters)  open + getdents64 (+ openat per subdirectory)
 *                              + close, stopping once the count passes limit;
 *                              the buffer holds limit + 3 entries of the
 *                              largest size, as DESIGN asks of count_files
 *   chain(path, iters)         stat(path), then lstat of each parent until the
 *                              device changes (device_for_path's walk)
 *   lookup(path, iters)        statx(STATX_MNT_ID_UNIQUE) + statmount(2)
 *                              (a mount lookup without reading mountinfo)
 *   (ops only) mountroot       statx(STATX_MNT_ID_UNIQUE) alone: whether the
 *                              path is the root of a mount (a plain
 *                              directory is an answer, not a failure)
 *   reread(iters)              open + read + close of /proc/self/mountinfo
 *   ops(list, iters)           a list of {op, path [, limit]} run in order,
 *                              op one of stat lstat statfs count chain lookup
 *                              mountroot realpath (open O_PATH + readlink of
 *                              /proc/self/fd/N + close: symlinks resolved by
 *                              the kernel in one walk) walk (the agent's count
 *                              of a watched tree: getdents64 + fstatat of
 *                              every entry, up to limit entries)
 *
 * On a syscall failure a function returns nil, message, errno.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/stat.h>

#include <lua.h>
#include <lauxlib.h>

int luaopen_benchfloor(lua_State *L);

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef __NR_statmount
#define __NR_statmount 457
#endif
#define BF_STATMOUNT_SB_BASIC  0x00000001U
#define BF_STATMOUNT_MNT_BASIC 0x00000002U
#define BF_STATMOUNT_MNT_ROOT  0x00000008U
#define BF_STATMOUNT_MNT_POINT 0x00000010U
#define BF_STATMOUNT_FS_TYPE   0x00000020U
#define BF_STATMOUNT_MNT_OPTS  0x00000080U
#define BF_STATMOUNT_SB_SOURCE 0x00000200U

struct bf_mnt_id_req {
    uint32_t size;
    uint32_t spare;
    uint64_t mnt_id;
    uint64_t param;
};

#define BF_DEPTH_MAX 64
#define BF_DIRENT_MAX 280   /* header + NAME_MAX + 1, 8-aligned */

struct bf_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int64_t bf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* count: iterative walk, at most BF_DEPTH_MAX open directories. Returns the
 * count (-1 once over limit) or -2 with errno set. */
static long bf_count(const char *path, long limit, char *buf, size_t bufsz)
{
    int fds[BF_DEPTH_MAX];
    int depth = 0;
    long n = 0;
    fds[0] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fds[0] < 0) {
        struct stat st;
        if (errno == ENOTDIR && lstat(path, &st) == 0)
            return 1;
        return -2;
    }
    depth = 1;
    while (depth > 0) {
        int fd = fds[depth - 1];
        long r = syscall(SYS_getdents64, fd, buf, bufsz);
        long off = 0;
        int descended = 0;
        if (r < 0) {
            int e = errno;
            while (depth > 0)
                close(fds[--depth]);
            errno = e;
            return -2;
        }
        if (r == 0) {
            close(fds[--depth]);
            continue;
        }
        /* Entries after a subdirectory in this buffer would be lost when
         * we descend; rewind to just after it instead (lseek to its d_off). */
        while (off < r) {
            struct bf_dirent64 *d = (struct bf_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
                (d->d_name[1] == '.' && d->d_name[2] == '\0')))
                continue;
            if (d->d_type == DT_DIR && depth < BF_DEPTH_MAX) {
                int sub = openat(fd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub >= 0) {
                    if (off < r)
                        lseek(fd, d->d_off, SEEK_SET);
                    fds[depth++] = sub;
                    descended = 1;
                    break;
                }
            }
            if (d->d_type != DT_DIR && ++n > limit) {
                while (depth > 0)
                    close(fds[--depth]);
                return -1;
            }
        }
        (void)descended;
    }
    return n;
}

/* walk: kata's agent counting a watched tree (entries and bytes) before it
 * watches it: each directory opened (openat below the top, O_NOFOLLOW),
 * read with getdents64, and each entry fstatat'ed (AT_SYMLINK_NOFOLLOW)
 * relative to it, until more than `limit` entries. At most BF_DEPTH_MAX
 * directories open. Returns the entries (limit + 1 once past it) or -2. */
static long bf_walk(const char *path, long limit, char *buf, size_t bufsz)
{
    int fds[BF_DEPTH_MAX];
    int depth = 1;
    long n = 1;
    long long bytes = 0;
    fds[0] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds[0] < 0)
        return -2;
    while (depth > 0) {
        int fd = fds[depth - 1];
        long r = syscall(SYS_getdents64, fd, buf, bufsz);
        long off = 0;
        if (r <= 0) {
            close(fds[--depth]);
            if (r < 0) {
                while (depth > 0)
                    close(fds[--depth]);
                return -2;
            }
            continue;
        }
        while (off < r) {
            struct bf_dirent64 *d = (struct bf_dirent64 *)(buf + off);
            struct stat st;
            off += d->d_reclen;
            if (d->d_name[0] == '.' && (d->d_name[1] == '\0' ||
                (d->d_name[1] == '.' && d->d_name[2] == '\0')))
                continue;
            if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            if (++n > limit) {
                while (depth > 0)
                    close(fds[--depth]);
                return n;
            }
            if (S_ISDIR(st.st_mode) && depth < BF_DEPTH_MAX) {
                int sub = openat(fd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub >= 0) {
                    if (off < r)
                        lseek(fd, d->d_off, SEEK_SET);
                    fds[depth++] = sub;
                    break;
                }
            } else {
                bytes += st.st_size;
            }
        }
    }
    (void)bytes;
    return n;
}

static int bf_chain(const char *path, char *work, size_t worksz)
{
    struct stat st, pst;
    size_t len = strlen(path);
    int steps = 0;
    if (len + 1 > worksz) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (stat(path, &st) != 0)
        return -1;
    memcpy(work, path, len + 1);
    for (;;) {
        char *slash = strrchr(work, '/');
        if (slash == NULL || (slash == work && work[1] == '\0'))
            return steps; /* reached the root */
        if (slash == work)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (lstat(work, &pst) != 0)
            return -1;
        steps++;
        if (pst.st_dev != st.st_dev)
            return steps;
    }
}

static int bf_lookup(const char *path, char *buf, size_t bufsz)
{
    struct statx stx;
    struct bf_mnt_id_req req;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &stx) != 0)
        return -1;
    memset(&req, 0, sizeof req);
    req.size = sizeof req;
    req.mnt_id = stx.stx_mnt_id;
    req.param = BF_STATMOUNT_SB_BASIC | BF_STATMOUNT_MNT_BASIC | BF_STATMOUNT_MNT_ROOT |
                BF_STATMOUNT_MNT_POINT | BF_STATMOUNT_FS_TYPE | BF_STATMOUNT_MNT_OPTS |
                BF_STATMOUNT_SB_SOURCE;
    if (syscall(__NR_statmount, &req, buf, bufsz, 0) != 0)
        return -1;
    return 0;
}

/* Whether `path` is the root of a mount (1) or not (0): one statx, as
 * the core's mount_entry begins (a plain directory needs no more); -1 on
 * failure. */
static int bf_mountroot(const char *path)
{
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE, &stx) != 0)
        return -1;
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

static int bf_reread(char *buf, size_t bufsz)
{
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    ssize_t r;
    if (fd < 0)
        return -1;
    while ((r = read(fd, buf, bufsz)) > 0)
        ;
    close(fd);
    return r < 0 ? -1 : 0;
}

static int bf_fail(lua_State *L, const char *what)
{
    int e = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(e));
    lua_pushinteger(L, e);
    return 3;
}

static size_t bf_count_bufsz(long limit)
{
    size_t n = (size_t)(limit < 0 ? 0 : limit) + 3;
    return n * BF_DIRENT_MAX;
}

static int bf_lcount(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    long limit = (long)luaL_checkinteger(L, 2);
    lua_Integer iters = luaL_checkinteger(L, 3), i;
    size_t bufsz = bf_count_bufsz(limit);
    char *buf = malloc(bufsz);
    long r = 0;
    int64_t t0, t1;
    if (buf == NULL)
        return luaL_error(L, "out of memory");
    t0 = bf_now();
    for (i = 0; i < iters; i++) {
        r = bf_count(path, limit, buf, bufsz);
        if (r == -2) {
            free(buf);
            return bf_fail(L, path);
        }
    }
    t1 = bf_now();
    free(buf);
    lua_pushinteger(L, t1 - t0);
    lua_pushinteger(L, r);
    return 2;
}

static int bf_lchain(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer iters = luaL_checkinteger(L, 2), i;
    char work[4096];
    int r = 0;
    int64_t t0 = bf_now(), t1;
    for (i = 0; i < iters; i++)
        if ((r = bf_chain(path, work, sizeof work)) < 0)
            return bf_fail(L, path);
    t1 = bf_now();
    lua_pushinteger(L, t1 - t0);
    lua_pushinteger(L, r);
    return 2;
}

static int bf_llookup(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer iters = luaL_checkinteger(L, 2), i;
    char buf[8192];
    int64_t t0 = bf_now(), t1;
    for (i = 0; i < iters; i++)
        if (bf_lookup(path, buf, sizeof buf) != 0)
            return bf_fail(L, path);
    t1 = bf_now();
    lua_pushinteger(L, t1 - t0);
    return 1;
}

static int bf_lreread(lua_State *L)
{
    lua_Integer iters = luaL_checkinteger(L, 1), i;
    static char buf[65536];
    int64_t t0 = bf_now(), t1;
    for (i = 0; i < iters; i++)
        if (bf_reread(buf, sizeof buf) != 0)
            return bf_fail(L, "/proc/self/mountinfo");
    t1 = bf_now();
    lua_pushinteger(L, t1 - t0);
    return 1;
}

enum bf_op { BF_STAT, BF_LSTAT, BF_STATFS, BF_COUNT, BF_CHAIN, BF_LOOKUP, BF_REALPATH, BF_WALK,
             BF_MOUNTROOT };

static int bf_realpath(const char *path, char *out, size_t outsz)
{
    char proc[64];
    ssize_t n;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return -1;
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    n = readlink(proc, out, outsz - 1);
    close(fd);
    if (n < 0)
        return -1;
    out[n] = '\0';
    return 0;
}

struct bf_step {
    enum bf_op op;
    const char *path;
    long limit;
};

static int bf_lops(lua_State *L)
{
    lua_Integer iters = luaL_checkinteger(L, 2), i;
    lua_Integer n, k;
    struct bf_step *steps;
    char *buf, work[4096];
    size_t bufsz = bf_count_bufsz(64) > 8192 ? bf_count_bufsz(64) : 8192;
    int64_t t0, t1;
    static const char *const names[] = {"stat", "lstat", "statfs", "count", "chain", "lookup",
                                        "realpath", "walk", "mountroot", NULL};
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (lua_Integer)luaL_len(L, 1);
    steps = lua_newuserdatauv(L, sizeof *steps * (size_t)(n > 0 ? n : 1), 0);
    for (k = 0; k < n; k++) {
        lua_geti(L, 1, k + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_geti(L, -1, 1);
        steps[k].op = (enum bf_op)luaL_checkoption(L, -1, NULL, names);
        lua_geti(L, -2, 2);
        steps[k].path = luaL_checkstring(L, -1);  /* anchored by the list */
        lua_geti(L, -3, 3);
        steps[k].limit = (long)luaL_optinteger(L, -1, 8);
        luaL_argcheck(L, steps[k].limit >= 0 && steps[k].limit <= 64, 1, "count limit must be 0..64");
        lua_pop(L, 4);
    }
    buf = lua_newuserdatauv(L, bufsz, 0);
    t0 = bf_now();
    for (i = 0; i < iters; i++) {
        for (k = 0; k < n; k++) {
            struct stat st;
            struct statfs sfs;
            const char *p = steps[k].path;
            int bad = 0;
            switch (steps[k].op) {
            case BF_STAT: bad = stat(p, &st) != 0; break;
            case BF_LSTAT: bad = lstat(p, &st) != 0; break;
            case BF_STATFS: bad = statfs(p, &sfs) != 0; break;
            case BF_COUNT: bad = bf_count(p, steps[k].limit, buf, bf_count_bufsz(steps[k].limit)) == -2; break;
            case BF_CHAIN: bad = bf_chain(p, work, sizeof work) < 0; break;
            case BF_LOOKUP: bad = bf_lookup(p, buf, bufsz) != 0; break;
            case BF_REALPATH: bad = bf_realpath(p, work, sizeof work) != 0; break;
            case BF_WALK: bad = bf_walk(p, steps[k].limit, buf, bufsz) == -2; break;
            case BF_MOUNTROOT: bad = bf_mountroot(p) < 0; break;
            }
            if (bad && errno != ENOENT)
                return bf_fail(L, p);
        }
    }
    t1 = bf_now();
    lua_pushinteger(L, t1 - t0);
    return 1;
}

static const luaL_Reg bf_funcs[] = {
    {"count", bf_lcount},
    {"chain", bf_lchain},
    {"lookup", bf_llookup},
    {"reread", bf_lreread},
    {"ops", bf_lops},
    {NULL, NULL}
};

int luaopen_benchfloor(lua_State *L)
{
    luaL_newlib(L, bf_funcs);
    return 1;
}
