/*
 * encode.c -- the encodings kata names things with: Go's URL-safe base64
 * (the directory of a direct-assigned volume, a block device's guest
 * storage path) and a 64-bit FNV-1a hash shown as hex (the stand-in for
 * the random part of a shared file's name).
 *
 * Lua functions: base64url, fnv1a64.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <string.h>

/* Most bytes fnv1a64 hashes in one call (all its strings together), so
 * that one call inside a rule state costs a bounded time. */
#define KM_HASH_BYTES_MAX 65536
/* Most strings fnv1a64 takes. */
#define KM_HASH_ARGS_MAX 16

#define KM_FNV_OFFSET 0xcbf29ce484222325ULL
#define KM_FNV_PRIME 0x100000001b3ULL

static const char km_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/***
 * Go's `base64.URLEncoding.EncodeToString`: the URL-safe alphabet
 * (`-` and `_`), padded with `=`.
 * @function base64url
 * @tparam string s any bytes
 * @treturn string
 */
static int km_base64url(lua_State *L)
{
    size_t len, i, o = 0;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out;

    if (len > (SIZE_MAX - 3) / 4 * 3)
        return luaL_argerror(L, 1, "string too long to encode");
    out = luaL_buffinitsize(L, &b, (len + 2) / 3 * 4);
    for (i = 0; i + 2 < len; i += 3) {
        unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 | s[i + 2];
        out[o++] = km_b64url[v >> 18 & 63];
        out[o++] = km_b64url[v >> 12 & 63];
        out[o++] = km_b64url[v >> 6 & 63];
        out[o++] = km_b64url[v & 63];
    }
    if (i < len) {
        unsigned long v = (unsigned long)s[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)s[i + 1] << 8;
        out[o++] = km_b64url[v >> 18 & 63];
        out[o++] = km_b64url[v >> 12 & 63];
        out[o++] = i + 1 < len ? km_b64url[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    luaL_pushresultsize(&b, o);
    return 1;
}

/***
 * FNV-1a (64 bits) of the strings, each followed by a NUL byte, as 16
 * lower-case hex digits. At most KM_HASH_ARGS_MAX strings of
 * KM_HASH_BYTES_MAX bytes together (an argument error past them), so that
 * a call costs a bounded time wherever it runs.
 * @function fnv1a64
 * @tparam string ... the strings
 * @treturn string
 */
static int km_fnv1a64(lua_State *L)
{
    static const char hex[] = "0123456789abcdef";
    int n = lua_gettop(L), k;
    size_t total = 0;
    uint64_t h = KM_FNV_OFFSET;
    char out[16];

    if (n > KM_HASH_ARGS_MAX)
        return luaL_argerror(L, KM_HASH_ARGS_MAX + 1,
                             "more than KM_HASH_ARGS_MAX (" KM_STR(KM_HASH_ARGS_MAX) ") strings");
    for (k = 1; k <= n; k++) {
        size_t len, i;
        const unsigned char *s = (const unsigned char *)luaL_checklstring(L, k, &len);
        if (len > KM_HASH_BYTES_MAX - total)
            return luaL_argerror(L, k, "more than KM_HASH_BYTES_MAX ("
                                 KM_STR(KM_HASH_BYTES_MAX) ") bytes in all");
        total += len;
        for (i = 0; i < len; i++)
            h = (h ^ s[i]) * KM_FNV_PRIME;
        h *= KM_FNV_PRIME;      /* the NUL after each string */
    }
    for (k = 15; k >= 0; k--) {
        out[k] = hex[h & 15];
        h >>= 4;
    }
    lua_pushlstring(L, out, sizeof out);
    return 1;
}

const luaL_Reg km_encode_funcs[] = {
    {"base64url", km_base64url},
    {"fnv1a64", km_fnv1a64},
    {NULL, NULL}
};
