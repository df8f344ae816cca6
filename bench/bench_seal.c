/*
 * bench_seal: the cost of sealing and opening one stored value, in nanoseconds, with the
 * keyspace's own code path (seal_seal / seal_open with a key name and field as AAD).
 *
 *   build/bench_seal [value-bytes] [iterations]
 *
 * Prints ns per seal and per open for values of the given size (default 256 bytes, 1M
 * iterations), next to nothing else: compare with the cost of a request (a few µs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store/keyring.h"
#include "store/seal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : 256;
    long iters = argc > 2 ? atol(argv[2]) : 1000000;
    char dir[] = "/tmp/phidb-sealbench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char kf[128], kr[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", dir);
    snprintf(kr, sizeof kr, "%s/keyring", dir);
    unsigned char mk[32]; /* a master key made for this run */
    if (RAND_bytes(mk, sizeof mk) != 1) return 1;
    FILE *f = fopen(kf, "w");
    for (size_t i = 0; i < sizeof mk; i++)
        fprintf(f, "%02x", mk[i]);
    fputc('\n', f);
    fclose(f);
    chmod(kf, 0600);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(kr, &src, 1, err, sizeof err);
    if (!k) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sealer *s = seal_new(k, KR_VALUES);
    uint8_t *plain = malloc(size), *sealed = malloc(size + SEAL_OVERHEAD), *out = malloc(size);
    memset(plain, 'v', size);
    const uint8_t key[] = "patient:000000012345";
    const uint8_t field[] = "diagnosis";
    double t0 = now();
    for (long i = 0; i < iters; i++)
        seal_seal(s, plain, size, key, sizeof key - 1, field, sizeof field - 1, sealed);
    double t1 = now();
    for (long i = 0; i < iters; i++)
        if (seal_open(s, sealed, size + SEAL_OVERHEAD, key, sizeof key - 1, field,
                      sizeof field - 1, out) != 0)
            return 1;
    double t2 = now();
    printf("value %zu bytes: seal %.0f ns, open %.0f ns (%ld iterations)\n", size,
           (t1 - t0) / (double)iters * 1e9, (t2 - t1) / (double)iters * 1e9, iters);
    seal_free(s);
    keyring_close(k);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    free(plain);
    free(sealed);
    free(out);
    return 0;
}
