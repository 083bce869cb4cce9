/*
 * treesize.c -- tree_size: the entries and bytes of a tree as kata's agent
 * counts them before it watches a volume, stopped at the first limit
 * passed.
 *
 * Lua functions: tree_size.
 *
 * The walk has no recursion: a stack of the directories still to read
 * (their paths end to end in one block), the top and one directory below
 * it open at a time, each entry judged with fstatat(AT_SYMLINK_NOFOLLOW)
 * relative to its directory and each directory below the top opened
 * relative to the top's descriptor with no symlink followed anywhere on the
 * way (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; where the kernel
 * lacks it, one openat(O_NOFOLLOW) per component), so that no link is ever
 * followed: a directory above swapped for a link (rename(2)'s
 * RENAME_EXCHANGE) fails the walk with ELOOP, never leads it out of the
 * tree. A directory is read for at most the
 * entries still allowed plus one, so a directory of a million entries
 * costs what the limit allows, and its names are sorted so that the
 * answer does not depend on the file system's order. Nothing of the Lua
 * API runs while the walk holds memory or a descriptor.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
/* KM_TREE_NO_OPENAT2: walk component by component even where openat2
 * exists (make asan builds so, so that the suite runs both ways). */
#if defined(SYS_openat2) && !defined(KM_TREE_NO_OPENAT2)
#define KM_TREE_OPENAT2 1
#include <linux/openat2.h>
#endif

/* Largest max_entries tree_size accepts: it bounds the walk's work and its
 * memory (at most this many directory paths of KM_PATH_MAX bytes). */
#define KM_TREE_ENTRIES_MAX 4096

/* The getdents64 buffer: room for the entries a directory may still add
 * (and the one past them, and "." and "..") at the largest record each,
 * between KM_TREE_BUF_MIN and KM_COUNT_BUF_MAX bytes: a small limit reads
 * with a small block (a 64 KiB one per call cost more to allocate and free
 * than the walk of a configmap). */
#define KM_TREE_RECSZ_MAX 280
#define KM_TREE_BUF_MIN 4096
/* A block up to this size is on the C stack, as the walk's state is: the
 * common limits (the agent's 16 entries: 5,320 bytes) then allocate
 * nothing larger than a path (a malloc of a few KiB per call made glibc
 * consolidate its free lists each time). */
#define KM_TREE_BUF_STACK 8192

enum { KM_TREE_WITHIN, KM_TREE_ENTRIES, KM_TREE_BYTES };

struct km_tree {
    lua_Integer max_entries, max_bytes;
    lua_Integer entries, bytes;
    char *stack;            /* pending directories: NUL-terminated paths */
    size_t stack_len, stack_cap;
    size_t *tops;           /* where each pending path starts */
    size_t ntops, tops_cap;
    char *buf;              /* the getdents64 buffer, of bufsz bytes */
    size_t bufsz;
    int buf_allocated;      /* buf was malloc'd (else it is on the stack) */
    struct km_names names;  /* one directory's names, sorted */
    char cur[KM_PATH_MAX + 1];      /* the directory being read */
    size_t cur_len;
    char err_path[KM_PATH_MAX + 1]; /* what failed */
    size_t err_len;
};

static void tree_free(struct km_tree *t)
{
    free(t->stack);
    free(t->tops);
    if (t->buf_allocated)
        free(t->buf);
    km_names_free(&t->names);
}

/* Push dir/name (name NULL: dir alone) on the pending stack; 0 or errno. */
static int push_dir(struct km_tree *t, const char *dir, size_t dlen, const char *name)
{
    size_t nlen = name != NULL ? strlen(name) + 1 : 0, need = dlen + nlen + 1;
    char *stack;
    size_t *tops;
    if (dlen + nlen > KM_PATH_MAX)
        return ENAMETOOLONG;
    stack = km_grow(t->stack, &t->stack_cap, t->stack_len + need, 1);
    if (stack == NULL)
        return ENOMEM;
    t->stack = stack;
    tops = km_grow(t->tops, &t->tops_cap, t->ntops + 1, sizeof *tops);
    if (tops == NULL)
        return ENOMEM;
    t->tops = tops;
    t->tops[t->ntops++] = t->stack_len;
    memcpy(t->stack + t->stack_len, dir, dlen);
    if (name != NULL) {
        t->stack[t->stack_len + dlen] = '/';
        memcpy(t->stack + t->stack_len + dlen + 1, name, nlen - 1);
    }
    t->stack[t->stack_len + dlen + nlen] = '\0';
    t->stack_len += need;
    return 0;
}

/* Pop the last pending directory into t->cur. */
static void pop_dir(struct km_tree *t)
{
    size_t at = t->tops[--t->ntops];
    t->cur_len = t->stack_len - at - 1;
    memcpy(t->cur, t->stack + at, t->cur_len + 1);
    t->stack_len = at;
}

/* Remember dir[/name] as what failed. */
static void failed_at(struct km_tree *t, const char *name)
{
    size_t nlen = name != NULL ? strlen(name) : 0;
    memcpy(t->err_path, t->cur, t->cur_len);
    t->err_len = t->cur_len;
    if (name != NULL && t->cur_len + 1 + nlen <= KM_PATH_MAX) {
        t->err_path[t->err_len++] = '/';
        memcpy(t->err_path + t->err_len, name, nlen);
        t->err_len += nlen;
    }
    t->err_path[t->err_len] = '\0';
}

/* Judge one directory's entries; *res set when a limit is passed. */
static int judge_entries(struct km_tree *t, int fd, int *res)
{
    size_t i;
    for (i = 0; i < t->names.noffs; i++) {
        struct stat st;
        const char *name = t->names.sorted[i];
        int err;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            err = errno;
            failed_at(t, name);
            return err;
        }
        if (++t->entries > t->max_entries) {
            *res = KM_TREE_ENTRIES;
            return 0;
        }
        if (S_ISDIR(st.st_mode)) {
            err = push_dir(t, t->cur, t->cur_len, name);
            if (err != 0) {
                failed_at(t, name);
                return err;
            }
        } else {
            if (st.st_size > t->max_bytes - t->bytes) {
                t->bytes = st.st_size > LUA_MAXINTEGER - t->bytes ? LUA_MAXINTEGER
                                                                  : t->bytes + st.st_size;
                *res = KM_TREE_BYTES;
                return 0;
            }
            t->bytes += st.st_size;
        }
    }
    return 0;
}

#define KM_TREE_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Open the directory `rel` (a relative path, names joined by "/") below
 * the directory `top`, one openat(O_NOFOLLOW) per component: no link
 * followed on the way. A descriptor, or -1 with errno. */
static int open_components(int top, char *rel)
{
    int dir = top;
    char *name = rel;
    for (;;) {
        char *slash = strchr(name, '/');
        int fd, err;
        if (slash != NULL)
            *slash = '\0';
        fd = openat(dir, name, KM_TREE_DIR_FLAGS);
        err = errno;
        if (slash != NULL)
            *slash = '/';
        if (dir != top)
            close(dir);
        if (fd < 0 || slash == NULL) {
            errno = err;
            return fd;
        }
        dir = fd;
        name = slash + 1;
    }
}

/* Open the directory `rel` below the directory `top`, never through a
 * link nor out of `top`: openat2 where the kernel has it (one call),
 * else component by component. A descriptor, or -1 with errno (ELOOP for
 * a link met on the way). */
static int open_below(int top, char *rel, int *no_openat2)
{
#ifdef KM_TREE_OPENAT2
    if (!*no_openat2) {
        struct open_how how;
        long fd;
        memset(&how, 0, sizeof how);
        how.flags = KM_TREE_DIR_FLAGS;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
        fd = syscall(SYS_openat2, top, rel, &how, sizeof how);
        if (fd >= 0 || errno != ENOSYS)
            return (int)fd;
        *no_openat2 = 1;    /* asked once per walk, not once per directory */
    }
#else
    (void)no_openat2;
#endif
    return open_components(top, rel);
}

/* The walk from t->cur (the top, already on the stack); 0 or an errno
 * (t->err_path names what failed). */
static int walk(struct km_tree *t, int *res)
{
    int top = -1, err = 0, no_openat2 = 0;
    size_t top_len = 0;
    *res = KM_TREE_WITHIN;
    if (t->buf == NULL) {
        t->buf = malloc(t->bufsz);
        if (t->buf == NULL)
            return ENOMEM;
        t->buf_allocated = 1;
    }
    while (err == 0 && t->ntops > 0 && *res == KM_TREE_WITHIN) {
        int fd, over;
        pop_dir(t);
        if (top < 0) {
            /* the top may be reached through a link, as the agent's path is */
            fd = open(t->cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            top = fd;
            top_len = t->cur_len;
        } else {
            /* below it: t->cur is the top's path, "/", the path below */
            fd = open_below(top, t->cur + top_len + 1, &no_openat2);
        }
        if (fd < 0) {
            err = errno;
            failed_at(t, NULL);
            break;
        }
        /* at most the entries still allowed and one more */
        err = km_names_read(fd, t->buf, t->bufsz, (size_t)(t->max_entries - t->entries) + 1,
                            &t->names, &over);
        if (err == 0 && over) {
            t->entries = t->max_entries + 1;
            *res = KM_TREE_ENTRIES;
        } else if (err == 0) {
            err = judge_entries(t, fd, res);
        } else {
            failed_at(t, NULL);
        }
        if (fd != top)
            close(fd);
    }
    if (top >= 0)
        close(top);
    return err;
}

/***
 * The entries and bytes of the tree at `path`, as kata's agent counts them
 * before it watches a volume (src/agent/src/watcher.rs): the top directory
 * and every entry below it are entries; files, links (their own length)
 * and anything not a directory add their size; links are never followed
 * (the top may be one). The walk stops at the first limit passed, so its
 * work is bounded by `max_entries` (at most KM_TREE_ENTRIES_MAX).
 * @function tree_size
 * @tparam string path a directory
 * @tparam integer max_entries
 * @tparam integer max_bytes
 * @treturn[1] integer entries counted (`max_entries + 1` when passed)
 * @treturn[1] integer bytes counted
 * @treturn[1] ?string the limit passed, `"entries"` or `"bytes"`; nil
 *   when the tree is within both
 * @return[2] nil, message naming the entry that failed, errno
 */
static int km_tree_size(lua_State *L)
{
    static const char what[] = "tree_size";
    size_t len;
    const char *path = km_check_path(L, 1, &len);
    struct km_tree tree, *t = &tree;
    char block[KM_TREE_BUF_STACK];
    int err, res = KM_TREE_WITHIN;

    lua_Integer max_entries = luaL_checkinteger(L, 2);
    lua_Integer max_bytes = luaL_checkinteger(L, 3);
    luaL_argcheck(L, max_entries >= 1 && max_entries <= KM_TREE_ENTRIES_MAX, 2,
                  "out of range (1 to KM_TREE_ENTRIES_MAX, " KM_STR(KM_TREE_ENTRIES_MAX) ")");
    luaL_argcheck(L, max_bytes >= 0, 3, "must not be negative");
    if (path == NULL)
        return km_push_path_error(L, what, 1);
    /* on the stack, not zeroed as a whole: cur and err_path (2 x
     * KM_PATH_MAX bytes) are written before they are read */
    t->max_entries = max_entries;
    t->max_bytes = max_bytes;
    t->entries = 1;
    t->bytes = 0;
    t->stack = NULL;
    t->stack_len = t->stack_cap = 0;
    t->tops = NULL;
    t->ntops = t->tops_cap = 0;
    t->bufsz = ((size_t)max_entries + 3) * KM_TREE_RECSZ_MAX;
    if (t->bufsz < KM_TREE_BUF_MIN)
        t->bufsz = KM_TREE_BUF_MIN;
    if (t->bufsz > KM_COUNT_BUF_MAX)
        t->bufsz = KM_COUNT_BUF_MAX;
    t->buf = t->bufsz <= sizeof block ? block : NULL;     /* else walk allocates it */
    t->buf_allocated = 0;
    memset(&t->names, 0, sizeof t->names);
    t->cur_len = 0;
    t->err_len = 0;
    err = push_dir(t, path, len, NULL);
    if (err == 0) {
        err = walk(t, &res);
    } else {
        memcpy(t->err_path, path, len + 1);
        t->err_len = len;
    }
    tree_free(t);
    if (err != 0)
        return km_push_error(L, what, t->err_path, t->err_len, err);
    lua_pushinteger(L, t->entries);
    lua_pushinteger(L, t->bytes);
    if (res == KM_TREE_ENTRIES)
        lua_pushliteral(L, "entries");
    else if (res == KM_TREE_BYTES)
        lua_pushliteral(L, "bytes");
    else
        lua_pushnil(L);
    return 3;
}

const luaL_Reg km_treesize_funcs[] = {
    {"tree_size", km_tree_size},
    {NULL, NULL}
};
