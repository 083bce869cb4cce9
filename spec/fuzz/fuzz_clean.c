/*
 * fuzz_clean.c -- libFuzzer target for km_clean_path (Go filepath.Clean
 * semantics), checked against a small reference implementation and against
 * the invariants of a clean path:
 *  - equal to the reference (a stack of elements: "" and "." dropped, ".."
 *    pops a real element, stays as a leading run in a relative path, and
 *    vanishes at the root);
 *  - idempotent: clean(clean(x)) == clean(x);
 *  - never empty, no "//", no trailing "/" except the root, no "." element
 *    except the whole path ".", ".." only as a leading run of a relative path;
 *  - a buffer without room for the result and its NUL is refused with
 *    (size_t)-1, never overrun (the buffers are exact-size heap blocks);
 *  - km_join_paths of the input's two halves is "" when both are empty,
 *    else the reference clean of the non-empty ones joined with '/' (Go's
 *    filepath.Join), and refused past KM_PATH_MAX bytes.
 */
#include "katamount.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_fail(const char *why, const uint8_t *in, size_t inlen,
                    const char *got, size_t gotlen)
{
    fprintf(stderr, "fuzz_clean: %s\n  input (%zu bytes): ", why, inlen);
    fwrite(in, 1, inlen, stderr);
    fprintf(stderr, "\n  got (%zu bytes): ", gotlen);
    if (got != NULL)
        fwrite(got, 1, gotlen, stderr);
    fputc('\n', stderr);
    abort();
}

/* Reference clean: returns a malloc'd string, its length in *outlen. */
static char *fz_ref_clean(const char *p, size_t n, size_t *outlen)
{
    char *out = malloc(n + 2);
    size_t w = 0, i = 0, dotdot = 0; /* dotdot: end of the leading ".." run */
    int rooted = n > 0 && p[0] == '/';
    if (out == NULL)
        abort();
    if (rooted) {
        out[w++] = '/';
        dotdot = 1;
    }
    while (i < n) {
        size_t s = i, e;
        while (i < n && p[i] != '/')
            i++;
        e = i;
        if (i < n)
            i++; /* the slash */
        if (e == s || (e - s == 1 && p[s] == '.'))
            continue;
        if (e - s == 2 && p[s] == '.' && p[s + 1] == '.') {
            if (w > dotdot) {
                /* pop the last element */
                w--;
                while (w > dotdot && out[w] != '/')
                    w--;
            } else if (!rooted) {
                if (w > 0)
                    out[w++] = '/';
                out[w++] = '.';
                out[w++] = '.';
                dotdot = w;
            }
            continue;
        }
        if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
        memcpy(out + w, p + s, e - s);
        w += e - s;
    }
    if (w == 0)
        out[w++] = '.';
    out[w] = '\0';
    *outlen = w;
    return out;
}

static void fz_invariants(const uint8_t *in, size_t inlen, const char *c, size_t n)
{
    size_t i = 0;
    int rooted = c[0] == '/', leading = !rooted;
    if (n == 0)
        fz_fail("empty result", in, inlen, c, n);
    if (n > 1 && c[n - 1] == '/')
        fz_fail("trailing slash", in, inlen, c, n);
    if (rooted)
        i = 1;
    while (i < n) {
        size_t s = i;
        while (i < n && c[i] != '/')
            i++;
        if (i == s)
            fz_fail("empty element (//)", in, inlen, c, n);
        if (i - s == 1 && c[s] == '.' && n != 1)
            fz_fail("'.' element", in, inlen, c, n);
        if (i - s == 2 && c[s] == '.' && c[s + 1] == '.') {
            if (!leading)
                fz_fail("'..' element after a name or at the root", in, inlen, c, n);
        } else {
            leading = 0;
        }
        if (i < n)
            i++;
    }
}

/* km_join_paths of the input's two halves: "" when both are empty, else
 * clean of the non-empty ones joined with '/' (Go's filepath.Join), refused
 * when that text passes KM_PATH_MAX bytes; the result within its buffer. */
static void fz_join(const uint8_t *data, size_t size)
{
    const char *parts[2];
    size_t lens[2], joinedlen, n, want;
    char out[KM_PATH_MAX + 2], *joined, *ref;
    parts[0] = (const char *)data;
    lens[0] = size / 2;
    parts[1] = (const char *)data + lens[0];
    lens[1] = size - lens[0];
    n = km_join_paths(parts, lens, 2, out, sizeof out);
    joined = malloc(size + 2);
    if (joined == NULL)
        abort();
    joinedlen = 0;
    if (lens[0] > 0) {
        memcpy(joined, parts[0], lens[0]);
        joinedlen = lens[0];
    }
    if (lens[1] > 0) {
        if (joinedlen > 0)
            joined[joinedlen++] = '/';
        memcpy(joined + joinedlen, parts[1], lens[1]);
        joinedlen += lens[1];
    }
    if (joinedlen > KM_PATH_MAX) {
        if (n != (size_t)-1)
            fz_fail("join accepted more than KM_PATH_MAX bytes", data, size, out, n);
    } else if (joinedlen == 0) {
        if (n != 0 || out[0] != '\0')
            fz_fail("join of empty parts is not \"\"", data, size, out, n == (size_t)-1 ? 0 : n);
    } else {
        ref = fz_ref_clean(joined, joinedlen, &want);
        if (n == (size_t)-1 || n != want || memcmp(out, ref, n) != 0 || out[n] != '\0')
            fz_fail("join differs from clean of the parts joined", data, size, out,
                    n == (size_t)-1 ? 0 : n);
        free(ref);
    }
    free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t cap = size + 2, n, n2, reflen;
    char *out = malloc(cap), *out2, *ref;
    if (out == NULL)
        abort();
    n = km_clean_path(in, size, out, cap);
    if (n == (size_t)-1)
        fz_fail("refused with capacity len + 2", data, size, NULL, 0);
    if (n >= cap || out[n] != '\0')
        fz_fail("result not NUL-terminated inside the buffer", data, size, out, n < cap ? n : 0);

    ref = fz_ref_clean(in, size, &reflen);
    if (reflen != n || memcmp(ref, out, n) != 0)
        fz_fail("differs from the reference clean", data, size, out, n);
    free(ref);

    fz_invariants(data, size, out, n);

    /* idempotence */
    out2 = malloc(n + 2);
    if (out2 == NULL)
        abort();
    n2 = km_clean_path(out, n, out2, n + 2);
    if (n2 != n || memcmp(out, out2, n) != 0)
        fz_fail("not idempotent", data, size, out2, n2 == (size_t)-1 ? 0 : n2);
    free(out2);

    /* buffers without room for the NUL must be refused, never overrun */
    {
        size_t sizes[3];
        int k;
        sizes[0] = 0; sizes[1] = 1; sizes[2] = n;
        for (k = 0; k < 3; k++) {
            size_t small = sizes[k], r;
            char *tight = malloc(small ? small : 1);
            if (tight == NULL)
                abort();
            r = km_clean_path(in, size, tight, small);
            if (r != (size_t)-1)
                fz_fail("accepted a buffer without room for the NUL", data, size, NULL, 0);
            free(tight);
        }
    }
    free(out);
    fz_join(data, size);
    return 0;
}
