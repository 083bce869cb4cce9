/*
 * mountinfo.c -- the /proc/self/mountinfo line parser: splits one line into
 * its fields in place and decodes the kernel's octal escapes. Pure code over
 * bytes (no Lua, no system calls), shared with the fuzz target
 * spec/fuzz/fuzz_mountinfo.c.
 *
 * No Lua functions: km_parse_mountinfo_line and km_unescape, declared in
 * katamount.h.
 */
#include "katamount.h"

#include <string.h>

static int is_octal(char c) { return c >= '0' && c <= '7'; }

size_t km_unescape(char *s, size_t len)
{
    size_t r = 0, w = 0;
    if (s == NULL)
        return 0;
    while (r < len) {
        if (s[r] == '\\' && len - r >= 4 && s[r + 1] >= '0' && s[r + 1] <= '3' &&
            is_octal(s[r + 2]) && is_octal(s[r + 3])) {
            int v = (s[r + 1] - '0') * 64 + (s[r + 2] - '0') * 8 + (s[r + 3] - '0');
            if (v != 0) {               /* \000 stays as is: no NUL in a field */
                s[w++] = (char)v;
                r += 4;
                continue;
            }
        }
        s[w++] = s[r++];
    }
    return w;
}

/* Next field of line[*pos..len): [*start, *start + *flen), up to the next
 * space or the end. *pos moves past the space; *more tells whether there
 * was one (so that another field follows). */
static void next_field(const char *line, size_t len, size_t *pos,
                       size_t *start, size_t *flen, int *more)
{
    size_t p = *pos;
    const char *sp = p < len ? memchr(line + p, ' ', len - p) : NULL;
    *start = p;
    if (sp != NULL) {
        *flen = (size_t)(sp - (line + p));
        *pos = p + *flen + 1;
        *more = 1;
    } else {
        *flen = len - p;
        *pos = len;
        *more = 0;
    }
}

/* A decimal number of line[start..start+n), at most `max`. */
static int parse_dec(const char *s, size_t n, unsigned long long max,
                     unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Unescape the NUL-terminated field f of length n in place. */
static void unescape_field(char *f, size_t n)
{
    f[km_unescape(f, n)] = '\0';
}

int km_parse_mountinfo_line(char *line, size_t len, struct km_mountinfo *out)
{
    size_t pos = 0, s[6], n[6], os = 0, oe = 0, ts, tn, ss, sn, ps, pn, dash;
    unsigned long long v;
    const char *colon;
    int more = 0, i, have_opt = 0;

    if (line == NULL || out == NULL || len == 0 || memchr(line, '\0', len) != NULL)
        return -1;
    /* id parent major:minor root mount_point options */
    for (i = 0; i < 6; i++) {
        next_field(line, len, &pos, &s[i], &n[i], &more);
        if (!more || n[i] == 0)
            return -1;
    }
    if (parse_dec(line + s[0], n[0], LLONG_MAX, &v) != 0)
        return -1;
    out->id = (long long)v;
    if (parse_dec(line + s[1], n[1], LLONG_MAX, &v) != 0)
        return -1;
    out->parent = (long long)v;
    colon = memchr(line + s[2], ':', n[2]);
    if (colon == NULL)
        return -1;
    if (parse_dec(line + s[2], (size_t)(colon - (line + s[2])), UINT_MAX, &v) != 0)
        return -1;
    out->major = (unsigned int)v;
    if (parse_dec(colon + 1, n[2] - (size_t)(colon - (line + s[2])) - 1, UINT_MAX, &v) != 0)
        return -1;
    out->minor = (unsigned int)v;
    /* optional fields up to the "-" separator */
    for (;;) {
        size_t fs, fn;
        next_field(line, len, &pos, &fs, &fn, &more);
        if (fn == 1 && line[fs] == '-') {
            dash = fs;
            break;
        }
        if (!more)
            return -1;                  /* no " - " separator */
        if (!have_opt) {
            os = fs;
            have_opt = 1;
        }
        oe = fs + fn;
    }
    if (!more)
        return -1;                      /* nothing after the separator */
    /* fstype source super_options (the rest of the line) */
    next_field(line, len, &pos, &ts, &tn, &more);
    if (!more || tn == 0)
        return -1;
    next_field(line, len, &pos, &ss, &sn, &more);
    if (!more)
        return -1;
    ps = pos;
    pn = len - pos;

    /* Terminate the fields before the separator (their spaces become NULs). */
    for (i = 0; i < 6; i++)
        line[s[i] + n[i]] = '\0';
    if (have_opt)
        line[oe] = '\0';                /* the space before "-" */
    /* Move fstype, source and super_options left over "- ": the three of
     * them and their NULs then end before line[len]. */
    memmove(line + dash, line + ts, tn);
    ts = dash;
    line[ts + tn] = '\0';
    memmove(line + ts + tn + 1, line + ss, sn);
    ss = ts + tn + 1;
    line[ss + sn] = '\0';
    memmove(line + ss + sn + 1, line + ps, pn);
    ps = ss + sn + 1;
    line[ps + pn] = '\0';               /* ps + pn == len - 2 */

    unescape_field(line + s[3], n[3]);
    unescape_field(line + s[4], n[4]);
    unescape_field(line + ts, tn);
    unescape_field(line + ss, sn);
    out->root = line + s[3];
    out->mount_point = line + s[4];
    out->options = line + s[5];
    out->optional = have_opt ? line + os : line + s[5] + n[5];
    out->fstype = line + ts;
    out->source = line + ss;
    out->super_options = line + ps;
    return 0;
}
