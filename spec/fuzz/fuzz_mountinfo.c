/*
 * fuzz_mountinfo.c -- libFuzzer target for the mountinfo parsers of the core:
 * km_parse_mountinfo_line and km_unescape over arbitrary bytes, then the
 * whole `core.mounts(path)` reader (line splitting, long and truncated lines,
 * NUL bytes) over the same bytes served from a memfd.
 *
 * Invariants checked (a violation aborts, which libFuzzer reports):
 *  - km_unescape never grows its input;
 *  - a parsed line's strings all lie inside the line buffer and end there;
 *  - core.mounts never raises: it returns a table or nil, message, errno;
 *    #t equals the number of entries t:entries() yields, and every entry's
 *    mount point is found again by t:lookup.
 */
#include "katamount.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lualib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static lua_State *fz_L;
static int fz_memfd = -1;
static char fz_path[64];

static void fz_check_field(const char *f, const char *line, size_t len)
{
    if (f == NULL)
        return;
    if (f < line || f > line + len)
        abort();
    /* the field is NUL-terminated inside line[0..len] */
    if (memchr(f, '\0', (size_t)(line + len + 1 - f)) == NULL)
        abort();
}

static void fz_parse(const uint8_t *data, size_t size)
{
    struct km_mountinfo mi;
    char *line = malloc(size + 1);
    char *esc = malloc(size ? size : 1);
    size_t n;
    if (line == NULL || esc == NULL)
        abort();
    memcpy(line, data, size);
    line[size] = '\0';
    memset(&mi, 0, sizeof mi);
    if (km_parse_mountinfo_line(line, size, &mi) == 0) {
        fz_check_field(mi.root, line, size);
        fz_check_field(mi.mount_point, line, size);
        fz_check_field(mi.options, line, size);
        fz_check_field(mi.optional, line, size);
        fz_check_field(mi.fstype, line, size);
        fz_check_field(mi.source, line, size);
        fz_check_field(mi.super_options, line, size);
    }
    /* km_unescape on an exact-size copy: no terminator to lean on */
    memcpy(esc, data, size);
    n = km_unescape(esc, size);
    if (n > size)
        abort();
    free(line);
    free(esc);
}

/* Lua side: core.mounts(memfd path) and walk the table. */
static const char fz_walk[] =
    "local core, path = ...\n"
    "if type(core.mounts) ~= 'function' then return end\n"
    "local t, msg, err = core.mounts(path)\n"
    "if t == nil then\n"
    "  assert(type(msg) == 'string' and math.type(err) == 'integer', 'bad failure shape')\n"
    "  return\n"
    "end\n"
    "local n = 0\n"
    "for e in t:entries() do\n"
    "  n = n + 1\n"
    "  assert(type(e) == 'table' and type(e.mount_point) == 'string', 'bad entry')\n"
    "  local v = t:lookup(e.mount_point)\n"
    "  assert(v ~= nil and v.mount_point == e.mount_point, 'lookup lost ' .. e.mount_point)\n"
    "end\n"
    "assert(n == #t, ('#t %d ~= %d entries'):format(#t, n))\n"
    "t:changed()\n";

static void fz_lua(const uint8_t *data, size_t size)
{
    int top = lua_gettop(fz_L);
    if (ftruncate(fz_memfd, 0) != 0 || pwrite(fz_memfd, data, size, 0) != (ssize_t)size)
        abort();
    if (luaL_loadbuffer(fz_L, fz_walk, sizeof fz_walk - 1, "=fuzz_walk") != LUA_OK)
        abort();
    lua_getfield(fz_L, LUA_REGISTRYINDEX, "fz_core");
    lua_pushstring(fz_L, fz_path);
    if (lua_pcall(fz_L, 2, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_mountinfo: Lua error: %s\n", lua_tostring(fz_L, -1));
        abort();
    }
    lua_settop(fz_L, top);
    lua_gc(fz_L, LUA_GCCOLLECT);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fz_L = luaL_newstate();
    if (fz_L == NULL)
        abort();
    luaL_openlibs(fz_L);
    luaL_requiref(fz_L, "katamount.core", luaopen_katamount_core, 0);
    lua_setfield(fz_L, LUA_REGISTRYINDEX, "fz_core");
    fz_memfd = memfd_create("fuzz_mountinfo", MFD_CLOEXEC);
    if (fz_memfd < 0)
        abort();
    snprintf(fz_path, sizeof fz_path, "/proc/self/fd/%d", fz_memfd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_parse(data, size);
    fz_lua(data, size);
    return 0;
}
