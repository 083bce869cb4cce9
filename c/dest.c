/*
 * dest.c -- create the destination of a bind mount: a directory for a
 * directory source, an empty file (and its parents) for anything else; and
 * a fresh private directory (mkdtemp) for the command's scratch work.
 *
 * Lua functions: ensure_destination, make_temp_dir.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KM_DIR_MODE 0755
#define KM_FILE_MODE 0644

/*
 * mkdir -p of buf[0..len) (mode 0755, umask applies), parents first, one
 * mkdir per element: iterative and bounded by len. An element that exists
 * already (EEXIST) is passed over; if it is not a directory the next mkdir
 * fails with ENOTDIR. buf[len] must be writable; it is restored. Returns 0,
 * or -1 with errno set and buf cut after the element that failed.
 */
static int mkdir_p(char *buf, size_t len)
{
    size_t i = 0;
    while (i < len) {
        char saved;
        while (i < len && buf[i] == '/')
            i++;
        if (i == len)
            break;
        while (i < len && buf[i] != '/')
            i++;
        saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, KM_DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

/* The error return for an element mkdir_p could not create. */
static int push_mkdir_error(lua_State *L, const char *dest, size_t len,
                            const char *element, int err)
{
    const char *msg = lua_pushfstring(L, "mkdir '%s': %s", element, strerror(err));
    return km_push_error_msg(L, "ensure_destination", dest, len, msg, err);
}

/* The error return for a destination of the other type than the source.
 * The Go original accepted a file where a directory was wanted (its Mkdir's
 * EEXIST was taken as success) and failed obscurely on the converse; here
 * both are an explicit EEXIST. */
static int push_type_error(lua_State *L, const char *dest, size_t len, int want_dir)
{
    return km_push_error_msg(L, "ensure_destination", dest, len,
                             want_dir
                             ? "exists and is not a directory (the source is a directory)"
                             : "exists and is a directory (the source is not)",
                             EEXIST);
}

/***
 * Make sure a bind-mount destination exists: `mkdir -p` (0755) when the
 * source is a directory, else its parent directories (0755) and an empty
 * file (0644, never truncating an existing one). An existing destination of
 * the other type (directory vs non-directory) is an error, unlike the Go
 * original.
 * @function ensure_destination
 * @tparam string source must exist (symlinks followed)
 * @tparam string destination
 * @treturn[1] boolean true
 * @return[2] nil, message, errno
 */
static int km_ensure_destination(lua_State *L)
{
    static const char what[] = "ensure_destination";
    size_t slen, dlen;
    struct stat sst, dst;
    int want_dir, fd;
    char buf[KM_PATH_MAX + 1];
    const char *source = km_check_path(L, 1, &slen);
    const char *dest;

    if (source == NULL)
        return km_push_path_error(L, what, 1);
    dest = km_check_path(L, 2, &dlen);
    if (dest == NULL)
        return km_push_path_error(L, what, 2);
    if (stat(source, &sst) != 0) {
        int err = errno;
        return km_push_error(L, what, source, slen, err);
    }
    if (dlen == 0)
        return km_push_error_msg(L, what, dest, dlen, "path cannot be empty", EINVAL);
    want_dir = S_ISDIR(sst.st_mode);

    /* Already there: one stat, and the type must match. */
    if (stat(dest, &dst) == 0) {
        if (S_ISDIR(dst.st_mode) != want_dir)
            return push_type_error(L, dest, dlen, want_dir);
        lua_pushboolean(L, 1);
        return 1;
    } else if (errno != ENOENT) {
        int err = errno;
        return km_push_error(L, what, dest, dlen, err);
    }

    memcpy(buf, dest, dlen);
    buf[dlen] = '\0';
    if (want_dir) {
        if (mkdir_p(buf, dlen) != 0) {
            int err = errno;
            return push_mkdir_error(L, dest, dlen, buf, err);
        }
        /* Someone may have made something else there meanwhile. */
        if (stat(dest, &dst) != 0) {
            int err = errno;
            return km_push_error(L, what, dest, dlen, err);
        }
        if (!S_ISDIR(dst.st_mode))
            return push_type_error(L, dest, dlen, want_dir);
        lua_pushboolean(L, 1);
        return 1;
    }

    /* A file: its parents, then the file itself. */
    {
        size_t plen = dlen;
        while (plen > 0 && buf[plen - 1] != '/')
            plen--;
        if (plen > 0 && mkdir_p(buf, plen - 1) != 0) {
            int err = errno;
            return push_mkdir_error(L, dest, dlen, buf, err);
        }
    }
    fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, KM_FILE_MODE);
    if (fd < 0) {
        int err = errno;
        if (err != EEXIST)
            return km_push_error(L, what, dest, dlen, err);
        /* Created meanwhile (or a dangling symlink): check what is there. */
        if (stat(dest, &dst) != 0) {
            err = errno;
            return km_push_error(L, what, dest, dlen, err);
        }
        if (S_ISDIR(dst.st_mode))
            return push_type_error(L, dest, dlen, want_dir);
        lua_pushboolean(L, 1);
        return 1;
    }
    if (close(fd) != 0) {
        int err = errno;
        return km_push_error(L, what, dest, dlen, err);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/***
 * Make a new directory, mode 0700, named `prefix` and six random
 * characters (mkdtemp(3)): nobody else can have made it or a link in its
 * place. Not offered to rules.
 * @function make_temp_dir
 * @tparam string prefix e.g. `"/tmp/katamount-check."`
 * @treturn[1] string the directory's path
 * @return[2] nil, message, errno
 */
static int km_make_temp_dir(lua_State *L)
{
    static const char what[] = "make_temp_dir";
    static const char suffix[] = "XXXXXX";
    size_t len;
    char buf[KM_PATH_MAX + 1];
    const char *prefix = km_check_path(L, 1, &len);

    if (prefix == NULL)
        return km_push_path_error(L, what, 1);
    if (len + sizeof suffix > sizeof buf)
        return km_push_error(L, what, prefix, len, ENAMETOOLONG);
    memcpy(buf, prefix, len);
    memcpy(buf + len, suffix, sizeof suffix);
    if (mkdtemp(buf) == NULL) {
        int err = errno;
        return km_push_error(L, what, prefix, len, err);
    }
    lua_pushstring(L, buf);
    return 1;
}

const luaL_Reg km_dest_funcs[] = {
    {"ensure_destination", km_ensure_destination},
    {"make_temp_dir", km_make_temp_dir},
    {NULL, NULL}
};
