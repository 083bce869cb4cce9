/*
 * mkfiles.c -- create N empty files PREFIX1..PREFIXN in DIR fast (openat +
 * close, no process per file): the benchmarks' large directories; with
 * "dirs", N empty directories instead (mkdirat).
 *
 *   mkfiles DIR N [PREFIX [dirs]]
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *prefix = argc > 3 ? argv[3] : "f";
    int dirs = argc > 4 && strcmp(argv[4], "dirs") == 0;
    long n, i;
    int dfd;
    char name[256];
    if (argc < 3) {
        fprintf(stderr, "usage: mkfiles DIR N [PREFIX [dirs]]\n");
        return 2;
    }
    n = strtol(argv[2], NULL, 10);
    dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        fprintf(stderr, "mkfiles: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (i = 1; i <= n; i++) {
        int fd;
        if (snprintf(name, sizeof name, "%s%ld", prefix, i) >= (int)sizeof name) {
            fprintf(stderr, "mkfiles: prefix too long\n");
            return 2;
        }
        if (dirs) {
            if (mkdirat(dfd, name, 0755) != 0) {
                fprintf(stderr, "mkfiles: %s/%s: %s\n", argv[1], name, strerror(errno));
                return 1;
            }
            continue;
        }
        fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "mkfiles: %s/%s: %s\n", argv[1], name, strerror(errno));
            return 1;
        }
        close(fd);
    }
    close(dfd);
    return 0;
}
