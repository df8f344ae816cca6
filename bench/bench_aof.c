/*
 * bench_aof: throughput of the durable log on this machine's disk.
 *
 *   bench_aof [DIR]     (DIR: where to put the temporary log; default /tmp)
 *
 * Measures append+flush of 300-byte payloads with appendfsync everysec and
 * always, flushing after every record (one command per event-loop turn, the
 * worst case) and after every 100 records (group commit under load), then the
 * load speed of the resulting log, with the page cache warm (the loader and
 * AES-GCM) and with the file's pages dropped first (posix_fadvise DONTNEED:
 * the disk too). Uses a throw-away keyring with a random master
 * key; everything is removed at the end.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "store/aof.h"
#include "store/keyring.h"
#include "store/seal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int nop(void *arg, const uint8_t *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return 0;
}

/* Append+flush 300-byte records for up to secs seconds (or max records). */
static void run(const char *data, sealer *s, enum aof_fsync pol, int per_flush, double secs,
                long max)
{
    char err[512];
    uint8_t p[300];
    RAND_bytes(p, sizeof p);
    char path[1100];
    snprintf(path, sizeof path, "%s/phidb.log", data);
    unlink(path);
    aof *a = aof_open(data, s, pol, err, sizeof err);
    aof_load_stats st;
    if (!a || aof_load(a, NULL, NULL, &st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_aof: %s\n", err);
        exit(1);
    }
    double t0 = now_s(), t = t0;
    long n = 0;
    while (n < max && t - t0 < secs) {
        for (int i = 0; i < per_flush; i++, n++)
            if (aof_append(a, p, sizeof p, err, sizeof err) != 0) {
                fprintf(stderr, "bench_aof: %s\n", err);
                exit(1);
            }
        if (aof_flush(a) != 0) {
            fprintf(stderr, "bench_aof: flush failed\n");
            exit(1);
        }
        if ((n / per_flush) % 64 == 0) {
            aof_cron(a);
            t = now_s();
        }
    }
    t = now_s() - t0;
    unsigned long long bytes = aof_size(a) - AOF_HEADER_LEN;
    unsigned long long fs = aof_fsyncs(a);
    aof_close(a);
    printf("%-8s flush every %3d: %9.0f records/s %8.1f MB/s (%ld records, %llu fsyncs, "
           "%.1f s)\n",
           pol == AOF_FSYNC_ALWAYS ? "always" : "everysec", per_flush, (double)n / t,
           (double)bytes / t / 1e6, n, fs, t);
}

int main(int argc, char **argv)
{
    char root[1024], kf[1100], krp[1100], data[1100], err[512];
    snprintf(root, sizeof root, "%s/phidb-bench-aof-XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(root)) {
        perror(root);
        return 1;
    }
    snprintf(kf, sizeof kf, "%s/mk", root);
    snprintf(krp, sizeof krp, "%s/keyring", root);
    snprintf(data, sizeof data, "%s/data", root);
    mkdir(data, 0700);
    uint8_t mk[32];
    RAND_bytes(mk, sizeof mk);
    FILE *f = fopen(kf, "w");
    for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", mk[i]);
    fprintf(f, "\n");
    fclose(f);
    chmod(kf, 0600);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *k = keyring_open(krp, &src, 1, err, sizeof err);
    if (!k) {
        fprintf(stderr, "bench_aof: %s\n", err);
        return 1;
    }
    sealer *s = seal_new(k, KR_LOG);

    run(data, s, AOF_FSYNC_ALWAYS, 1, 3, 1000000);
    run(data, s, AOF_FSYNC_ALWAYS, 100, 3, 10000000);
    run(data, s, AOF_FSYNC_EVERYSEC, 1, 3, 10000000);
    /* The last run leaves a log of about 300 MB for the load measurement. */
    run(data, s, AOF_FSYNC_EVERYSEC, 100, 60, 900000);

    for (int cold = 0; cold < 2; cold++) {
        char lp[1200];
        snprintf(lp, sizeof lp, "%s/phidb.log", data);
        if (cold) {
            /* Drop this file's pages from the page cache (they are clean: fsynced at close). */
            int fd = open(lp, O_RDONLY);
            if (fd >= 0) {
                posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
                close(fd);
            }
        }
        aof_load_stats st;
        size_t total = 0;
        aof *a = aof_open(data, s, AOF_FSYNC_EVERYSEC, err, sizeof err);
        double t0 = now_s();
        if (!a || aof_load(a, nop, &total, &st, err, sizeof err) != 0) {
            fprintf(stderr, "bench_aof: %s\n", err);
            return 1;
        }
        double t = now_s() - t0;
        printf("load: %llu records, %.1f MB in %.2f s: %.1f MB/s, %.0f records/s (%s)\n",
               st.records, (double)st.bytes / 1e6, t, (double)st.bytes / t / 1e6,
               (double)st.records / t, cold ? "file dropped from the page cache" : "cache warm");
        aof_close(a);
    }
    seal_free(s);
    keyring_close(k);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : 1;
}
