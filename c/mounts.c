/* mounts.c -- TODO */
#include "katamount.h"

const luaL_Reg km_mounts_funcs[] = {
    {NULL, NULL}
};
void km_mounts_open(lua_State *L) { (void)L; }
size_t km_unescape(char *s, size_t len) { (void)s; return len; }
int km_parse_mountinfo_line(char *line, size_t len, struct km_mountinfo *out)
{ (void)line; (void)len; (void)out; return -1; }
