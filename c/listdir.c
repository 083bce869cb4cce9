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
    struct km_names names;
};

static void list_release(struct km_list *w)
{
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    km_names_free(&w->names);
    w->fd = -1;
    w->buf = NULL;
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

/* Read and sort every name of w->fd; 0 or an errno (E2BIG past
 * KM_LIST_DIR_MAX names). */
static int list_read(struct km_list *w)
{
    int over, err;
    w->buf = malloc(KM_COUNT_BUF_MAX);
    if (w->buf == NULL)
        return ENOMEM;
    err = km_names_read(w->fd, w->buf, KM_COUNT_BUF_MAX, KM_LIST_DIR_MAX, &w->names, &over);
    if (err == 0 && over)
        err = E2BIG;
    return err;
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
    size_t len, i, n;
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
    if (err != 0) {
        list_release(w);
        return km_push_error(L, "list_dir", path, len, err);
    }
    n = w->names.noffs;
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, w->names.sorted[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    list_release(w);
    return 1;
}

const luaL_Reg km_list_dir_funcs[] = {
    {"list_dir", km_list_dir},
    {NULL, NULL}
};
