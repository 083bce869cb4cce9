/*
 * rulefiles.c -- reading a rules directory through descriptors, and the
 * one process setting the command needs (SIGPIPE ignored).
 *
 * Lua functions: read_rules_dir, ignore_sigpipe.
 *
 * read_rules_dir opens the directory once and reads every rule file from
 * that descriptor (openat, O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), judging
 * owner, mode, type and size with fstat on the descriptor it then reads:
 * nothing is looked up twice by path, a FIFO or device is refused without
 * blocking, a symbolic link is refused without being read. The directory's
 * listing and status are compared before and after the files are read; a
 * directory that changed meanwhile is read again (KM_RULE_DIR_TRIES times
 * at most), so that a caller never gets a set mixing two versions. The
 * listing is rulelisting.c's, the owner, mode and directory-chain checks
 * ruletrust.c's.
 */
#include "katamount.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KM_RULEDIR_MT "katamount.rulesdir"

/* Room for a message naming a path. */
#define KM_RULE_MSG_CAP (KM_RULE_PATH_CAP + 256)

/* The state of one read_rules_dir call (a userdata: __gc closes and frees
 * what an error raised by the Lua API left open). */
struct km_rdir {
    int dirfd;          /* the rules directory */
    int upfd;           /* a directory above it, while the chain is checked */
    int fd;             /* the rule file being read */
    char *text;         /* its bytes */
    struct km_listing before, after;
    char path[KM_RULE_PATH_CAP];
    char msg[KM_RULE_MSG_CAP];
};

static void rdir_release(struct km_rdir *r)
{
    if (r->dirfd >= 0)
        close(r->dirfd);
    if (r->upfd >= 0)
        close(r->upfd);
    if (r->fd >= 0)
        close(r->fd);
    free(r->text);
    r->dirfd = r->upfd = r->fd = -1;
    r->text = NULL;
    km_listing_free(&r->before);
    km_listing_free(&r->after);
}

static int km_rdir_gc(lua_State *L)
{
    rdir_release(luaL_checkudata(L, 1, KM_RULEDIR_MT));
    return 0;
}

static struct km_rdir *rdir_new(lua_State *L)
{
    struct km_rdir *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    r->dirfd = r->upfd = r->fd = -1;
    if (luaL_newmetatable(L, KM_RULEDIR_MT)) {
        lua_pushcfunction(L, km_rdir_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return r;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The same file, unchanged (inode, size, mtime, ctime). */
static int same_status(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           same_time(&a->st_mtim, &b->st_mtim) && same_time(&a->st_ctim, &b->st_ctim);
}

/* Why a name is skipped (hidden or an editor's file), or NULL. */
static const char *skipped(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.' && name[1] == '#')
        return "an editor lock file";
    if (name[0] == '.')
        return "a hidden file";
    if (name[n - 1] == '~')
        return "an editor backup file";
    if (n >= 2 && name[0] == '#' && name[n - 1] == '#')
        return "an editor autosave file";
    return NULL;
}

static const char *type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR: return "a directory";
    case S_IFLNK: return "a symbolic link";
    case S_IFBLK: return "a block device";
    case S_IFCHR: return "a character device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

/* Outcomes of one reading of the directory. */
enum { KM_READ_OK, KM_READ_FAILED, KM_READ_CHANGED };

/* Push the failure triple for the file r->path: `<msg>` with errno err. */
static int file_error(lua_State *L, struct km_rdir *r, const char *msg, int err)
{
    km_push_error_msg(L, "rules file", r->path, strlen(r->path), msg, err);
    return KM_READ_FAILED;
}

/* Judge and read one rule file `name` of the directory (its path in
 * r->path) and push its table; KM_READ_OK, KM_READ_CHANGED, or
 * KM_READ_FAILED with the failure triple pushed. */
static int read_one(lua_State *L, struct km_rdir *r, const char *name, lua_Integer max,
                    int check, lua_Integer *total, int default_max)
{
    struct stat st, fst, after;
    const char *bad;
    char why[160];
    size_t got = 0, want;
    int n;

    if (fstatat(r->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return KM_READ_CHANGED;
        return file_error(L, r, strerror(errno), errno);
    }
    if (S_ISLNK(st.st_mode))
        return file_error(L, r, "a symbolic link: refused (rule files are read only as regular files)",
                          ELOOP);
    if (!S_ISREG(st.st_mode)) {
        n = snprintf(r->msg, sizeof r->msg, "%s, not a regular file: refused", type_name(st.st_mode));
        return file_error(L, r, n > 0 && (size_t)n < sizeof r->msg ? r->msg : "not a regular file",
                          S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
    }
    r->fd = openat(r->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (r->fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            return KM_READ_CHANGED;     /* removed, or made a link, since fstatat */
        return file_error(L, r, strerror(errno), errno);
    }
    if (fstat(r->fd, &fst) != 0)
        return file_error(L, r, strerror(errno), errno);
    if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
        return KM_READ_CHANGED;
    if (!S_ISREG(fst.st_mode))
        return file_error(L, r, "not a regular file: refused", EINVAL);
    if (check) {
        bad = km_rule_untrusted(&fst, geteuid(), 0, why, sizeof why);
        if (bad != NULL) {
            n = snprintf(r->msg, sizeof r->msg, "%s: refused", bad);
            return file_error(L, r, n > 0 && (size_t)n < sizeof r->msg ? r->msg : "refused", EPERM);
        }
    }
    if (fst.st_size > max) {
        if (default_max)
            n = snprintf(r->msg, sizeof r->msg,
                         "%lld bytes, larger than KM_RULE_FILE_MAX (%d bytes): refused",
                         (long long)fst.st_size, KM_RULE_FILE_MAX);
        else
            n = snprintf(r->msg, sizeof r->msg, "%lld bytes, larger than the limit of %lld bytes: refused",
                         (long long)fst.st_size, (long long)max);
        return file_error(L, r, n > 0 && (size_t)n < sizeof r->msg ? r->msg : "too large: refused",
                          EFBIG);
    }
    if (*total + fst.st_size > KM_RULE_DIR_BYTES_MAX) {
        n = snprintf(r->msg, sizeof r->msg,
                     "the directory's rule files exceed KM_RULE_DIR_BYTES_MAX (%d bytes) together: refused",
                     KM_RULE_DIR_BYTES_MAX);
        return file_error(L, r, n > 0 && (size_t)n < sizeof r->msg ? r->msg : "too large: refused",
                          EFBIG);
    }
    /* one byte more than fstat said: a file that grew is seen to have */
    want = (size_t)fst.st_size + 1;
    r->text = malloc(want);
    if (r->text == NULL)
        return file_error(L, r, strerror(ENOMEM), ENOMEM);
    while (got < want) {
        ssize_t k = read(r->fd, r->text + got, want - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return file_error(L, r, strerror(errno), errno);
        if (k == 0)
            break;
        got += (size_t)k;
    }
    if (fstat(r->fd, &after) != 0)
        return file_error(L, r, strerror(errno), errno);
    close(r->fd);
    r->fd = -1;
    if (got != (size_t)fst.st_size || !same_status(&fst, &after)) {
        free(r->text);
        r->text = NULL;
        return KM_READ_CHANGED;     /* written to while read */
    }
    *total += fst.st_size;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, r->path);
    lua_setfield(L, -2, "path");
    lua_pushlstring(L, r->text, got);
    lua_setfield(L, -2, "text");
    free(r->text);
    r->text = NULL;
    return KM_READ_OK;
}

/* r->path = "<dir>/<name>"; 0 or ENAMETOOLONG. */
static int join(struct km_rdir *r, const char *dir, size_t len, const char *name)
{
    int n = snprintf(r->path, sizeof r->path, "%s%s%s", dir,
                     len > 0 && dir[len - 1] == '/' ? "" : "/", name);
    return n < 0 || (size_t)n >= sizeof r->path ? ENAMETOOLONG : 0;
}

/* Read the directory once: on KM_READ_OK the files and warnings tables are
 * pushed; on KM_READ_FAILED the failure triple; nothing on KM_READ_CHANGED. */
static int read_once(lua_State *L, struct km_rdir *r, const char *dir, size_t len,
                     lua_Integer max, int check, int default_max)
{
    struct stat d0, d1;
    lua_Integer total = 0;
    int files, warnings, err, rc;
    size_t i;

    err = fstat(r->dirfd, &d0) != 0 ? errno : km_list_dir_fd(r->dirfd, &r->before);
    if (err != 0) {
        if (err == E2BIG)
            km_push_error_msg(L, "rules directory", dir, len,
                              "more than KM_RULE_DIR_ENTRIES_MAX (" KM_STR(KM_RULE_DIR_ENTRIES_MAX)
                              ") entries", err);
        else
            km_push_error(L, "rules directory", dir, len, err);
        return KM_READ_FAILED;
    }
    lua_newtable(L);
    files = lua_gettop(L);
    lua_newtable(L);
    warnings = lua_gettop(L);
    for (i = 0; i < r->before.n; i++) {
        const char *name = r->before.sorted[i];
        size_t nl = strlen(name);
        const char *why = skipped(name);
        if (join(r, dir, len, name) != 0) {
            lua_settop(L, files - 1);
            km_push_error(L, "rules file", name, nl, ENAMETOOLONG);
            return KM_READ_FAILED;
        }
        if (why != NULL) {
            lua_createtable(L, 0, 3);
            lua_pushstring(L, r->path);
            lua_setfield(L, -2, "file");
            lua_pushliteral(L, "skipped");
            lua_setfield(L, -2, "what");
            lua_pushstring(L, why);
            lua_setfield(L, -2, "why");
            lua_rawseti(L, warnings, (lua_Integer)lua_rawlen(L, warnings) + 1);
            continue;
        }
        if (nl <= 4 || strcmp(name + nl - 4, ".lua") != 0)
            continue;
        rc = read_one(L, r, name, max, check, &total, default_max);
        if (rc == KM_READ_FAILED) {
            lua_rotate(L, files, 3);   /* the triple below the two tables */
            lua_settop(L, files + 2);
            return KM_READ_FAILED;
        }
        if (r->fd >= 0) {
            close(r->fd);
            r->fd = -1;
        }
        if (rc == KM_READ_CHANGED) {
            lua_settop(L, files - 1);
            return KM_READ_CHANGED;
        }
        lua_rawseti(L, files, (lua_Integer)lua_rawlen(L, files) + 1);
    }
    if (fstat(r->dirfd, &d1) != 0 || km_list_dir_fd(r->dirfd, &r->after) != 0 ||
        !same_time(&d0.st_mtim, &d1.st_mtim) || !same_time(&d0.st_ctim, &d1.st_ctim) ||
        d0.st_ino != d1.st_ino || !km_same_listing(&r->before, &r->after)) {
        lua_settop(L, files - 1);
        return KM_READ_CHANGED;
    }
    return KM_READ_OK;
}

/*** @submodule katamount.core */

/*** read_rules_dir(path [, max_file_bytes [, check]]) -> files, warnings
 * The rule files (`*.lua`, sorted by name) of directory `path`, read
 * through descriptors: `files` is `{ {name=, path=, text=}, ... }`,
 * `warnings` is `{ {file=, what="skipped", why=}, ... }` for each hidden
 * or editor file left out. Refused (nil, message, errno): a path that is a
 * symbolic link or no directory; a rule file that is a symbolic link, not
 * a regular file, or larger than max_file_bytes (default KM_RULE_FILE_MAX);
 * with `check` (default true), a directory (it or any above it, up to /)
 * or file owned by anyone but root or the effective user, or group- or
 * world-writable (sticky directories owned by root allowed above it); a
 * directory that kept changing while it was read (EAGAIN). */
static int km_read_rules_dir(lua_State *L)
{
    size_t len;
    const char *path = km_check_path(L, 1, &len);
    lua_Integer max = luaL_optinteger(L, 2, KM_RULE_FILE_MAX);
    int check = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    int default_max = lua_isnoneornil(L, 2);
    struct km_rdir *r;
    struct stat st;
    int base, err, tries, rc;

    luaL_argcheck(L, max >= 0, 2, "max_file_bytes must not be negative");
    if (path == NULL)
        return km_push_path_error(L, "rules directory", 1);
    lua_settop(L, 3);
    r = rdir_new(L);
    base = lua_gettop(L);
    r->dirfd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (r->dirfd < 0) {
        err = errno;
        if (err == ELOOP || (err == ENOTDIR && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                             S_ISLNK(st.st_mode)))
            return km_push_error_msg(L, "rules directory", path, len,
                                     "a symbolic link: refused (name the directory itself)", ELOOP);
        return km_push_error(L, "rules directory", path, len, err);
    }
    if (fstat(r->dirfd, &st) != 0) {
        err = errno;
        rdir_release(r);
        return km_push_error(L, "rules directory", path, len, err);
    }
    if (check && (err = km_rule_check_chain(r->dirfd, &r->upfd, &st, r->msg, sizeof r->msg)) != 0) {
        rdir_release(r);
        return km_push_error_msg(L, "rules directory", path, len, r->msg, err);
    }
    for (tries = 0; tries < KM_RULE_DIR_TRIES; tries++) {
        lua_settop(L, base);
        rc = read_once(L, r, path, len, max, check, default_max);
        if (rc == KM_READ_OK) {
            rdir_release(r);
            return 2;
        }
        if (rc == KM_READ_FAILED) {
            rdir_release(r);
            return 3;
        }
    }
    rdir_release(r);
    lua_settop(L, base);
    return km_push_error_msg(L, "rules directory", path, len,
                             "changed while it was read, KM_RULE_DIR_TRIES ("
                             KM_STR(KM_RULE_DIR_TRIES) ") times: try again", EAGAIN);
}

/*** ignore_sigpipe() -> true
 * Ignore SIGPIPE, so that a write to a closed pipe fails with EPIPE (and
 * the command can say so) instead of killing the process silently. */
static int km_ignore_sigpipe(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        int err = errno;
        return km_push_error(L, "ignore_sigpipe", NULL, 0, err);
    }
    lua_pushboolean(L, 1);
    return 1;
}

const luaL_Reg km_rulefiles_funcs[] = {
    {"read_rules_dir", km_read_rules_dir},
    {"ignore_sigpipe", km_ignore_sigpipe},
    {NULL, NULL}
};
