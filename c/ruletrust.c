/*
 * ruletrust.c -- whether a place may hold rules: a rule file's or rules
 * directory's owner and mode, and every directory above the rules
 * directory up to / (walked by ".." from its descriptor, at most
 * KM_RULE_DIR_DEPTH_MAX), for read_rules_dir (rulefiles.c).
 */
#include "katamount.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why `st` may not hold rules (NULL when it may): its owner is neither root
 * nor `euid`, or it is group- or world-writable -- allowed only for a
 * sticky directory owned by root when `sticky_ok` (as /tmp, as OpenSSH's
 * StrictModes). The reason is written to buf. */
const char *km_rule_untrusted(const struct stat *st, uid_t euid, int sticky_ok,
                             char *buf, size_t cap)
{
    int n;
    if (st->st_uid != 0 && st->st_uid != euid) {
        n = snprintf(buf, cap, "owned by uid %lu (only root or uid %lu may own rules)",
                     (unsigned long)st->st_uid, (unsigned long)euid);
        return n < 0 || (size_t)n >= cap ? "owned by another user" : buf;
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
        return NULL;
    if (sticky_ok && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0)
        return NULL;
    n = snprintf(buf, cap, "group- or world-writable (mode %o)%s",
                 (unsigned)(st->st_mode & 07777),
                 sticky_ok ? " and not a sticky directory owned by root" : "");
    return n < 0 || (size_t)n >= cap ? "group- or world-writable" : buf;
}

/* The path of descriptor fd (from /proc/self/fd), or a stand-in. */
static void fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    ssize_t n;
    int len = snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (len > 0 && (size_t)len < sizeof link) {
        n = readlink(link, out, cap - 1);
        if (n > 0) {
            out[n] = '\0';
            return;
        }
    }
    if (cap > 0) {
        out[0] = '\0';
        strncat(out, "(a directory above it)", cap - 1);
    }
}

/* Check the rules directory (st) and every directory above it, up to the
 * root, walking ".." from the descriptor (the directories really above the
 * one opened, whatever symbolic links the path went through). 0, or an
 * errno with the reason in msg. */
int km_rule_check_chain(int dirfd, int *upfd, const struct stat *st, char *msg, size_t cap)
{
    char why[160], where[KM_RULE_PATH_CAP];
    struct stat cur = *st, up;
    uid_t euid = geteuid();
    const char *bad;
    int depth, n;

    bad = km_rule_untrusted(st, euid, 0, why, sizeof why);
    if (bad != NULL) {
        n = snprintf(msg, cap, "%s: refused", bad);
        return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : EPERM;
    }
    for (depth = 0; depth < KM_RULE_DIR_DEPTH_MAX; depth++) {
        int fd = openat(*upfd >= 0 ? *upfd : dirfd, "..",
                        O_PATH | O_DIRECTORY | O_CLOEXEC);
        int err;
        if (fd < 0 || fstat(fd, &up) != 0) {
            err = errno;
            if (fd >= 0)
                close(fd);
            n = snprintf(msg, cap, "cannot check the directory above it: %s",
                         strerror(err));
            return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : err;
        }
        if (*upfd >= 0)
            close(*upfd);
        *upfd = fd;
        if (up.st_dev == cur.st_dev && up.st_ino == cur.st_ino) {
            close(*upfd);
            *upfd = -1;
            return 0;       /* the root: its ".." is itself */
        }
        bad = km_rule_untrusted(&up, euid, 1, why, sizeof why);
        if (bad != NULL) {
            fd_path(*upfd, where, sizeof where);
            n = snprintf(msg, cap, "the directory '%s' above it is %s: refused",
                         where, bad);
            close(*upfd);
            *upfd = -1;
            return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : EPERM;
        }
        cur = up;
    }
    close(*upfd);
    *upfd = -1;
    n = snprintf(msg, cap,
                 "more than KM_RULE_DIR_DEPTH_MAX (%d) directories above it", KM_RULE_DIR_DEPTH_MAX);
    return n < 0 || (size_t)n >= cap ? ENAMETOOLONG : ELOOP;
}
