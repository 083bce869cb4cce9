/*
 * count.c -- count_files: how many files a tree holds, up to a limit, with
 * the work bounded as well as the count.
 *
 * Lua functions: count_files.
 *
 * The walk has no recursion: an explicit stack of directory frames, one
 * getdents64 buffer shared by all of them (sized to what the limit still
 * allows, so that a directory of a million entries costs what one of ten
 * costs), at most KM_COUNT_OPEN_FDS_MAX descriptors open (the shallowest
 * ancestors are closed past that and reopened through ".." on the way
 * back, checked by device and inode), and every resource owned by a
 * userdata whose __gc releases it, so that no Lua error can leak a
 * descriptor or a block.
 *
 * Directories do not count toward the limit, so a tree of empty
 * directories would cost its whole size to count. The walk therefore also
 * counts its work -- each directory opened and each entry read is one unit
 * -- and stops at KM_COUNT_WORK_PER_LIMIT units per unit of (limit + 1),
 * answering -1 ("too big to watch"). This differs on purpose from the Go
 * original, which walks every directory whatever the limit.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KM_COUNT_MT "katamount.count"
/* Smallest getdents64 buffer: room for one entry of the longest name. */
#define KM_COUNT_BUF_MIN 512
/* The bytes a directory entry takes in a getdents64 buffer, at first guess
 * (the header and a short name); the guess grows with the names seen. */
#define KM_COUNT_RECSZ_FIRST 32
#define KM_COUNT_RECSZ_MAX 280

/* One directory of the walk. */
struct km_frame {
    int fd;             /* -1 while closed to respect the descriptor bound */
    int need_seek;      /* the shared buffer was reused: seek to resume */
    dev_t dev;          /* identity, checked when reopened through ".." */
    ino_t ino;
    off_t resume;       /* getdents64 position after the entry descended into */
    size_t next_read;   /* most bytes its next getdents64 asks for */
    size_t path_len;    /* its path is w->path[0..path_len) */
};

/* The state of one count_files call (a userdata). */
struct km_count {
    struct km_frame *frames;
    size_t depth, frames_cap;
    size_t lo;          /* shallowest open frame above frame 0 (depth if none) */
    int open_fds;
    int fd;             /* the top directory until its frame owns it */
    char *buf;          /* the getdents64 buffer */
    size_t bufcap;
    char *path;         /* the path of the current directory, for messages */
    size_t path_len, path_cap;
    lua_Integer work;   /* directories opened + entries read, so far */
};

static void count_release(struct km_count *w)
{
    size_t i;
    for (i = 0; i < w->depth; i++) {
        if (w->frames[i].fd >= 0)
            close(w->frames[i].fd);
    }
    if (w->fd >= 0)
        close(w->fd);
    free(w->frames);
    free(w->buf);
    free(w->path);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

static int km_count_gc(lua_State *L)
{
    count_release(luaL_checkudata(L, 1, KM_COUNT_MT));
    return 0;
}

/* A fresh count state on the stack, released by __gc if anything raises. */
static struct km_count *count_new(lua_State *L)
{
    struct km_count *w = lua_newuserdatauv(L, sizeof *w, 0);
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (luaL_newmetatable(L, KM_COUNT_MT)) {
        lua_pushcfunction(L, km_count_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return w;
}

/* The message of a tree nested deeper than KM_COUNT_DEPTH_MAX (a format
 * for km_push_error_limit). */
static const char km_count_depth_fmt[] = "directories nested deeper than KM_COUNT_DEPTH_MAX (%I)";

/* The most work units a count with this limit may spend. */
static lua_Integer work_budget(lua_Integer limit)
{
    if (limit >= LUA_MAXINTEGER / KM_COUNT_WORK_PER_LIMIT - 1)
        return LUA_MAXINTEGER;
    return (limit + 1) * KM_COUNT_WORK_PER_LIMIT;
}

/* Set the path to its first `len` bytes plus "/name" (or just name). */
static int path_join(struct km_count *w, size_t len, const char *name)
{
    size_t nl = strlen(name);
    int slash = len > 0 && w->path[len - 1] != '/';
    char *np = km_grow(w->path, &w->path_cap, len + (size_t)slash + nl + 1, 1);
    if (np == NULL)
        return ENOMEM;
    w->path = np;
    if (slash)
        w->path[len++] = '/';
    memcpy(w->path + len, name, nl + 1);
    w->path_len = len + nl;
    return 0;
}

/* Push a frame for the open directory fd (its path is w->path). */
static int push_frame(struct km_count *w, int fd)
{
    struct km_frame *f = km_grow(w->frames, &w->frames_cap, w->depth + 1, sizeof *f);
    if (f == NULL)
        return ENOMEM;
    w->frames = f;
    f = &w->frames[w->depth++];
    f->fd = fd;
    f->need_seek = 0;
    f->dev = 0;
    f->ino = 0;
    f->resume = 0;
    f->next_read = KM_COUNT_BUF_MAX;
    f->path_len = w->path_len;
    w->open_fds++;
    return 0;
}

/* Close the shallowest open ancestor (never frame 0 nor the current one),
 * noting its identity for the check when it is reopened. 0 or an errno. */
static int shed_descriptor(struct km_count *w)
{
    if (w->lo >= 1 && w->lo + 1 < w->depth && w->frames[w->lo].fd >= 0) {
        struct stat st;
        if (fstat(w->frames[w->lo].fd, &st) != 0)
            return errno;
        w->frames[w->lo].dev = st.st_dev;
        w->frames[w->lo].ino = st.st_ino;
        close(w->frames[w->lo].fd);
        w->frames[w->lo].fd = -1;
        w->open_fds--;
        w->lo++;
    }
    return 0;
}

/* Pop the current frame; reopen its parent through ".." when it had been
 * closed. 0, or an errno (*msg set for a parent that moved). */
static int pop_frame(struct km_count *w, const char **msg)
{
    struct km_frame *c = &w->frames[w->depth - 1];
    if (w->depth >= 2) {
        struct km_frame *p = &w->frames[w->depth - 2];
        if (p->fd < 0) {
            struct stat st;
            int fd = openat(c->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return errno;
            if (fstat(fd, &st) != 0) {
                int err = errno;
                close(fd);
                return err;
            }
            if (st.st_dev != p->dev || st.st_ino != p->ino) {
                close(fd);
                *msg = "directory moved during the count";
                return ESTALE;
            }
            p->fd = fd;
            p->need_seek = 1;
            w->open_fds++;
            w->lo = w->depth - 2;
        }
        w->path_len = p->path_len;
    }
    close(c->fd);
    c->fd = -1;
    w->open_fds--;
    w->depth--;
    if (w->lo > w->depth)
        w->lo = w->depth;
    return 0;
}

/* How many bytes to ask getdents64 for: enough for what the limit still
 * allows (plus "." and ".." and one more), no more. */
static size_t want_bytes(lua_Integer remaining, size_t recsz)
{
    size_t want;
    if (remaining > KM_COUNT_BUF_MAX)
        return KM_COUNT_BUF_MAX;
    want = ((size_t)remaining + 3) * recsz;
    if (want < KM_COUNT_BUF_MIN)
        want = KM_COUNT_BUF_MIN;
    if (want > KM_COUNT_BUF_MAX)
        want = KM_COUNT_BUF_MAX;
    return want;
}

/* The errno of a failed read of directory `fd`: a directory removed during
 * the count is ENOENT (lseek to a saved offset of a removed ext4 directory
 * reports EINVAL, which would name the wrong cause). */
static int read_errno(int fd, int err)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_nlink == 0)
        return ENOENT;
    return err;
}

/*
 * The count itself: no Lua calls. Returns 0 with *out set (0..limit or
 * -1), or an errno with *errlen (the failing path is w->path[0..*errlen))
 * and maybe *msg (a message in place of strerror).
 */
static int walk_count(struct km_count *w, const char *top, size_t toplen,
                      lua_Integer limit, lua_Integer *out, size_t *errlen,
                      const char **msg)
{
    lua_Integer count = 0, budget = work_budget(limit);
    size_t bpos = 0, bend = 0, recsz = KM_COUNT_RECSZ_FIRST;
    int fd, err;

    w->path = malloc(toplen + 1);
    if (w->path == NULL)
        return ENOMEM;
    w->path_cap = toplen + 1;
    memcpy(w->path, top, toplen);
    w->path[toplen] = '\0';
    w->path_len = toplen;
    *errlen = toplen;
    w->bufcap = want_bytes(limit, recsz);
    w->buf = malloc(w->bufcap);
    if (w->buf == NULL)
        return ENOMEM;
    /* the top directory, opened by the caller: the frame owns it now */
    fd = w->fd;
    if (push_frame(w, fd) != 0)
        return ENOMEM;                      /* w->fd still closes it */
    w->fd = -1;
    w->lo = 1;
    w->work = 1;

    while (w->depth > 0) {
        struct km_frame *f = &w->frames[w->depth - 1];
        const struct km_dirent64 *d;
        unsigned char type;
        int cfd;

        if (bpos >= bend) {
            size_t want = want_bytes(limit - count, recsz), nrec = 0, p;
            /* back from a sub-directory, the entries already read are read
             * again: start small and double while no sub-directory comes */
            if (want > f->next_read)
                want = f->next_read;
            f->next_read = f->next_read >= KM_COUNT_BUF_MAX / 2 ? KM_COUNT_BUF_MAX : f->next_read * 2;
            long n;
            if (want > w->bufcap) {
                char *nb = realloc(w->buf, want);
                if (nb == NULL)
                    return ENOMEM;
                w->buf = nb;
                w->bufcap = want;
            }
            if (f->need_seek) {
                if (lseek(f->fd, f->resume, SEEK_SET) < 0) {
                    *errlen = f->path_len;
                    return read_errno(f->fd, errno);
                }
                f->need_seek = 0;
            }
            n = km_getdents(f->fd, w->buf, want);
            if (n < 0) {
                *errlen = f->path_len;
                return read_errno(f->fd, errno);
            }
            if (n == 0) {
                err = pop_frame(w, msg);
                if (err != 0) {
                    *errlen = w->depth >= 2 ? w->frames[w->depth - 2].path_len : toplen;
                    return err;
                }
                bpos = bend = 0;
                continue;
            }
            bpos = 0;
            bend = (size_t)n;
            /* long names: ask for more bytes per entry next time */
            for (p = 0; p < bend; nrec++) {
                d = km_dirent_at(w->buf, p, bend);
                if (d == NULL)
                    break;
                p += d->d_reclen;
            }
            if (nrec > 0 && bend / nrec > recsz)
                recsz = bend / nrec > KM_COUNT_RECSZ_MAX ? KM_COUNT_RECSZ_MAX : bend / nrec;
        }
        d = km_dirent_at(w->buf, bpos, bend);
        if (d == NULL) {
            *errlen = f->path_len;
            return EIO;
        }
        bpos += d->d_reclen;
        if (km_is_dot(d->d_name))
            continue;
        if (++w->work > budget) {
            *out = -1;                      /* too big to watch */
            return 0;
        }
        type = d->d_type;
        if (type == DT_UNKNOWN) {
            struct stat est;
            if (fstatat(f->fd, d->d_name, &est, AT_SYMLINK_NOFOLLOW) != 0) {
                err = errno;
                if (err == ENOENT)
                    continue;               /* gone since it was listed */
                if (path_join(w, f->path_len, d->d_name) == 0)
                    *errlen = w->path_len;
                return err;
            }
            type = S_ISDIR(est.st_mode) ? DT_DIR : DT_REG;
        }
        if (type != DT_DIR) {
            if (++count > limit) {
                *out = -1;
                return 0;
            }
            continue;
        }
        /* a sub-directory: count what it holds */
        if (w->depth >= KM_COUNT_DEPTH_MAX) {
            *msg = km_count_depth_fmt;
            *errlen = toplen;
            return ELOOP;
        }
        if (path_join(w, f->path_len, d->d_name) != 0)
            return ENOMEM;
        if (w->open_fds >= KM_COUNT_OPEN_FDS_MAX && (err = shed_descriptor(w)) != 0) {
            *errlen = w->frames[w->lo].path_len;
            return err;
        }
        cfd = openat(f->fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            err = errno;
            w->path_len = f->path_len;
            if (err == ENOENT)
                continue;                   /* gone since it was listed */
            if (err == ENOTDIR || err == ELOOP) {
                /* replaced by a file or a symlink since it was listed */
                if (++count > limit) {
                    *out = -1;
                    return 0;
                }
                continue;
            }
            path_join(w, f->path_len, d->d_name);
            *errlen = w->path_len;
            return err;
        }
        /* back from it, read on after this entry: a seek only when the
         * block holds entries after it (else the directory's position is
         * there already: getdents64 leaves it after the last entry given) */
        f->resume = (off_t)d->d_off;
        f->need_seek = bpos < bend;
        f->next_read = KM_COUNT_BUF_MIN;
        if (push_frame(w, cfd) != 0) {
            close(cfd);
            return ENOMEM;
        }
        if (++w->work > budget) {
            *out = -1;
            return 0;
        }
        bpos = bend = 0;
    }
    *out = count;
    return 0;
}

/***
 * How many files a path holds, up to a limit. A non-directory counts 1; a
 * directory counts every entry below it, a sub-directory counting what it
 * holds (not itself); symlinks count 1, never followed. The work is bounded
 * too: past KM_COUNT_WORK_PER_LIMIT x (limit + 1) directories opened and
 * entries read the answer is -1, as past the limit (unlike the Go
 * original, which walks every directory).
 * @function count_files
 * @tparam string path
 * @tparam integer limit not negative
 * @treturn[1] integer 0..limit, or -1 ("too big to watch") past the limit
 *   or the work budget
 * @return[2] nil, message, errno (ELOOP past KM_COUNT_DEPTH_MAX levels,
 *   ESTALE for a directory moved during the count)
 */
static int km_count_files(lua_State *L)
{
    size_t len, errlen = 0;
    const char *path = km_check_path(L, 1, &len);
    const char *msg = NULL;
    lua_Integer limit, count = 0;
    struct stat st;
    struct km_count *w;
    int err;

    if (path == NULL) {
        luaL_checkinteger(L, 2);
        return km_push_path_error(L, "count_files", 1);
    }
    limit = luaL_checkinteger(L, 2);
    luaL_argcheck(L, limit >= 0, 2, "limit must not be negative");
    w = count_new(L);
    /* open first, stat only when it is not a directory: one syscall less
     * on the common path (symlinks followed, as stat does) */
    w->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->fd < 0) {
        err = errno;
        count_release(w);
        if (err == ENOTDIR) {
            if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
                lua_pushinteger(L, 1 > limit ? -1 : 1);
                return 1;
            }
        }
        return km_push_error(L, "count_files", path, len, err);
    }
    err = walk_count(w, path, len, limit, &count, &errlen, &msg);
    if (err != 0) {
        if (msg == km_count_depth_fmt)
            km_push_error_limit(L, "count_files", w->path, errlen, msg,
                                (lua_Integer)KM_COUNT_DEPTH_MAX, err);
        else if (msg != NULL)
            km_push_error_msg(L, "count_files", w->path, errlen, msg, err);
        else
            km_push_error(L, "count_files", w->path, errlen, err);
        count_release(w);
        return 3;
    }
    count_release(w);
    lua_pushinteger(L, count);
    return 1;
}

const luaL_Reg km_count_funcs[] = {
    {"count_files", km_count_files},
    {NULL, NULL}
};
