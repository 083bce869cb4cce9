/*
 * path.c -- lexical path cleaning (Go filepath.Clean), realpath, and the
 * mount-point walk behind device_for_path.
 *
 * Lua functions: clean, join, base, realpath, device_for_path.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Go filepath.Clean on Unix, iteratively, in one pass over path[0..len):
 * runs of '/' become one, "." elements go, each ".." removes the element
 * before it (a ".." at the start of a rooted path is dropped, at the start
 * of a relative one kept), no trailing '/', and "" becomes ".".
 * Any byte other than '/' and '.' (NUL included) is an ordinary byte.
 * The output is never longer than max(len, 1); every write is checked
 * against outcap all the same.
 */
size_t km_clean_path(const char *path, size_t len, char *out, size_t outcap)
{
    size_t r = 0, w = 0, dotdot = 0;
    int rooted = len > 0 && path[0] == '/';

    if (out == NULL || outcap == 0)
        return (size_t)-1;
    if (rooted) {
        if (outcap < 2)
            return (size_t)-1;
        out[w++] = '/';
        r = 1;
        dotdot = 1;
    }
    /* element by element: [r, e) up to the next '/' (or the end), copied
     * whole; every write leaves room for the terminating NUL */
    while (r < len) {
        const char *slash = memchr(path + r, '/', len - r);
        size_t e = slash != NULL ? (size_t)(slash - path) : len;
        size_t n = e - r;
        if (n == 0 || (n == 1 && path[r] == '.')) {
            /* an empty or "." element: dropped */
        } else if (n == 2 && path[r] == '.' && path[r + 1] == '.') {
            if (w > dotdot) {
                /* back up to the previous '/' */
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                /* cannot back up: keep the ".." */
                size_t sep = w > 0;
                if (w + sep + 2 >= outcap)
                    return (size_t)-1;
                if (sep)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
        } else {
            /* a real element: a separator if needed, then the element */
            size_t sep = rooted ? w != 1 : w != 0;
            if (w + sep + n >= outcap)
                return (size_t)-1;
            if (sep)
                out[w++] = '/';
            memcpy(out + w, path + r, n);
            w += n;
        }
        r = e + 1;
    }
    if (w == 0) {
        if (outcap < 2)
            return (size_t)-1;
        out[w++] = '.';
    }
    out[w] = '\0';
    return w;
}

/*
 * Go filepath.Join of parts[0..n) on Unix: the non-empty parts joined with
 * '/' (an empty part is left out), then cleaned into out (capacity outcap,
 * NUL-terminated). Returns the length written: 0 (out "") when every part
 * is empty; (size_t)-1 when the joined text would pass KM_PATH_MAX bytes or
 * out is too small.
 */
size_t km_join_paths(const char *const *parts, const size_t *lens, size_t n, char *out,
                     size_t outcap)
{
    char joined[KM_PATH_MAX];
    size_t w = 0, i;
    int any = 0;
    for (i = 0; i < n; i++) {
        if (lens[i] == 0)
            continue;
        if (any) {
            if (w >= sizeof joined)
                return (size_t)-1;
            joined[w++] = '/';
        }
        if (lens[i] > sizeof joined - w)
            return (size_t)-1;
        memcpy(joined + w, parts[i], lens[i]);
        w += lens[i];
        any = 1;
    }
    if (!any) {
        if (outcap == 0)
            return (size_t)-1;
        out[0] = '\0';
        return 0;
    }
    return km_clean_path(joined, w, out, outcap);
}

/***
 * Lexical cleaning with Go filepath.Clean semantics.
 * @function clean
 * @tparam string path
 * @treturn[1] string the cleaned path (`""` gives `"."`)
 * @return[2] nil, message, errno (NUL byte, longer than KM_PATH_MAX)
 */
static int km_clean(lua_State *L)
{
    size_t len, n;
    char out[KM_PATH_MAX + 2];
    const char *path = km_check_path(L, 1, &len);
    if (path == NULL)
        return km_push_path_error(L, "clean", 1);
    n = km_clean_path(path, len, out, sizeof out);
    if (n == (size_t)-1)    /* cannot happen: len + 2 always suffices */
        return km_push_error(L, "clean", path, len, ENAMETOOLONG);
    if (n == len && memcmp(out, path, n) == 0)
        lua_pushvalue(L, 1);    /* already clean: the same string, no copy */
    else
        lua_pushlstring(L, out, n);
    return 1;
}

/***
 * Path parts joined with Go filepath.Join semantics: the non-empty parts
 * joined with `/`, the result cleaned (`""` when every part is empty);
 * at most KM_JOIN_PARTS_MAX (32) parts.
 * @function join
 * @tparam string ... the parts
 * @treturn[1] string
 * @return[2] nil, message, errno (a part with a NUL byte or longer than
 *   KM_PATH_MAX, or a joined path longer than KM_PATH_MAX)
 */
static int km_join(lua_State *L)
{
    const char *parts[KM_JOIN_PARTS_MAX];
    size_t lens[KM_JOIN_PARTS_MAX], n;
    char out[KM_PATH_MAX + 2];
    int i, nargs = lua_gettop(L);
    if (nargs > KM_JOIN_PARTS_MAX)
        return luaL_argerror(L, KM_JOIN_PARTS_MAX + 1, "at most KM_JOIN_PARTS_MAX (32) parts");
    for (i = 1; i <= nargs; i++) {
        parts[i - 1] = km_check_path(L, i, &lens[i - 1]);
        if (parts[i - 1] == NULL)
            return km_push_path_error(L, "join", i);
    }
    n = km_join_paths(parts, lens, (size_t)nargs, out, sizeof out);
    if (n == (size_t)-1)
        return km_push_error_limit(L, "join", parts[0], lens[0] > 64 ? 64 : lens[0],
                                   "joined path longer than KM_PATH_MAX (%I bytes)",
                                   (lua_Integer)KM_PATH_MAX, ENAMETOOLONG);
    lua_pushlstring(L, out, n);
    return 1;
}

/***
 * The last element of a path with Go filepath.Base semantics: trailing
 * slashes removed, then what follows the last slash (`""` gives `"."`, a
 * path of slashes `"/"`); not cleaned first.
 * @function base
 * @tparam string path
 * @treturn[1] string
 * @return[2] nil, message, errno (NUL byte, longer than KM_PATH_MAX)
 */
static int km_base(lua_State *L)
{
    size_t len, start;
    const char *path = km_check_path(L, 1, &len);
    if (path == NULL)
        return km_push_path_error(L, "base", 1);
    if (len == 0) {
        lua_pushliteral(L, ".");
        return 1;
    }
    while (len > 0 && path[len - 1] == '/')
        len--;
    if (len == 0) {
        lua_pushliteral(L, "/");
        return 1;
    }
    start = len;
    while (start > 0 && path[start - 1] != '/')
        start--;
    lua_pushlstring(L, path + start, len - start);
    return 1;
}

/* The path with every symlink resolved, as the kernel sees it: open it with
 * O_PATH (no access needed, no device opened) and read back
 * /proc/self/fd/N -- three syscalls, where realpath(3) makes one readlink
 * per component. Returns the length written to buf (not NUL-terminated);
 * -1 with errno for a failure of the path itself (ENOENT, ELOOP, EACCES,
 * ENOTDIR...); -2 when /proc cannot answer, so realpath(3) must. */
static ssize_t resolve_by_fd(const char *path, char *buf, size_t cap)
{
    static const char prefix[] = "/proc/self/fd/";
    char link[sizeof prefix + 3 * sizeof(int)];
    char digits[3 * sizeof(int)];
    size_t nd = 0;
    ssize_t n;
    unsigned v;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* the link's name by hand: snprintf cost a third of the call's own work */
    v = (unsigned)fd;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    memcpy(link, prefix, sizeof prefix - 1);
    for (n = 0; (size_t)n < nd; n++)
        link[sizeof prefix - 1 + (size_t)n] = digits[nd - 1 - (size_t)n];
    link[sizeof prefix - 1 + nd] = '\0';
    n = readlink(link, buf, cap);
    close(fd);
    /* a truncated answer, or one that is no path ("anon_inode:..."), or a
     * file unreachable from our root: let realpath(3) decide */
    if (n <= 0 || (size_t)n >= cap || buf[0] != '/' ||
        memchr(buf, '\0', (size_t)n) != NULL)
        return -2;
    return n;
}

/***
 * The absolute path with every symlink resolved (realpath(3)).
 * @function realpath
 * @tparam string path
 * @treturn[1] string
 * @return[2] nil, message, errno (`""` is ENOENT; a symlink loop ELOOP)
 */
static int km_realpath(lua_State *L)
{
    size_t len;
    char buf[PATH_MAX];
    const char *resolved;
    ssize_t n;
    const char *path = km_check_path(L, 1, &len);
    if (path == NULL)
        return km_push_path_error(L, "realpath", 1);
    n = resolve_by_fd(path, buf, sizeof buf);
    if (n >= 0) {
        lua_pushlstring(L, buf, (size_t)n);
        return 1;
    }
    if (n == -1) {
        int err = errno;
        return km_push_error(L, "realpath", path, len, err);
    }
    /* no /proc: realpath(3) with a buffer of PATH_MAX bytes (nothing to
     * free, so a raising Lua call cannot leak) */
    resolved = realpath(path, buf);
    if (resolved == NULL) {
        int err = errno;
        return km_push_error(L, "realpath", path, len, err);
    }
    lua_pushstring(L, resolved);
    return 1;
}

/* Push {major=, minor=, mount_point=} for device `dev`. */
static int push_device(lua_State *L, dev_t dev, const char *mount_point)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)major(dev));
    lua_setfield(L, -2, "major");
    lua_pushinteger(L, (lua_Integer)minor(dev));
    lua_setfield(L, -2, "minor");
    lua_pushstring(L, mount_point);
    lua_setfield(L, -2, "mount_point");
    return 1;
}

/*
 * filepath.Abs: `path` cleaned if absolute, else the working directory
 * joined with it and cleaned. Writes a NUL-terminated path of at most
 * KM_PATH_MAX bytes to abs (capacity KM_PATH_MAX + 2); 0, or -1 with errno.
 */
static int abs_path(const char *path, size_t len, char *abs)
{
    char joined[2 * KM_PATH_MAX + 2];
    size_t n;

    if (len > 0 && path[0] == '/') {
        n = km_clean_path(path, len, abs, KM_PATH_MAX + 2);
    } else {
        size_t cwdlen;
        if (getcwd(joined, KM_PATH_MAX + 1) == NULL)
            return -1;
        cwdlen = strlen(joined);
        if (joined[0] != '/') {     /* "(unreachable)": cwd not below our root */
            errno = ENOENT;
            return -1;
        }
        joined[cwdlen] = '/';
        memcpy(joined + cwdlen + 1, path, len);
        n = km_clean_path(joined, cwdlen + 1 + len, abs, KM_PATH_MAX + 2);
    }
    if (n == (size_t)-1 || n > KM_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/***
 * The device holding a path and the mount point it is mounted on: the Go
 * original's getDeviceForPath walk, without its host-device case (the engine
 * adds that). The path is stat'ed (symlinks followed) and made absolute;
 * `/` reports `/`; otherwise each lexical parent is lstat'ed until the
 * device changes, and reaching `/` is "mount point not found" (ENOENT).
 * A caller that has just stat'ed the path gives its device (`dev`, a
 * stat's `dev`), and the path is not stat'ed again: the walk starts from it.
 * @function device_for_path
 * @tparam string path
 * @tparam[opt] integer dev the path's device, from a stat of it
 * @treturn[1] table `{major=, minor=, mount_point=}`
 * @return[2] nil, message, errno
 */
static int km_device_for_path(lua_State *L)
{
    static const char what[] = "device_for_path";
    size_t len, n, depth;
    struct stat st, pst;
    char cur[KM_PATH_MAX + 2];
    const char *path = km_check_path(L, 1, &len);
    int known = !lua_isnoneornil(L, 2);
    lua_Integer dev = known ? luaL_checkinteger(L, 2) : 0;

    if (path == NULL)
        return km_push_path_error(L, what, 1);
    if (len == 0)
        return km_push_error_msg(L, what, path, len, "path cannot be empty", EINVAL);
    if (known) {
        memset(&st, 0, sizeof st);
        st.st_dev = (dev_t)dev;
    } else if (stat(path, &st) != 0) {
        int err = errno;
        return km_push_error(L, what, path, len, err);
    }
    if (abs_path(path, len, cur) != 0) {
        int err = errno;
        return km_push_error(L, what, path, len, err);
    }
    if (strcmp(cur, "/") == 0)
        return push_device(L, st.st_dev, "/");

    n = strlen(cur);
    /* Each step removes one element of a cleaned absolute path, so the
     * walk ends within KM_WALK_DEPTH_MAX + 1 steps; the bound is a guard. */
    for (depth = 0; depth <= KM_WALK_DEPTH_MAX + 1; depth++) {
        size_t plen = n;
        char saved;
        if (n == 1)     /* reached "/" on the same device */
            return km_push_error_msg(L, what, path, len,
                                     "mount point not found", ENOENT);
        while (plen > 0 && cur[plen - 1] != '/')
            plen--;
        if (plen > 1)
            plen--;     /* drop the separator, but keep "/" itself */
        saved = cur[plen];
        cur[plen] = '\0';
        if (lstat(cur, &pst) != 0) {
            int err = errno;
            const char *msg;
            lua_pushfstring(L, "lstat '%s': %s", cur, strerror(err));
            msg = lua_tostring(L, -1);
            return km_push_error_msg(L, what, path, len, msg, err);
        }
        if (pst.st_dev != st.st_dev) {
            cur[plen] = saved;      /* the child is the mount point */
            return push_device(L, st.st_dev, cur);
        }
        n = plen;
    }
    return km_push_error_msg(L, what, path, len,
                             "walk deeper than KM_WALK_DEPTH_MAX", ELOOP);
}

const luaL_Reg km_path_funcs[] = {
    {"clean", km_clean},
    {"join", km_join},
    {"base", km_base},
    {"realpath", km_realpath},
    {"device_for_path", km_device_for_path},
    {NULL, NULL}
};
