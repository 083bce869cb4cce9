/* count.c -- TODO */
#include "katamount.h"

const luaL_Reg km_count_funcs[] = {
    {NULL, NULL}
};
