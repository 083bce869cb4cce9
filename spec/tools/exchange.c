/*
 * exchange.c -- a spec's attacker: swap two paths atomically, again and
 * again, until killed (renameat2 RENAME_EXCHANGE, which any user with
 * write access to the directories may make: a directory and a symlink
 * trade places with no moment where either name is missing).
 *
 *   exchange A B
 *
 * Exits 1 with a message when the first exchange fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned long n;
    if (argc != 3) {
        fprintf(stderr, "usage: exchange A B\n");
        return 2;
    }
    for (n = 0;; n++) {
        if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0 && n == 0) {
            fprintf(stderr, "exchange %s %s: %s\n", argv[1], argv[2], strerror(errno));
            return 1;
        }
    }
}
