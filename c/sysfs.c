/*
 * sysfs.c -- what sysfs says about a block device number.
 *
 * Lua functions: block_device.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest major or minor accepted (dev_t encodes 32 bits of each). */
#define KM_DEVNUM_MAX 0xffffffffLL

/***
 * The block device with a device number, from `<sysfs_root>/dev/block/MAJ:MIN`.
 * @function block_device
 * @tparam integer major
 * @tparam integer minor
 * @tparam[opt="/sys"] string sysfs_root a fake tree for tests
 * @treturn[1] table `{name=, dm=bool}`: `name` is the basename of the entry's
 *   link target, `dm` whether `<entry>/dm` exists (a device-mapper device)
 * @treturn[2] boolean false when there is no such entry, or it does not
 *   resolve (a dangling link: kata's isBlockDevice stats `<entry>/`)
 * @return[3] nil, message, errno
 */
static int km_block_device(lua_State *L)
{
    static const char what[] = "block_device";
    lua_Integer maj = luaL_checkinteger(L, 1);
    lua_Integer min = luaL_checkinteger(L, 2);
    const char *root = "/sys";
    size_t rootlen = 4, llen, tlen, nlen;
    char entry[KM_PATH_MAX + 1], dm[KM_PATH_MAX + 1], target[KM_PATH_MAX + 1];
    const char *name;
    struct stat st;
    ssize_t n;
    int k, is_dm;

    luaL_argcheck(L, maj >= 0 && maj <= KM_DEVNUM_MAX, 1, "major out of range");
    luaL_argcheck(L, min >= 0 && min <= KM_DEVNUM_MAX, 2, "minor out of range");
    if (!lua_isnoneornil(L, 3)) {
        root = km_check_path(L, 3, &rootlen);
        if (root == NULL)
            return km_push_path_error(L, what, 3);
    }

    k = snprintf(entry, sizeof entry, "%s/dev/block/%lld:%lld", root,
                 (long long)maj, (long long)min);
    if (k < 0 || (size_t)k >= sizeof entry)
        return km_push_error(L, what, root, rootlen, ENAMETOOLONG);
    llen = (size_t)k;

    /* kata's isBlockDevice stats "<entry>/": the entry must resolve to a
     * directory, so a dangling link is no block device (ENOENT), and an
     * entry that is not a directory is an error (ENOTDIR) */
    k = snprintf(dm, sizeof dm, "%s/", entry);
    if (k < 0 || (size_t)k >= sizeof dm)
        return km_push_error(L, what, entry, llen, ENAMETOOLONG);
    if (stat(dm, &st) != 0) {
        int err = errno;
        if (err == ENOENT) {
            lua_pushboolean(L, 0);
            return 1;
        }
        return km_push_error(L, what, entry, llen, err);
    }

    n = readlink(entry, target, sizeof target);
    if (n < 0) {
        int err = errno;
        if (err != EINVAL)
            return km_push_error(L, what, entry, llen, err);
        /* a directory, not a link (a fake tree): named by its own name */
        n = (ssize_t)(llen - rootlen);
        memcpy(target, entry + rootlen, (size_t)n);
    }
    if ((size_t)n >= sizeof target)
        return km_push_error(L, what, entry, llen, ENAMETOOLONG);
    tlen = (size_t)n;
    target[tlen] = '\0';

    /* basename of the target, trailing slashes ignored */
    while (tlen > 1 && target[tlen - 1] == '/')
        target[--tlen] = '\0';
    nlen = tlen;
    while (nlen > 0 && target[nlen - 1] != '/')
        nlen--;
    name = target + nlen;

    k = snprintf(dm, sizeof dm, "%s/dm", entry);
    if (k < 0 || (size_t)k >= sizeof dm)
        return km_push_error(L, what, entry, llen, ENAMETOOLONG);

    if (stat(dm, &st) == 0) {
        is_dm = 1;
    } else {
        int err = errno;
        if (err != ENOENT)
            return km_push_error(L, what, dm, (size_t)k, err);
        is_dm = 0;
    }
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, is_dm);
    lua_setfield(L, -2, "dm");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    return 1;
}

const luaL_Reg km_sysfs_funcs[] = {
    {"block_device", km_block_device},
    {NULL, NULL}
};
