/*
 * term.c -- the width of a terminal, for the command's tables.
 *
 * Lua function: terminal_width.
 *
 * One ioctl (TIOCGWINSZ) on a descriptor the caller names: no process is
 * spawned (stty, tput) and nothing is opened.
 */
/*** @submodule katamount.core */
#include "katamount.h"

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The largest descriptor asked about: a terminal is on 0, 1 or 2. */
#define KM_TERM_FD_MAX 2

/***
 * The number of columns of the terminal on descriptor `fd` (0, 1 or 2;
 * default 1, standard output), 0 when the terminal does not say.
 * @function terminal_width
 * @tparam[opt=1] integer fd
 * @treturn[1] integer columns
 * @return[2] nil, message, errno (ENOTTY when `fd` is not a terminal)
 */
static int km_terminal_width(lua_State *L)
{
    lua_Integer fd = luaL_optinteger(L, 1, 1);
    struct winsize ws;
    luaL_argcheck(L, fd >= 0 && fd <= KM_TERM_FD_MAX, 1,
                  "a descriptor from 0 to " KM_STR(KM_TERM_FD_MAX) " (KM_TERM_FD_MAX)");
    memset(&ws, 0, sizeof ws);
    if (ioctl((int)fd, TIOCGWINSZ, &ws) != 0) {
        int err = errno;
        return km_push_error(L, "terminal_width", NULL, 0, err);
    }
    lua_pushinteger(L, (lua_Integer)ws.ws_col);
    return 1;
}

const luaL_Reg km_term_funcs[] = {
    {"terminal_width", km_terminal_width},
    {NULL, NULL}
};
