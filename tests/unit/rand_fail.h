/*
 * rand_fail: a random generator that fails (RAND_bytes returns 0), for unit tests that check
 * a failure of the generator is an error and leaves nothing half made. Install it with
 * RAND_set_rand_method(&rand_fail_method) and put OpenSSL's back with
 * RAND_set_rand_method(NULL). The including file defines OPENSSL_SUPPRESS_DEPRECATED
 * before any OpenSSL header (RAND_set_rand_method is deprecated in OpenSSL 3).
 */
#ifndef RAND_FAIL_H
#define RAND_FAIL_H

#include <openssl/rand.h>

static int rand_fail_bytes(unsigned char *p, int n)
{
    (void)p;
    (void)n;
    return 0;
}

static int rand_fail_status(void)
{
    return 0;
}

static const RAND_METHOD rand_fail_method = {NULL, rand_fail_bytes, NULL, NULL, rand_fail_bytes,
                                             rand_fail_status};

#endif
