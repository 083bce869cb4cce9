/*
 * rulelisting.c -- the listing of a rules directory (rulefiles.c): its
 * names, sorted, with their inode numbers, read from a descriptor, and the
 * comparison of two listings (a directory that changed while it was read).
 */
#include "katamount.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void km_listing_free(struct km_listing *l)
{
    free(l->names);
    free(l->ents);
    free(l->sorted);
    free(l->sorted_ino);
    memset(l, 0, sizeof *l);
}

/* Sort order of listing entries: by name (a pointer pair sorted together). */
struct km_sorted {
    const char *name;
    ino_t ino;
};

static int sorted_cmp(const void *a, const void *b)
{
    return strcmp(((const struct km_sorted *)a)->name, ((const struct km_sorted *)b)->name);
}

/* List r->dirfd into *l (names sorted, "." and ".." left out); 0 or an
 * errno (E2BIG past KM_RULE_DIR_ENTRIES_MAX). A fresh descriptor of the
 * same directory ("." of it) is read, so that each listing starts at the
 * beginning. */
int km_list_dir_fd(int dirfd, struct km_listing *l)
{
    struct km_sorted *tmp;
    struct dirent *d;
    DIR *dir;
    size_t i;
    int fd, err = 0;

    km_listing_free(l);
    fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    dir = fdopendir(fd);
    if (dir == NULL) {
        err = errno;
        close(fd);
        return err;
    }
    for (;;) {
        size_t nl;
        void *p;
        errno = 0;
        d = readdir(dir);
        if (d == NULL) {
            err = errno;
            break;
        }
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (l->n == KM_RULE_DIR_ENTRIES_MAX) {
            err = E2BIG;
            break;
        }
        nl = strlen(d->d_name) + 1;
        p = km_grow(l->names, &l->names_cap, l->names_len + nl, 1);
        if (p == NULL) {
            err = ENOMEM;
            break;
        }
        l->names = p;
        p = km_grow(l->ents, &l->cap, l->n + 1, sizeof *l->ents);
        if (p == NULL) {
            err = ENOMEM;
            break;
        }
        l->ents = p;
        memcpy(l->names + l->names_len, d->d_name, nl);
        l->ents[l->n].off = l->names_len;
        l->ents[l->n].ino = d->d_ino;
        l->n++;
        l->names_len += nl;
    }
    closedir(dir);
    if (err != 0 || l->n == 0)
        return err;
    tmp = malloc(l->n * sizeof *tmp);
    l->sorted = malloc(l->n * sizeof *l->sorted);
    l->sorted_ino = malloc(l->n * sizeof *l->sorted_ino);
    if (tmp == NULL || l->sorted == NULL || l->sorted_ino == NULL) {
        free(tmp);
        return ENOMEM;
    }
    for (i = 0; i < l->n; i++) {
        tmp[i].name = l->names + l->ents[i].off;
        tmp[i].ino = l->ents[i].ino;
    }
    qsort(tmp, l->n, sizeof *tmp, sorted_cmp);
    for (i = 0; i < l->n; i++) {
        l->sorted[i] = tmp[i].name;
        l->sorted_ino[i] = tmp[i].ino;
    }
    free(tmp);
    return 0;
}

int km_same_listing(const struct km_listing *a, const struct km_listing *b)
{
    size_t i;
    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++) {
        if (a->sorted_ino[i] != b->sorted_ino[i] || strcmp(a->sorted[i], b->sorted[i]) != 0)
            return 0;
    }
    return 1;
}
