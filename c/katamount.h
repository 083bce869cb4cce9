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
#include <stdint.h>
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
/* Work units (a directory opened, an entry read) count_files may spend per
 * unit of (limit + 1); past them it answers -1, as past the limit. */
#define KM_COUNT_WORK_PER_LIMIT 64
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

/* ------------------------------------------------------------ errors.c */

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

/* Same, the message formatted (lua_pushfstring) from `fmt` and the limit
 * it quotes: `fmt` names the KM_* macro, `%I` shows its value. */
int km_push_error_limit(lua_State *L, const char *what, const char *path,
                        size_t len, const char *fmt, lua_Integer limit, int err);

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

/* path.c: Go filepath.Join of parts[0..n) (lens[i] bytes each): the
 * non-empty parts joined with '/', then cleaned into out (capacity outcap;
 * KM_PATH_MAX + 2 always suffices). Returns the length written (0: every
 * part empty, out ""), or (size_t)-1 when the joined text would pass
 * KM_PATH_MAX bytes or out is too small. */
size_t km_join_paths(const char *const *parts, const size_t *lens, size_t n, char *out,
                     size_t outcap);
/* The most parts core.join takes. */
#define KM_JOIN_PARTS_MAX 32

/* mountinfo.c: decode the kernel's octal escapes (\040 and friends) of
 * s[0..len) in place; returns the decoded length. */
size_t km_unescape(char *s, size_t len);

/* mountinfo.c: one parsed /proc/self/mountinfo line. The strings point into the
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

/* mountinfo.c: parse one line of line[0..len) (no newline) in place;
 * 0 on success, -1 when the line is malformed. Never writes outside
 * line[0..len). root, mount_point, fstype and source are unescaped;
 * options and super_options keep their escapes, so that an escaped comma
 * (\054) stays inside its item: split them on ',' and km_unescape each item.
 * km_unescape leaves \000 as is: a decoded field never holds a NUL. */
int km_parse_mountinfo_line(char *line, size_t len, struct km_mountinfo *out);

/* -------------------------------------------------------- mountentry.c */

/* The fields of one mount entry, as strings. */
enum { KM_F_ROOT, KM_F_MNT, KM_F_OPTS, KM_F_OPTIONAL, KM_F_FSTYPE,
       KM_F_SOURCE, KM_F_SUPER, KM_F_N };

/* One entry: strings point into a table's text (or into a statmount
 * answer), with their lengths; options, super_options and optional keep
 * their escapes (decoded item by item when the table is built). */
struct km_ent {
    long long id, parent;
    unsigned int major, minor;
    const char *str[KM_F_N];
    size_t len[KM_F_N];
};

/* Push the entry table of e. */
void km_push_entry(lua_State *L, const struct km_ent *e);

/* Append the `sep`-separated items of s[0..n) (empty items dropped), each
 * unescaped, to the array at the top of the stack. */
void km_append_items(lua_State *L, const char *s, size_t n, char sep);

/* -------------------------------------------------------- mountindex.c */

/* An index of entries by mount point. */
struct km_index {
    uint32_t *slots;        /* entry index + 1, 0 empty (KM_MOUNTS_MAX fits) */
    size_t mask;            /* slots - 1 (a power of two) */
    uint64_t key[2];        /* the SipHash key, drawn per index */
    size_t probes;          /* slots probed while building (t:_index_cost) */
    size_t longest;         /* the longest probe run among them */
};

/* Index ents[0..n) by mount point (a later entry on the same mount point
 * replaces the earlier one) under a fresh key. 0, or ENOMEM. */
int km_index_build(struct km_index *ix, const struct km_ent *ents, size_t n);

/* The index in ents of the last entry mounted on key[0..len), or -1. */
long km_index_find(const struct km_index *ix, const struct km_ent *ents,
                   const char *key, size_t len);

/* Free the index's slots (idempotent). */
void km_index_free(struct km_index *ix);

/* -------------------------------------------------------- mounttable.c */

/* The mount table the core reads when no file is given. */
#define KM_MOUNTINFO_DEFAULT "/proc/self/mountinfo"

struct km_mounts;

/*
 * Read the mount table file `path` into a new table object, pushed on the
 * stack; returns 0 with *out set. On failure pushes
 * `nil, "<what> '<path>': ...", errno` and returns 3 (the object, emptied,
 * stays below them).
 */
int km_mounts_load(lua_State *L, const char *what, const char *path,
                   size_t plen, struct km_mounts **out);

/* Close the table's descriptor and free its memory (idempotent; the
 * object itself is Lua's). */
void km_mounts_release(struct km_mounts *m);

/* The entry mounted last on path[0..len) ("/a/b/" finds "/a/b"), or NULL. */
const struct km_ent *km_mounts_find_path(const struct km_mounts *m,
                                         const char *path, size_t len);

/* The entry of mountinfo id `id` (the last one listed), or NULL. */
const struct km_ent *km_mounts_find_id(const struct km_mounts *m, long long id);

/* Registers the metatable of mount-table objects. */
void km_mounts_open(lua_State *L);
void km_stat_open(lua_State *L);

/* ----------------------------------------------------------- dirents.c */

/* A getdents64 record (struct linux_dirent64). */
struct km_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};
#define KM_DIRENT_NAME_OFF offsetof(struct km_dirent64, d_name)

/* getdents64 of fd into buf[0..size), retried on EINTR: bytes read, 0 at
 * the end, -1 with errno set. */
long km_getdents(int fd, char *buf, size_t size);

/* The record at buf[pos..end), checked (length, NUL-terminated name);
 * NULL when malformed. */
const struct km_dirent64 *km_dirent_at(const char *buf, size_t pos, size_t end);

/* Whether name is "." or "..". */
int km_is_dot(const char *name);

/* One directory's names (without "." and ".."): NUL-terminated end to
 * end in `names`, `sorted` pointing into it in bytewise order. */
struct km_names {
    char *names;
    size_t names_len, names_cap;
    size_t *offs;           /* where each name starts */
    size_t noffs, offs_cap;
    const char **sorted;
    size_t sorted_cap;
};

/* Read the names of directory fd into n (reused: its blocks grow), through
 * the getdents64 buffer buf[0..bufsz), and sort them; at most `most`: one
 * more sets *over and stops reading. 0 or an errno (EIO: a malformed
 * record). */
int km_names_read(int fd, char *buf, size_t bufsz, size_t most, struct km_names *n, int *over);

/* Free n's blocks (n is zeroed: reusable). */
void km_names_free(struct km_names *n);

/* The block p of *cap elements of `size` bytes, grown (doubling, from 16)
 * to hold `need`: returns it (maybe moved), or NULL when out of memory (p
 * stays valid, *cap unchanged). */
void *km_grow(void *p, size_t *cap, size_t need, size_t size);

/* --------------------------------------------------------- rulefiles.c */

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
/* Room for "<dir>/<name>" (bytes). */
#define KM_RULE_PATH_CAP (KM_PATH_MAX + NAME_MAX + 2)

/* ------------------------------------------------------- rulelisting.c */

/* One entry of a listing. */
struct km_rent {
    size_t off;         /* where its name starts in the listing's names */
    ino_t ino;
};

/* A directory's names (sorted once complete) and inode numbers. */
struct km_listing {
    char *names;        /* NUL-terminated, end to end */
    size_t names_len, names_cap;
    struct km_rent *ents;
    size_t n, cap;
    const char **sorted;  /* the names in order; sorted_ino[i] is its inode */
    ino_t *sorted_ino;
};

/* Free what *l holds and empty it (idempotent). */
void km_listing_free(struct km_listing *l);

/* List directory dirfd into *l (names sorted, "." and ".." left out); 0 or
 * an errno (E2BIG past KM_RULE_DIR_ENTRIES_MAX). */
int km_list_dir_fd(int dirfd, struct km_listing *l);

/* Whether two listings hold the same names with the same inodes. */
int km_same_listing(const struct km_listing *a, const struct km_listing *b);

/* --------------------------------------------------------- ruletrust.c */

struct stat;

/* Why `st` may not hold rules (NULL when it may); the reason written to
 * buf[0..cap). sticky_ok: a sticky directory owned by root may be
 * group- or world-writable. */
const char *km_rule_untrusted(const struct stat *st, uid_t euid, int sticky_ok,
                              char *buf, size_t cap);

/* Check the rules directory dirfd (its status st) and every directory above
 * it up to /; *upfd holds the directory above while walking (closed and -1
 * on return). 0, or an errno with the reason in msg[0..cap). */
int km_rule_check_chain(int dirfd, int *upfd, const struct stat *st, char *msg,
                        size_t cap);

/* ------------------------------------------------------------- core.c */

/* Each concern's functions, assembled by core.c. */
extern const luaL_Reg km_stat_funcs[];
extern const luaL_Reg km_path_funcs[];
extern const luaL_Reg km_mounts_funcs[];
extern const luaL_Reg km_statmount_funcs[];
extern const luaL_Reg km_count_funcs[];
extern const luaL_Reg km_list_dir_funcs[];
extern const luaL_Reg km_sysfs_funcs[];
extern const luaL_Reg km_dest_funcs[];
extern const luaL_Reg km_rulefiles_funcs[];
extern const luaL_Reg km_term_funcs[];
extern const luaL_Reg km_encode_funcs[];
extern const luaL_Reg km_readfile_funcs[];
extern const luaL_Reg km_treesize_funcs[];
extern const luaL_Reg km_ocimount_funcs[];

/* rulestate.c: a Lua state of its own per engine (new{memory=, deadline=}). */
extern const luaL_Reg km_rulestate_funcs[];
void km_rulestate_open(lua_State *L);

/* boundary.c: deepest table nesting that crosses between host and rule state. */
#define KM_BOUNDARY_DEPTH_MAX 32
/* boundary.c: most table entries one crossing copies. */
#define KM_BOUNDARY_ITEMS_MAX 200000
/* boundary.c: most string bytes one crossing copies. */
#define KM_BOUNDARY_BYTES_MAX (16 * 1024 * 1024)
/* boundary.c: entries of a table staged on the receiving stack before its
 * table is made (at its size, from what was staged: never grown and
 * rehashed entry by entry), or set on the caller's (km_copy_each's `into`).
 * A table with more is made when its entry KM_BOUNDARY_STAGED_MAX + 1
 * comes, sized by a counting pass, and takes the rest directly. */
#define KM_BOUNDARY_STAGED_MAX 16
/* Free stack slots km_copy_value needs on the state it copies from (the
 * receiving state's stack grows as the copy needs). */
#define KM_COPY_SLOTS (2 * KM_BOUNDARY_DEPTH_MAX + 8)

/* boundary.c: what one crossing (all arguments, or all results) copied. */
/* Strings a crossing element by element remembers (km_copy_each): a
 * string met again (a key of every mount or decision, a path set in two
 * fields) is the copy made the first time. A power of two. */
#define KM_COPY_STRINGS 64

struct km_copy {
    lua_Integer items;
    size_t bytes;
    char msg[160];
    /* the strings copied so far in this crossing, or NULL (none kept):
     * slot i holds the source's bytes (its string alive in the value
     * crossing, so that the address is its identity) and the copy is at
     * strings_base + i on the receiving stack */
    const char **strings;
    int strings_base;
    /* a table on the receiving stack (its index) that takes the entries of
     * the table copied at the top, in place of a new table (0: none; see
     * km_copy_each) */
    int into;
};

/* boundary.c: copy the plain value at `idx` of `from` onto `to`, charged
 * to c; 0, or -1 with c->msg saying why (the stacks then hold leftovers). */
int km_copy_value(lua_State *from, int idx, lua_State *to, struct km_copy *c);
/* boundary.c: copy the list at `idx` element by element, each element with
 * bounds of its own (one that cannot cross arrives as {error = message});
 * with `into` (a list's index on `to`, else 0), an element's entries go
 * into the table into[i] where they can (see km_copy_each). */
int km_copy_each(lua_State *from, int idx, lua_State *to, struct km_copy *c, int into);

/* rulestate.c: charge `units` instructions to the rule running in rule
 * state L (nothing outside rule code); raises past its budget or deadline. */
void km_rule_charge(lua_State *L, lua_Integer units);
/* A library call in a rule state is charged one instruction per this many
 * bytes it reads or writes. */
#define KM_RULE_BYTES_PER_STEP 16

/* rulelib.c: the bounded string, table, utf8 and math libraries of a rule
 * state (opened inside it). */
void km_rulelib_open(lua_State *L);

/* rulestring.c: charge `bytes` bytes of library work (and one call) to the
 * rule running in rule state L. */
void km_rule_charge_bytes(lua_State *L, size_t bytes);
/* rulestring.c: string find, match, gmatch, gsub and rep of a rule state. */
extern const luaL_Reg km_rulestring_funcs[];

int luaopen_katamount_core(lua_State *L);

#endif /* KATAMOUNT_H */
