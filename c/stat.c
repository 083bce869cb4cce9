/*
 * stat.c -- stat/lstat with device numbers, major/minor of a dev_t, and the
 * file-system type (statfs magic) of a path.
 *
 * Lua functions: stat, lstat, major, minor, fs_type.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* ---------------------------------------------------------------- stat */

/* One integer field of the stat result: its Lua name and how to read it. */
struct km_stat_field {
    const char *name;
    lua_Integer (*get)(const struct stat *st);
};

static lua_Integer get_dev(const struct stat *st) { return (lua_Integer)st->st_dev; }
static lua_Integer get_dev_major(const struct stat *st) { return (lua_Integer)major(st->st_dev); }
static lua_Integer get_dev_minor(const struct stat *st) { return (lua_Integer)minor(st->st_dev); }
static lua_Integer get_rdev_major(const struct stat *st) { return (lua_Integer)major(st->st_rdev); }
static lua_Integer get_rdev_minor(const struct stat *st) { return (lua_Integer)minor(st->st_rdev); }
static lua_Integer get_ino(const struct stat *st) { return (lua_Integer)st->st_ino; }
static lua_Integer get_mode(const struct stat *st) { return (lua_Integer)st->st_mode; }
static lua_Integer get_nlink(const struct stat *st) { return (lua_Integer)st->st_nlink; }
static lua_Integer get_uid(const struct stat *st) { return (lua_Integer)st->st_uid; }
static lua_Integer get_gid(const struct stat *st) { return (lua_Integer)st->st_gid; }
static lua_Integer get_size(const struct stat *st) { return (lua_Integer)st->st_size; }

/* The integer fields of a stat result, in the order they are set. */
static const struct km_stat_field km_stat_fields[] = {
    {"dev", get_dev},
    {"dev_major", get_dev_major},
    {"dev_minor", get_dev_minor},
    {"rdev_major", get_rdev_major},
    {"rdev_minor", get_rdev_minor},
    {"ino", get_ino},
    {"mode", get_mode},          /* the whole st_mode: type bits included */
    {"nlink", get_nlink},
    {"uid", get_uid},
    {"gid", get_gid},
    {"size", get_size},
};

#define KM_STAT_NFIELDS ((int)(sizeof km_stat_fields / sizeof km_stat_fields[0]))

/* The names of the file types, as `type` says them. */
enum { KM_FT_FILE, KM_FT_DIRECTORY, KM_FT_LINK, KM_FT_BLOCK, KM_FT_CHAR, KM_FT_FIFO,
       KM_FT_SOCKET, KM_FT_UNKNOWN, KM_FILE_TYPES };
static const char *const km_file_types[KM_FILE_TYPES] = {
    "file", "directory", "link", "block", "char", "fifo", "socket", "unknown",
};

static int file_type(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return KM_FT_FILE;
    case S_IFDIR: return KM_FT_DIRECTORY;
    case S_IFLNK: return KM_FT_LINK;
    case S_IFBLK: return KM_FT_BLOCK;
    case S_IFCHR: return KM_FT_CHAR;
    case S_IFIFO: return KM_FT_FIFO;
    case S_IFSOCK: return KM_FT_SOCKET;
    default: return KM_FT_UNKNOWN;
    }
}

/* Upvalues of stat and lstat: the strings of a result, made once (a key
 * given as a C string is looked up in Lua's string table per field and
 * call): each field's name, then "type", then each file type's name. */
#define KM_STAT_KEY(i) lua_upvalueindex(1 + (i))
#define KM_STAT_TYPE_KEY lua_upvalueindex(1 + KM_STAT_NFIELDS)
#define KM_STAT_TYPE_NAME(t) lua_upvalueindex(2 + KM_STAT_NFIELDS + (t))
#define KM_STAT_UPVALUES (1 + KM_STAT_NFIELDS + KM_FILE_TYPES)

static void push_stat(lua_State *L, const struct stat *st)
{
    int i;
    lua_createtable(L, 0, KM_STAT_NFIELDS + 1);
    lua_pushvalue(L, KM_STAT_TYPE_KEY);
    lua_pushvalue(L, KM_STAT_TYPE_NAME(file_type(st->st_mode)));
    lua_rawset(L, -3);
    for (i = 0; i < KM_STAT_NFIELDS; i++) {
        lua_pushvalue(L, KM_STAT_KEY(i));
        lua_pushinteger(L, km_stat_fields[i].get(st));
        lua_rawset(L, -3);
    }
}

/* Shared body of stat and lstat. */
static int do_stat(lua_State *L, const char *what,
                   int (*fn)(const char *, struct stat *))
{
    size_t len;
    struct stat st;
    const char *path = km_check_path(L, 1, &len);
    if (path == NULL)
        return km_push_path_error(L, what, 1);
    if (fn(path, &st) != 0) {
        int err = errno;
        return km_push_error(L, what, path, len, err);
    }
    push_stat(L, &st);
    return 1;
}

/***
 * Information about a file, symlinks followed.
 * @function stat
 * @tparam string path
 * @treturn[1] table `{type=, dev=, dev_major=, dev_minor=, rdev_major=,
 *   rdev_minor=, ino=, mode=, nlink=, uid=, gid=, size=}`; `type` is one of
 *   `file directory link block char fifo socket`
 * @return[2] nil
 * @treturn[2] string message naming the path
 * @treturn[2] int errno
 */
static int km_stat(lua_State *L)
{
    return do_stat(L, "stat", stat);
}

/***
 * Like stat, but a symlink describes itself.
 * @function lstat
 * @tparam string path
 * @treturn[1] table as for stat
 * @return[2] nil, message, errno
 */
static int km_lstat(lua_State *L)
{
    return do_stat(L, "lstat", lstat);
}

/***
 * Major number of a dev_t (full 64-bit Linux encoding).
 * @function major
 * @tparam integer dev
 * @treturn integer
 */
static int km_major(lua_State *L)
{
    dev_t dev = (dev_t)(uint64_t)luaL_checkinteger(L, 1);
    lua_pushinteger(L, (lua_Integer)major(dev));
    return 1;
}

/***
 * Minor number of a dev_t (full 64-bit Linux encoding).
 * @function minor
 * @tparam integer dev
 * @treturn integer
 */
static int km_minor(lua_State *L)
{
    dev_t dev = (dev_t)(uint64_t)luaL_checkinteger(L, 1);
    lua_pushinteger(L, (lua_Integer)minor(dev));
    return 1;
}

/* ------------------------------------------------------------- fs_type */

/* statfs f_type magic numbers (linux/magic.h and the file systems' own
 * sources) and the names the rules use. Internal file systems that are
 * never mounted (pipefs, sockfs) are left out: they report "0x<hex>". */
static const struct km_fs_magic {
    uint32_t magic;
    const char *name;
} km_fs_magics[] = {
    {0x01021994, "tmpfs"},
    {0xEF53, "ext4"},           /* ext2, ext3 and ext4 share it */
    {0x58465342, "xfs"},
    {0x9123683E, "btrfs"},
    {0x794c7630, "overlay"},
    {0x9fa0, "proc"},
    {0x62656572, "sysfs"},
    {0x958458f6, "hugetlbfs"},
    {0x63677270, "cgroup2"},
    {0x0027e0eb, "cgroup"},
    {0x1cd1, "devpts"},
    {0x19800202, "mqueue"},
    {0x6969, "nfs"},
    {0x65735546, "fuse"},       /* virtiofs too */
    {0x65735543, "fusectl"},
    {0x01021997, "9p"},
    {0x73717368, "squashfs"},
    {0xE0F5E1E2, "erofs"},
    {0x858458f6, "ramfs"},
    {0x64626720, "debugfs"},
    {0x74726163, "tracefs"},
    {0x73636673, "securityfs"},
    {0xcafe4a11, "bpf"},
    {0x0187, "autofs"},
    {0x6e736673, "nsfs"},
    {0x4d44, "vfat"},
    {0x2011BAB0, "exfat"},
    {0x5346544e, "ntfs"},
    {0xF2F52010, "f2fs"},
    {0x2fc12fc1, "zfs"},
    {0xca451a4e, "bcachefs"},
    {0x00c36400, "ceph"},
    {0xFE534D42, "smb2"},
    {0xFF534D42, "cifs"},
    {0x517B, "smb"},
    {0x5346414F, "afs"},
    {0x01161970, "gfs2"},
    {0x7461636f, "ocfs2"},
    {0x3434, "nilfs2"},
    {0x9660, "iso9660"},
    {0x15013346, "udf"},
    {0x28cd3d45, "cramfs"},
    {0x72b6, "jffs2"},
    {0xf15f, "ecryptfs"},
    {0x52654973, "reiserfs"},
    {0x5a4f4653, "zonefs"},
    {0x62656570, "configfs"},
    {0x6165676C, "pstore"},
    {0xde5e81e4, "efivarfs"},
    {0x42494e4d, "binfmt_misc"},
    {0xf97cff8c, "selinuxfs"},
    {0x43415d53, "smackfs"},
    {0x67596969, "rpc_pipefs"},
    {0x6c6f6f70, "binder"},
    {0x09041934, "anon_inodefs"},
    {0x454d444d, "devmem"},
    {0x50494446, "pidfs"},
    {0x00c0ffee, "hostfs"},
};

/***
 * Name of the file system holding a path, from its statfs magic.
 * @function fs_type
 * @tparam string path
 * @treturn[1] string `"tmpfs"`, `"ext4"`, ...; `"0x<hex>"` for a magic not known
 * @return[2] nil, message, errno
 */
static int km_fs_type(lua_State *L)
{
    size_t len, i;
    struct statfs sfs;
    uint32_t magic;
    char hex[16];
    int n;
    const char *path = km_check_path(L, 1, &len);
    if (path == NULL)
        return km_push_path_error(L, "fs_type", 1);
    if (statfs(path, &sfs) != 0) {
        int err = errno;
        return km_push_error(L, "fs_type", path, len, err);
    }
    /* Magic numbers are 32 bits; f_type is a (signed) long. */
    magic = (uint32_t)((uint64_t)sfs.f_type & 0xffffffffu);
    for (i = 0; i < sizeof km_fs_magics / sizeof km_fs_magics[0]; i++) {
        if (km_fs_magics[i].magic == magic) {
            lua_pushstring(L, km_fs_magics[i].name);
            return 1;
        }
    }
    n = snprintf(hex, sizeof hex, "0x%lx", (unsigned long)magic);
    if (n < 0 || (size_t)n >= sizeof hex)
        return km_push_error(L, "fs_type", path, len, ENAMETOOLONG);
    lua_pushstring(L, hex);
    return 1;
}

const luaL_Reg km_stat_funcs[] = {
    {"major", km_major},
    {"minor", km_minor},
    {"fs_type", km_fs_type},
    {NULL, NULL}
};

/* stat and lstat into the module table at the top, each with the strings
 * of its results as upvalues. */
void km_stat_open(lua_State *L)
{
    static const luaL_Reg fns[] = {{"stat", km_stat}, {"lstat", km_lstat}, {NULL, NULL}};
    int i;
    luaL_checkstack(L, KM_STAT_UPVALUES, "stat");
    for (i = 0; i < KM_STAT_NFIELDS; i++)
        lua_pushstring(L, km_stat_fields[i].name);
    lua_pushliteral(L, "type");
    for (i = 0; i < KM_FILE_TYPES; i++)
        lua_pushstring(L, km_file_types[i]);
    luaL_setfuncs(L, fns, KM_STAT_UPVALUES);
}
