/*
 * dirents.c -- reading directories with getdents64(2): the call (retried
 * on EINTR), the checked walk over its records, and the growable blocks
 * the readers keep names and frames in. Shared by count.c and listdir.c.
 *
 * No Lua functions: helpers declared in katamount.h.
 */
#include "katamount.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void *km_grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 16;
    void *np;
    if (need <= *cap)
        return p;
    while (ncap < need)
        ncap *= 2;
    np = realloc(p, ncap * size);
    if (np != NULL)
        *cap = ncap;
    return np;
}

long km_getdents(int fd, char *buf, size_t size)
{
    long n;
    do
        n = syscall(SYS_getdents64, fd, buf, size);
    while (n < 0 && errno == EINTR);
    return n;
}

const struct km_dirent64 *km_dirent_at(const char *buf, size_t pos, size_t end)
{
    const struct km_dirent64 *d = (const struct km_dirent64 *)(const void *)(buf + pos);
    if (end - pos < KM_DIRENT_NAME_OFF + 1 || d->d_reclen < KM_DIRENT_NAME_OFF + 1 ||
        d->d_reclen > end - pos ||
        memchr(d->d_name, '\0', d->d_reclen - KM_DIRENT_NAME_OFF) == NULL)
        return NULL;
    return d;
}

int km_is_dot(const char *name)
{
    return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}
