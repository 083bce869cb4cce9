/*
 * listdir.c -- list_dir: the sorted names of one directory, bounded by
 * KM_LIST_DIR_MAX entries.
 *
 * Lua functions: list_dir.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KM_LIST_MT "katamount.list_dir"

/* The state of one list_dir call (a userdata, so that a Lua error cannot
 * leak the descriptor or the blocks). */
struct km_list {
    int fd;             /* the directory */
    char *buf;          /* the getdents64 buffer (KM_COUNT_BUF_MAX bytes) */
    char *names;        /* the names, NUL-terminated, end to end */
    size_t names_len, names_cap;
    size_t *offs;       /* where each name starts */
    size_t noffs, offs_cap;
    const char **sorted;
};

static void list_release(struct km_list *w)
{
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    free(w->names);
    free(w->offs);
    free(w->sorted);
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

static int km_list_gc(lua_State *L)
{
    list_release(luaL_checkudata(L, 1, KM_LIST_MT));
    return 0;
}

/* A fresh list state on the stack, released by __gc if anything raises. */
static struct km_list *list_new(lua_State *L)
{
    struct km_list *w = lua_newuserdatauv(L, sizeof *w, 0);
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (luaL_newmetatable(L, KM_LIST_MT)) {
        lua_pushcfunction(L, km_list_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return w;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Read every name of w->fd into w->names; 0 or an errno. */
static int list_read(struct km_list *w)
{
    w->buf = malloc(KM_COUNT_BUF_MAX);
    if (w->buf == NULL)
        return ENOMEM;
    for (;;) {
        size_t pos = 0;
        long n = km_getdents(w->fd, w->buf, KM_COUNT_BUF_MAX);
        if (n < 0)
            return errno;
        if (n == 0)
            return 0;
        while (pos < (size_t)n) {
            const struct km_dirent64 *d = km_dirent_at(w->buf, pos, (size_t)n);
            size_t nl, *offs;
            char *names;
            if (d == NULL)
                return EIO;
            pos += d->d_reclen;
            if (km_is_dot(d->d_name))
                continue;
            if (w->noffs == KM_LIST_DIR_MAX)
                return E2BIG;
            nl = strlen(d->d_name) + 1;
            names = km_grow(w->names, &w->names_cap, w->names_len + nl, 1);
            if (names == NULL)
                return ENOMEM;
            w->names = names;
            offs = km_grow(w->offs, &w->offs_cap, w->noffs + 1, sizeof *offs);
            if (offs == NULL)
                return ENOMEM;
            w->offs = offs;
            memcpy(w->names + w->names_len, d->d_name, nl);
            w->offs[w->noffs++] = w->names_len;
            w->names_len += nl;
        }
    }
}

/***
 * The names in a directory, sorted (bytewise), without "." and "..".
 * @function list_dir
 * @tparam string path symlinks followed
 * @treturn[1] {string,...}
 * @return[2] nil, message, errno (E2BIG past KM_LIST_DIR_MAX entries)
 */
static int km_list_dir(lua_State *L)
{
    size_t len, i;
    const char *path = km_check_path(L, 1, &len);
    struct km_list *w;
    int err;

    if (path == NULL)
        return km_push_path_error(L, "list_dir", 1);
    w = list_new(L);
    w->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->fd < 0) {
        err = errno;
        return km_push_error(L, "list_dir", path, len, err);
    }
    err = list_read(w);
    close(w->fd);
    w->fd = -1;
    if (err == E2BIG) {
        list_release(w);
        return km_push_error_limit(L, "list_dir", path, len,
                                   "more than KM_LIST_DIR_MAX (%I) entries",
                                   (lua_Integer)KM_LIST_DIR_MAX, err);
    }
    if (err == 0 && w->noffs > 0) {
        w->sorted = malloc(w->noffs * sizeof *w->sorted);
        if (w->sorted == NULL)
            err = ENOMEM;
    }
    if (err != 0) {
        list_release(w);
        return km_push_error(L, "list_dir", path, len, err);
    }
    for (i = 0; i < w->noffs; i++)
        w->sorted[i] = w->names + w->offs[i];
    if (w->noffs > 1)
        qsort(w->sorted, w->noffs, sizeof *w->sorted, name_cmp);
    lua_createtable(L, w->noffs > INT_MAX ? INT_MAX : (int)w->noffs, 0);
    for (i = 0; i < w->noffs; i++) {
        lua_pushstring(L, w->sorted[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    list_release(w);
    return 1;
}

const luaL_Reg km_list_dir_funcs[] = {
    {"list_dir", km_list_dir},
    {NULL, NULL}
};
