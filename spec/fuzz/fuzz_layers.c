/*
 * fuzz_layers.c -- libFuzzer target for the layer-option parser, which is
 * Lua (lua/katamount/layers.lua, pure: no core). The target embeds Lua 5.4,
 * loads the module once and calls `parse(input)` for each input, both as
 * given and as the value of an `io.katacontainers.fs-opt.layer=` option.
 *
 * A finding is: any Lua error raised by parse (it must return a table or
 * nil, message), a result of the wrong shape, or runaway work (an
 * instruction budget per call). Lua line coverage guides the fuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef KM_LUA_DIR
#define KM_LUA_DIR "lua"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static lua_State *fz_L;
static unsigned long fz_calls;

/*
 * Coverage of the Lua code, which the compiler cannot instrument: a line
 * hook hashes (chunk, previous line, line) into libFuzzer's extra counters,
 * so that inputs reaching new lines or line-to-line edges of the parser are
 * kept. The count hook is the runaway guard: 10 million VM instructions.
 */
#define FZ_COUNTERS (1 << 14)
__attribute__((section("__libfuzzer_extra_counters")))
static uint8_t fz_counters[FZ_COUNTERS];
static uintptr_t fz_prev;

static void fz_hook(lua_State *L, lua_Debug *ar)
{
    if (ar->event == LUA_HOOKCOUNT) {
        luaL_error(L, "instruction budget exhausted");
        return;
    }
    if (ar->event == LUA_HOOKLINE && lua_getinfo(L, "S", ar)) {
        uintptr_t cur = ((uintptr_t)ar->source * 31u) ^ ((uintptr_t)ar->currentline * 2654435761u);
        fz_counters[(cur ^ (fz_prev >> 1)) & (FZ_COUNTERS - 1)]++;
        fz_prev = cur;
    }
}

static const char fz_setup[] =
    "local dir = ...\n"
    "package.path = dir .. '/?.lua;' .. dir .. '/?/init.lua;' .. package.path\n"
    "local layers = require('katamount.layers')\n"
    "assert(type(layers.parse) == 'function', 'layers.parse missing')\n"
    "local function check(opt)\n"
    "  local r, msg = layers.parse(opt)\n"
    "  if r == nil then\n"
    "    assert(type(msg) == 'string' and #msg > 0, 'nil without a message')\n"
    "  else\n"
    "    assert(type(r) == 'table', 'parse returned a ' .. type(r))\n"
    "  end\n"
    "end\n"
    "return function(input)\n"
    "  check(input)\n"
    "  check('io.katacontainers.fs-opt.layer=' .. input)\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    fz_L = luaL_newstate();
    if (fz_L == NULL)
        abort();
    luaL_openlibs(fz_L);
    if (luaL_loadbuffer(fz_L, fz_setup, sizeof fz_setup - 1, "=fuzz_layers") != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(fz_L, -1));
        abort();
    }
    lua_pushstring(fz_L, KM_LUA_DIR);
    if (lua_pcall(fz_L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_layers: cannot load the parser: %s\n", lua_tostring(fz_L, -1));
        abort();
    }
    lua_setfield(fz_L, LUA_REGISTRYINDEX, "fz_check");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_getfield(fz_L, LUA_REGISTRYINDEX, "fz_check");
    lua_pushlstring(fz_L, (const char *)data, size);
    fz_prev = 0;
    lua_sethook(fz_L, fz_hook, LUA_MASKLINE | LUA_MASKCOUNT, 10000000);
    if (lua_pcall(fz_L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_layers: Lua error: %s\n", lua_tostring(fz_L, -1));
        abort();
    }
    lua_sethook(fz_L, NULL, 0, 0);
    if (++fz_calls % 256 == 0)
        lua_gc(fz_L, LUA_GCCOLLECT);
    return 0;
}
