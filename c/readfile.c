/*
 * readfile.c -- read_file: a small regular file's bytes, judged and read
 * through one descriptor.
 *
 * Lua functions: read_file.
 *
 * The file is opened once (O_NONBLOCK, so that a FIFO or a device cannot
 * block the open), judged with fstat on that descriptor (a regular file
 * of at most `max` bytes) and read from it: nothing is looked up twice by
 * path, so the file judged is the file read. Not offered to rules.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KM_READ_FILE_MT "katamount.read_file"
/* Largest `max` read_file accepts (bytes). */
#define KM_READ_FILE_MAX (256 * 1024 * 1024)
/* First buffer of a file whose size fstat does not tell (procfs: 0). */
#define KM_READ_FILE_FIRST 4096

/* The descriptor of one read_file call, closed by __gc when the Lua API
 * raises (out of memory) before the call closes it. */
struct km_open_file {
    int fd;
};

/* Close f's descriptor now (not at the next collection). */
static void close_now(struct km_open_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static int km_open_file_gc(lua_State *L)
{
    close_now(luaL_checkudata(L, 1, KM_READ_FILE_MT));
    return 0;
}

static struct km_open_file *open_file_new(lua_State *L)
{
    struct km_open_file *f = lua_newuserdatauv(L, sizeof *f, 0);
    f->fd = -1;
    if (luaL_newmetatable(L, KM_READ_FILE_MT)) {
        lua_pushcfunction(L, km_open_file_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return f;
}

static const char *kind_of(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR: return "not a regular file (directory)";
    case S_IFIFO: return "not a regular file (fifo)";
    case S_IFSOCK: return "not a regular file (socket)";
    case S_IFCHR: return "not a regular file (char)";
    case S_IFBLK: return "not a regular file (block)";
    default: return "not a regular file";
    }
}

/* read(2) retried on EINTR. */
static ssize_t read_some(int fd, char *buf, size_t size)
{
    ssize_t n;
    do
        n = read(fd, buf, size);
    while (n < 0 && errno == EINTR);
    return n;
}

/***
 * The bytes of a regular file of at most `max` bytes (symlinks followed).
 * A FIFO, device, socket or directory is refused without blocking; a file
 * larger than `max` (by fstat, or found so while read) is refused.
 * @function read_file
 * @tparam string path
 * @tparam integer max the most bytes accepted (at most KM_READ_FILE_MAX)
 * @treturn[1] string
 * @return[2] nil, message naming the path, errno (EINVAL: not a regular
 *   file; EFBIG: larger than `max`; else open's or read's)
 */
static int km_read_file(lua_State *L)
{
    static const char what[] = "read_file";
    size_t len, chunk;
    const char *path = km_check_path(L, 1, &len);
    lua_Integer max = luaL_checkinteger(L, 2);
    struct km_open_file *f;
    struct stat st;
    luaL_Buffer b;

    luaL_argcheck(L, max >= 0 && max <= KM_READ_FILE_MAX, 2,
                  "out of range (0 to KM_READ_FILE_MAX)");
    if (path == NULL)
        return km_push_path_error(L, what, 1);
    f = open_file_new(L);
    f->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
        int err = errno;
        close_now(f);
        return km_push_error(L, what, path, len, err);
    }
    if (!S_ISREG(st.st_mode) || st.st_size > max) {
        close_now(f);
        if (!S_ISREG(st.st_mode))
            return km_push_error_msg(L, what, path, len, kind_of(st.st_mode), EINVAL);
        return km_push_error_limit(L, what, path, len, "larger than %I bytes", max, EFBIG);
    }
    /* chunks of the size fstat gave and one byte more (a file that grew
     * past it is seen), read on up to max + 1 bytes */
    chunk = st.st_size > 0 ? (size_t)st.st_size + 1 : KM_READ_FILE_FIRST;
    luaL_buffinit(L, &b);
    for (;;) {
        size_t room = (size_t)max + 1 - luaL_bufflen(&b);
        char *p = luaL_prepbuffsize(&b, chunk < room ? chunk : room);
        ssize_t n = read_some(f->fd, p, chunk < room ? chunk : room);
        if (n < 0) {
            int err = errno;
            close_now(f);
            return km_push_error(L, what, path, len, err);
        }
        if (n == 0)
            break;
        luaL_addsize(&b, (size_t)n);
        if (luaL_bufflen(&b) > (size_t)max) {
            close_now(f);
            return km_push_error_limit(L, what, path, len, "larger than %I bytes", max, EFBIG);
        }
    }
    close_now(f);
    luaL_pushresult(&b);
    return 1;
}

const luaL_Reg km_readfile_funcs[] = {
    {"read_file", km_read_file},
    {NULL, NULL}
};
