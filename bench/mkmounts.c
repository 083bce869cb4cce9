/*
 * mkmounts.c -- grow the mount table with mount(2) directly (no `mount`
 * process per mount): bind-mounts SRC on BASE/m<FIRST>..BASE/m<LAST>,
 * creating the directories. Run only inside a private mount namespace;
 * tear down with one lazy unmount of BASE's file system.
 *
 *   mkmounts SRC BASE FIRST LAST
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long first, last, i;
    char path[4096];
    if (argc != 5) {
        fprintf(stderr, "usage: mkmounts SRC BASE FIRST LAST\n");
        return 2;
    }
    first = strtol(argv[3], NULL, 10);
    last = strtol(argv[4], NULL, 10);
    for (i = first; i <= last; i++) {
        if (snprintf(path, sizeof path, "%s/m%ld", argv[2], i) >= (int)sizeof path) {
            fprintf(stderr, "mkmounts: path too long\n");
            return 2;
        }
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "mkmounts: mkdir %s: %s\n", path, strerror(errno));
            return 1;
        }
        if (mount(argv[1], path, NULL, MS_BIND, NULL) != 0) {
            fprintf(stderr, "mkmounts: bind %s on %s: %s\n", argv[1], path, strerror(errno));
            return 1;
        }
    }
    return 0;
}
