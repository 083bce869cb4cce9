/*
 * statmount.c -- the lookups of one path: mount_entry, is_mount_point and
 * statmount_supported, answered by statx + statmount(2) where the kernel
 * has them (Linux 6.8+) and by the mount table (mounttable.c) otherwise.
 *
 * Lua functions: mount_entry, statmount_supported, is_mount_point.
 */
/*** @submodule katamount.core */
#include "katamount.h"
#include "kernel_uapi.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The stack buffer for a statmount(2) answer; larger answers use the heap. */
#define KM_STATMOUNT_BUF_FIRST 4096

static int not_a_mount_point(lua_State *L, const char *path, size_t len)
{
    return km_push_error_msg(L, "mount_entry", path, len, "not a mount point", EINVAL);
}

/* The entry of `path` (or of mount id `id` when id >= 0) from the mount
 * table file `info`: pushes the entry (1) or the failure triple (3). */
static int entry_from_table(lua_State *L, const char *path, size_t len,
                            long long id, const char *info, size_t ilen)
{
    struct km_mounts *m;
    const struct km_ent *e;
    int rc = km_mounts_load(L, "mount_entry", info, ilen, &m);
    if (rc != 0)
        return rc;
    e = id >= 0 ? km_mounts_find_id(m, id) : km_mounts_find_path(m, path, len);
    if (e == NULL) {
        km_mounts_release(m);
        return not_a_mount_point(L, path, len);
    }
    km_push_entry(L, e);
    km_mounts_release(m);
    return 1;
}

static int do_statx(const char *path, unsigned int mask, struct statx *sx)
{
    memset(sx, 0, sizeof *sx);
    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, mask, sx);
}

/* A string of a statmount answer: present (mask bit set, offset inside the
 * answer and NUL-terminated there), or "" when the kernel supports the bit
 * but had nothing to say. Returns 0, or -1 when the answer cannot be used. */
static int sm_string(const struct km_statmount *sm, const char *str, size_t strsize,
                     uint64_t bit, uint32_t off, uint64_t supported,
                     const char **s, size_t *n)
{
    const char *end;
    if ((sm->mask & bit) == 0) {
        if ((supported & bit) == 0)
            return -1;
        *s = "";
        *n = 0;
        return 0;
    }
    if (off >= strsize)
        return -1;
    end = memchr(str + off, '\0', strsize - off);
    if (end == NULL)
        return -1;
    *s = str + off;
    *n = (size_t)(end - *s);
    return 0;
}

/* Append ",word" (or "word" at the start) to buf[*n..cap). */
static void add_word(char *buf, size_t cap, size_t *n, const char *word)
{
    size_t wl = strlen(word);
    if (*n + wl + 2 > cap)
        return;
    if (*n > 0)
        buf[(*n)++] = ',';
    memcpy(buf + *n, word, wl);
    *n += wl;
    buf[*n] = '\0';
}

/* A word of the options mountinfo shows, shown when (flags & mask) == value. */
struct km_flag_word {
    uint64_t mask;
    uint64_t value;
    const char *word;
};

/* The per-mount options after "ro"/"rw", in mountinfo's order
 * (strictatime: mountinfo shows nothing for it). */
static const struct km_flag_word km_mnt_words[] = {
    {MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSUID, "nosuid"},
    {MOUNT_ATTR_NODEV, MOUNT_ATTR_NODEV, "nodev"},
    {MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOEXEC, "noexec"},
    {MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME, "noatime"},
    {MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NODIRATIME, "nodiratime"},
    {MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME, "relatime"},
    {MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"},
    {MOUNT_ATTR_IDMAP, MOUNT_ATTR_IDMAP, "idmapped"},
};

/* The super-block flags after "ro"/"rw" (the file system's own options
 * follow them). */
static const struct km_flag_word km_sb_words[] = {
    {KM_SB_SYNCHRONOUS, KM_SB_SYNCHRONOUS, "sync"},
    {KM_SB_DIRSYNC, KM_SB_DIRSYNC, "dirsync"},
    {KM_SB_LAZYTIME, KM_SB_LAZYTIME, "lazytime"},
};

/* buf = first, then each word whose flags match, comma-separated; returns
 * the length. */
static size_t add_words(char *buf, size_t cap, uint64_t flags, const char *first,
                        const struct km_flag_word *words, size_t nwords)
{
    size_t n = 0, i;
    buf[0] = '\0';
    add_word(buf, cap, &n, first);
    for (i = 0; i < nwords; i++) {
        if ((flags & words[i].mask) == words[i].value)
            add_word(buf, cap, &n, words[i].word);
    }
    return n;
}

/* Push the entry table from a statmount answer; 0 when the answer lacks
 * something (the caller then reads the table), 1 when pushed. */
static int push_statmount_entry(lua_State *L, const struct km_statmount *sm, size_t got)
{
    const uint64_t need = STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC | STATMOUNT_MNT_ROOT |
                          STATMOUNT_MNT_POINT | STATMOUNT_FS_TYPE;
    const char *str = (const char *)sm + KM_STATMOUNT_FIXED;
    size_t strsize, n;
    uint64_t supported = 0;
    struct km_ent e;
    const char *sub = "", *mopts = "";
    size_t subn = 0, moptsn = 0;
    char opts[128], super[64];
    lua_Integer k = 0;

    if (got <= KM_STATMOUNT_FIXED || (sm->mask & need) != need)
        return 0;
    strsize = got - KM_STATMOUNT_FIXED;
    if (sm->mask & STATMOUNT_SUPPORTED_MASK)
        supported = sm->supported_mask;
    memset(&e, 0, sizeof e);
    if (sm_string(sm, str, strsize, STATMOUNT_MNT_ROOT, sm->mnt_root, 0,
                  &e.str[KM_F_ROOT], &e.len[KM_F_ROOT]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_MNT_POINT, sm->mnt_point, 0,
                  &e.str[KM_F_MNT], &e.len[KM_F_MNT]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_FS_TYPE, sm->fs_type, 0,
                  &e.str[KM_F_FSTYPE], &e.len[KM_F_FSTYPE]) != 0 ||
        sm_string(sm, str, strsize, STATMOUNT_MNT_OPTS, sm->mnt_opts, supported,
                  &mopts, &moptsn) != 0 ||
        /* no SB_SOURCE bit: mountinfo says "" or "none", statmount cannot
         * tell which; supported=0 sends that case to the table */
        sm_string(sm, str, strsize, STATMOUNT_SB_SOURCE, sm->sb_source, 0,
                  &e.str[KM_F_SOURCE], &e.len[KM_F_SOURCE]) != 0)
        return 0;
    /* the subtype came with SB_SOURCE (Linux 6.11): missing means none */
    if (sm_string(sm, str, strsize, STATMOUNT_FS_SUBTYPE, sm->fs_subtype,
                  STATMOUNT_FS_SUBTYPE, &sub, &subn) != 0)
        return 0;
    if (e.len[KM_F_MNT] == 0 || e.len[KM_F_FSTYPE] == 0)
        return 0;                       /* unreachable from our root */
    e.id = (long long)sm->mnt_id_old;
    e.parent = (long long)sm->mnt_parent_id_old;
    e.major = sm->sb_dev_major;
    e.minor = sm->sb_dev_minor;

    /* per-mount options, then super-block flags, as mountinfo shows them */
    n = add_words(opts, sizeof opts, sm->mnt_attr,
                  (sm->mnt_attr & MOUNT_ATTR_RDONLY) ? "ro" : "rw", km_mnt_words,
                  sizeof km_mnt_words / sizeof km_mnt_words[0]);
    e.str[KM_F_OPTS] = opts;
    e.len[KM_F_OPTS] = n;
    n = add_words(super, sizeof super, sm->sb_flags,
                  (sm->sb_flags & KM_SB_RDONLY) ? "ro" : "rw", km_sb_words,
                  sizeof km_sb_words / sizeof km_sb_words[0]);
    e.str[KM_F_SUPER] = super;
    e.len[KM_F_SUPER] = n;
    e.str[KM_F_OPTIONAL] = "";

    km_push_entry(L, &e);
    /* super_options: the file system's options follow the flags */
    lua_getfield(L, -1, "super_options");
    km_append_items(L, mopts, moptsn, ',');
    lua_pop(L, 1);
    /* fstype.subtype */
    if (subn > 0) {
        lua_pushlstring(L, e.str[KM_F_FSTYPE], e.len[KM_F_FSTYPE]);
        lua_pushliteral(L, ".");
        lua_pushlstring(L, sub, subn);
        lua_concat(L, 3);
        lua_setfield(L, -2, "fstype");
    }
    /* optional fields: shared:N master:N propagate_from:N unbindable */
    lua_getfield(L, -1, "optional");
    if (sm->mnt_propagation & KM_MS_SHARED) {
        lua_pushfstring(L, "shared:%I", (lua_Integer)sm->mnt_peer_group);
        lua_rawseti(L, -2, ++k);
    }
    if (sm->mnt_propagation & KM_MS_SLAVE) {
        lua_pushfstring(L, "master:%I", (lua_Integer)sm->mnt_master);
        lua_rawseti(L, -2, ++k);
        if ((sm->mask & STATMOUNT_PROPAGATE_FROM) && sm->propagate_from != 0 &&
            sm->propagate_from != sm->mnt_master) {
            lua_pushfstring(L, "propagate_from:%I", (lua_Integer)sm->propagate_from);
            lua_rawseti(L, -2, ++k);
        }
    }
    if (sm->mnt_propagation & KM_MS_UNBINDABLE) {
        lua_pushliteral(L, "unbindable");
        lua_rawseti(L, -2, ++k);
    }
    lua_pop(L, 1);
    return 1;
}

/* statmount(2) of unique mount id `id` into a buffer that grows as needed
 * (up to KM_STATMOUNT_BUF_MAX). Pushes the entry and returns 1, or returns
 * 0 (nothing pushed) when the table must answer instead. */
static int entry_from_statmount(lua_State *L, uint64_t id)
{
    union {
        struct km_statmount sm;
        char bytes[KM_STATMOUNT_BUF_FIRST];
    } first;
    struct km_statmount *sm = &first.sm;
    size_t size = sizeof first;
    const uint64_t mask = STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC | STATMOUNT_PROPAGATE_FROM |
                          STATMOUNT_MNT_ROOT | STATMOUNT_MNT_POINT | STATMOUNT_FS_TYPE |
                          STATMOUNT_MNT_OPTS | STATMOUNT_FS_SUBTYPE | STATMOUNT_SB_SOURCE |
                          STATMOUNT_SUPPORTED_MASK;
    int top = lua_gettop(L), rc;
    for (;;) {
        struct km_mnt_id_req req;
        long r;
        memset(&req, 0, sizeof req);
        req.size = KM_MNT_ID_REQ_SIZE_VER0;
        req.mnt_id = id;
        req.param = mask;
        memset(sm, 0, KM_STATMOUNT_FIXED);
        r = syscall(SYS_statmount, &req, sm, size, 0);
        if (r == 0)
            break;
        /* ENOSYS, EINVAL (older kernel), EPERM (filtered), ENOENT (gone)...:
         * the table answers */
        if (errno != EOVERFLOW || size >= KM_STATMOUNT_BUF_MAX) {
            lua_settop(L, top);
            return 0;
        }
        size *= 4;
        if (size > KM_STATMOUNT_BUF_MAX)
            size = KM_STATMOUNT_BUF_MAX;
        lua_settop(L, top);
        sm = lua_newuserdatauv(L, size, 0);   /* collected with the call */
    }
    if (sm->size < KM_STATMOUNT_FIXED || sm->size > size) {
        lua_settop(L, top);
        return 0;
    }
    rc = push_statmount_entry(L, sm, sm->size);
    if (rc == 0) {
        lua_settop(L, top);
        return 0;
    }
    if (lua_gettop(L) > top + 1)
        lua_remove(L, top + 1);               /* the heap buffer */
    return 1;
}

/***
 * The entry of a mount point: statx + statmount(2) where the kernel has
 * them (Linux 6.8+), else /proc/self/mountinfo; with `mountinfo_path`, that
 * file's table.
 * @function mount_entry
 * @tparam string mount_point
 * @tparam[opt] string mountinfo_path a mount table file to look it up in
 * @treturn[1] table `{id=, parent=, major=, minor=, root=, mount_point=,
 *   options={...}, fstype=, source=, super_options={...}, optional={...}}`
 * @return[2] nil, "mount_entry '<path>': not a mount point", EINVAL
 * @return[3] nil, message, errno for any other failure
 */
static int km_mount_entry(lua_State *L)
{
    size_t len, ilen;
    const char *path = km_check_path(L, 1, &len);
    const char *info;
    struct statx sx;
    long long old_id = -1;
    if (path == NULL)
        return km_push_path_error(L, "mount_entry", 1);
    if (!lua_isnoneornil(L, 2)) {
        info = km_check_path(L, 2, &ilen);
        if (info == NULL)
            return km_push_path_error(L, "mount_entry", 2);
        return entry_from_table(L, path, len, -1, info, ilen);
    }
    if (do_statx(path, STATX_MNT_ID_UNIQUE, &sx) != 0) {
        int err = errno;
        if (err != ENOSYS)
            return km_push_error(L, "mount_entry", path, len, err);
    } else {
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
            if ((sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) == 0)
                return not_a_mount_point(L, path, len);
            if ((sx.stx_mask & STATX_MNT_ID_UNIQUE) && entry_from_statmount(L, sx.stx_mnt_id))
                return 1;
            /* a mount root: the table answers by its mountinfo id */
            if (sx.stx_mask & STATX_MNT_ID) {
                old_id = (long long)sx.stx_mnt_id;
            } else if ((sx.stx_mask & STATX_MNT_ID_UNIQUE) &&
                       do_statx(path, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID)) {
                old_id = (long long)sx.stx_mnt_id;
            }
        }
    }
    return entry_from_table(L, path, len, old_id, KM_MOUNTINFO_DEFAULT,
                            sizeof KM_MOUNTINFO_DEFAULT - 1);
}

/***
 * Whether mount_entry answers a path with statx + statmount(2) here
 * (kernel, seccomp filters and all), so that a caller knows whether a
 * lookup by path reads the mount table. Probes "/" each call: call it once
 * and keep the answer.
 * @function statmount_supported
 * @treturn boolean
 */
static int km_statmount_supported(lua_State *L)
{
    struct statx sx;
    int top = lua_gettop(L);
    int ok = do_statx("/", STATX_MNT_ID_UNIQUE, &sx) == 0 &&
             (sx.stx_mask & STATX_MNT_ID_UNIQUE) != 0 &&
             entry_from_statmount(L, sx.stx_mnt_id);
    lua_settop(L, top);
    lua_pushboolean(L, ok);
    return 1;
}

/***
 * Whether a path is a mount point: statx STATX_ATTR_MOUNT_ROOT where the
 * kernel has it, else the mount table.
 * @function is_mount_point
 * @tparam string path
 * @treturn[1] boolean
 * @return[2] nil, message, errno
 */
static int km_is_mount_point(lua_State *L)
{
    size_t len;
    const char *path = km_check_path(L, 1, &len);
    struct statx sx;
    struct km_mounts *m;
    int rc;
    if (path == NULL)
        return km_push_path_error(L, "is_mount_point", 1);
    if (do_statx(path, 0, &sx) != 0) {
        int err = errno;
        if (err != ENOSYS)
            return km_push_error(L, "is_mount_point", path, len, err);
    } else if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
        lua_pushboolean(L, (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0);
        return 1;
    }
    rc = km_mounts_load(L, "is_mount_point", KM_MOUNTINFO_DEFAULT,
                     sizeof KM_MOUNTINFO_DEFAULT - 1, &m);
    if (rc != 0)
        return rc;
    rc = km_mounts_find_path(m, path, len) != NULL;
    km_mounts_release(m);
    lua_pushboolean(L, rc);
    return 1;
}

const luaL_Reg km_statmount_funcs[] = {
    {"statmount_supported", km_statmount_supported},
    {"mount_entry", km_mount_entry},
    {"is_mount_point", km_is_mount_point},
    {NULL, NULL}
};
