/*
 * dirents.c -- reading directories with getdents64(2): the call (retried
 * on EINTR), the checked walk over its records, and the growable blocks
 * the readers keep names and frames in, and one directory's names read
 * and sorted. Shared by count.c, listdir.c and treesize.c.
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

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append name (NUL-terminated) to n; 0 or ENOMEM. */
static int names_add(struct km_names *n, const char *name)
{
    size_t nl = strlen(name) + 1, *offs;
    char *names = km_grow(n->names, &n->names_cap, n->names_len + nl, 1);
    if (names == NULL)
        return ENOMEM;
    n->names = names;
    offs = km_grow(n->offs, &n->offs_cap, n->noffs + 1, sizeof *offs);
    if (offs == NULL)
        return ENOMEM;
    n->offs = offs;
    memcpy(n->names + n->names_len, name, nl);
    n->offs[n->noffs++] = n->names_len;
    n->names_len += nl;
    return 0;
}

int km_names_read(int fd, char *buf, size_t bufsz, size_t most, struct km_names *n, int *over)
{
    size_t i;
    n->names_len = 0;
    n->noffs = 0;
    *over = 0;
    for (;;) {
        size_t pos = 0;
        long got = km_getdents(fd, buf, bufsz);
        if (got < 0)
            return errno;
        if (got == 0)
            break;
        while (pos < (size_t)got) {
            const struct km_dirent64 *d = km_dirent_at(buf, pos, (size_t)got);
            int err;
            if (d == NULL)
                return EIO;
            pos += d->d_reclen;
            if (km_is_dot(d->d_name))
                continue;
            if (n->noffs == most) {
                *over = 1;
                return 0;
            }
            err = names_add(n, d->d_name);
            if (err != 0)
                return err;
        }
    }
    if (n->noffs > 0) {
        const char **sorted = km_grow(n->sorted, &n->sorted_cap, n->noffs, sizeof *sorted);
        if (sorted == NULL)
            return ENOMEM;
        n->sorted = sorted;
        for (i = 0; i < n->noffs; i++)
            n->sorted[i] = n->names + n->offs[i];
        qsort(n->sorted, n->noffs, sizeof *n->sorted, name_cmp);
    }
    return 0;
}

void km_names_free(struct km_names *n)
{
    free(n->names);
    free(n->offs);
    free(n->sorted);
    memset(n, 0, sizeof *n);
}
