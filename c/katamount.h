/*
 * katamount.h -- shared definitions of the katamount C core.
 *
 * Every C file of the core includes this header first: it sets the feature
 * macros, pulls in the Lua 5.4 API, names the bounds the core works within
 * and declares the few helpers that all concerns share.
 */
#ifndef KATAMOUNT_H
#define KATAMOUNT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/sysmacros.h>

#include <lua.h>
#include <lauxlib.h>

#if !defined(LUA_VERSION_NUM) || LUA_VERSION_NUM != 504
#error "katamount.core requires Lua 5.4"
#endif

#define KM_VERSION "0.1.0"

/* Longest path the core accepts (bytes, without the terminating NUL). */
#define KM_PATH_MAX PATH_MAX
/* Longest mountinfo line parsed; a longer line is skipped as malformed. */
#define KM_MOUNTINFO_LINE_MAX (64 * 1024)
/* Most mountinfo entries kept in one table. */
#define KM_MOUNTS_MAX (1024 * 1024)
/* Deepest directory nesting count_files descends into. */
#define KM_COUNT_DEPTH_MAX 4096
/* Most directory descriptors count_files keeps open at once. */
#define KM_COUNT_OPEN_FDS_MAX 32
/* Most path components device_for_path walks. */
#define KM_WALK_DEPTH_MAX (KM_PATH_MAX / 2)
/* Most bytes of one mount table file that mounts() reads. */
#define KM_MOUNTINFO_BYTES_MAX (256 * 1024 * 1024)
/* Largest statmount(2) answer mount_entry asks for before it reads the table. */
#define KM_STATMOUNT_BUF_MAX (1024 * 1024)
/* Largest getdents64 buffer of count_files and list_dir (bytes). */
#define KM_COUNT_BUF_MAX (64 * 1024)
/* Most entries list_dir returns. */
#define KM_LIST_DIR_MAX (1024 * 1024)

/*
 * Push the failure triple `nil, "<what> '<path>': <strerror(err)>", err` and
 * return 3, so that a Lua function can `return km_push_error(...)`.
 * `path` may contain NUL bytes (its length is `len`); they are shown as \0.
 */
int km_push_error(lua_State *L, const char *what, const char *path, size_t len,
                  int err);

/* Same, with a fixed message in place of strerror. */
int km_push_error_msg(lua_State *L, const char *what, const char *path,
                      size_t len, const char *msg, int err);

/*
 * Check that argument `arg` is a string usable as a path: raises an argument
 * error for a non-string; returns NULL (with *len set) for a path holding a
 * NUL byte or longer than KM_PATH_MAX -- the caller then returns
 * km_push_path_error(L, what, arg). Otherwise returns the path.
 */
const char *km_check_path(lua_State *L, int arg, size_t *len);

/* The error return for a path refused by km_check_path. */
int km_push_path_error(lua_State *L, const char *what, int arg);

/*
 * Parsers of outside text, shared with the fuzz targets (spec/fuzz/).
 */

/* path.c: lexical cleaning with Go filepath.Clean semantics. Writes the
 * cleaned form of path[0..len) to out (capacity outcap; len + 2 always
 * suffices) and returns its length, or (size_t)-1 when outcap is too small.
 * `out` is NUL-terminated. */
size_t km_clean_path(const char *path, size_t len, char *out, size_t outcap);

/* mounts.c: decode the kernel's octal escapes (\040 and friends) of
 * s[0..len) in place; returns the decoded length. */
size_t km_unescape(char *s, size_t len);

/* mounts.c: one parsed /proc/self/mountinfo line. The strings point into the
 * line, which the parser modifies in place (fields split and unescaped). */
struct km_mountinfo {
    long long id;
    long long parent;
    unsigned int major;
    unsigned int minor;
    char *root;
    char *mount_point;
    char *options;          /* comma-separated per-mount options */
    char *optional;         /* optional fields, space-separated ("" if none) */
    char *fstype;
    char *source;
    char *super_options;    /* comma-separated super-block options */
};

/* mounts.c: parse one line of line[0..len) (no newline) in place;
 * 0 on success, -1 when the line is malformed. Never writes outside
 * line[0..len). root, mount_point, fstype and source are unescaped;
 * options and super_options keep their escapes, so that an escaped comma
 * (\054) stays inside its item: split them on ',' and km_unescape each item.
 * km_unescape leaves \000 as is: a decoded field never holds a NUL. */
int km_parse_mountinfo_line(char *line, size_t len, struct km_mountinfo *out);

/* The text of a macro's value (KM_STR(KM_RULE_DIR_TRIES) is "5"). */
#define KM_STR_(x) #x
#define KM_STR(x) KM_STR_(x)

/* rulefiles.c: largest rule file read_rules_dir reads by default (bytes). */
#define KM_RULE_FILE_MAX (1024 * 1024)
/* Most bytes of all the rule files of one directory together. */
#define KM_RULE_DIR_BYTES_MAX (16 * 1024 * 1024)
/* Most entries of a rules directory (rule files or not). */
#define KM_RULE_DIR_ENTRIES_MAX 4096
/* Most directories checked above a rules directory (up to /). */
#define KM_RULE_DIR_DEPTH_MAX 1024
/* Times a rules directory is read when it changed while it was read. */
#define KM_RULE_DIR_TRIES 5

/* Each concern's functions, assembled by core.c. */
extern const luaL_Reg km_stat_funcs[];
extern const luaL_Reg km_path_funcs[];
extern const luaL_Reg km_mounts_funcs[];
extern const luaL_Reg km_count_funcs[];
extern const luaL_Reg km_sysfs_funcs[];
extern const luaL_Reg km_dest_funcs[];
extern const luaL_Reg km_rulefiles_funcs[];

/* Registers the metatable of mount-table objects (mounts.c). */
void km_mounts_open(lua_State *L);

int luaopen_katamount_core(lua_State *L);

#endif /* KATAMOUNT_H */
