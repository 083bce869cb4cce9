/* path.c -- TODO */
#include "katamount.h"

const luaL_Reg km_path_funcs[] = {
    {NULL, NULL}
};
size_t km_clean_path(const char *path, size_t len, char *out, size_t outcap)
{
    (void)path; (void)len;
    if (outcap < 2) return (size_t)-1;
    out[0] = '.'; out[1] = '\0';
    return 1;
}
