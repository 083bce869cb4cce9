/* stat.c -- TODO */
#include "katamount.h"

const luaL_Reg km_stat_funcs[] = {
    {NULL, NULL}
};
