/* dest.c -- TODO */
#include "katamount.h"

const luaL_Reg km_dest_funcs[] = {
    {NULL, NULL}
};
