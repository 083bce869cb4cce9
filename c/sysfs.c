/* sysfs.c -- TODO */
#include "katamount.h"

const luaL_Reg km_sysfs_funcs[] = {
    {NULL, NULL}
};
