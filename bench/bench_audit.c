/*
 * bench_audit: the audit trail's costs on this machine.
 *
 *   bench_audit [DIR] [N]   (DIR: where to put the temporary trail, default /tmp;
 *                            N: records, default 1000000)
 *
 * Reports
 *  - append: the cost of audit_append on the calling (main) thread for a typical access
 *    record (user, role, address, session, command, key, subject, 3 field names, purpose),
 *    with the writer thread running at the same time (chain, zstd, AES-GCM, write);
 *  - writer throughput (records per second until everything is written) and the writer
 *    thread's CPU time per record (process CPU minus the main thread's: chain, zstd, AES-GCM,
 *    write; less noisy than the wall clock on a busy box), in the steady state and in the
 *    burst (where growing the buffers and moving what is left of a huge block also count);
 *  - bytes per record: the JSON line, and on disk (compressed and sealed);
 *  - bytes per day at 100 audited commands per second;
 *  - verify: MB of JSON lines per second for `phidb audit verify` (audit_verify_dir with
 *    signatures), and MB of segment files per second, page cache warm.
 * Uses a throw-away keyring with a random master key; everything is removed at the end.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "util/buf.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long dir_bytes(const char *d)
{
    DIR *dh = opendir(d);
    unsigned long long n = 0;
    struct dirent *e;
    char p[4700];
    while (dh && (e = readdir(dh))) {
        struct stat sb;
        if (!audit_seg_parse_name(e->d_name)) continue;
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        if (stat(p, &sb) == 0) n += (unsigned long long)sb.st_size;
    }
    if (dh) closedir(dh);
    return n;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "/tmp";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    char root[4200], kf[4300], krp[4300], adir[4300], err[1024];
    snprintf(root, sizeof root, "%s/phidb-bench-audit-XXXXXX", base);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(kf, sizeof kf, "%s/mk", root);
    snprintf(krp, sizeof krp, "%s/keyring", root);
    snprintf(adir, sizeof adir, "%s/audit", root);
    uint8_t mk[32];
    RAND_bytes(mk, sizeof mk);
    FILE *f = fopen(kf, "w");
    for (int i = 0; i < 32; i++)
        fprintf(f, "%02x", mk[i]);
    fprintf(f, "\n");
    fclose(f);
    chmod(kf, 0600);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *kr = keyring_open(krp, &src, 1, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "bench_audit: %s\n", err);
        return 1;
    }
    audit_opts o;
    audit_opts_default(&o);
    o.dir = adir;
    o.pending_max = 1u << 30;
    audit *a = audit_open(&o, kr, err, sizeof err);
    if (!a) {
        fprintf(stderr, "bench_audit: %s\n", err);
        return 1;
    }
    static const char *const fields[] = {"name", "dob", "diagnosis"};
    static const size_t lens[] = {4, 3, 9};
    char key[32], subj[16];
    double spent = 0;
    long refused = 0;
    double t0 = now_s();
    double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), m0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < n; i++) {
        int k = snprintf(key, sizeof key, "patient:%ld", 100000 + i % 50000);
        int s = snprintf(subj, sizeof subj, "%ld", 100000 + i % 50000);
        audit_rec r = {.type = AUDIT_EV_ACCESS,
                       .result = AUDIT_GRANTED,
                       .user = "dr.alice",
                       .role = "physician",
                       .addr = "10.20.30.40:51234",
                       .session = 1234567,
                       .cmd = "hmget",
                       .key = key,
                       .keylen = (size_t)k,
                       .subject = subj,
                       .subjectlen = (size_t)s,
                       .fields = fields,
                       .fieldlens = lens,
                       .nfields = 3,
                       .purpose = "treatment"};
        double a0 = now_s();
        int rc = audit_append(a, &r);
        spent += now_s() - a0;
        if (rc != 0) refused++;
    }
    double t1 = now_s();
    audit_flush(a, 600000);
    double t2 = now_s();
    /* The main thread only waits in audit_flush: what else the process spent is the writer's. */
    double wcpu = (cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0) - (cpu_s(CLOCK_THREAD_CPUTIME_ID) - m0);
    /* Steady state: batches of 1000 with the writer keeping up (flush not counted). */
    double steady = 0;
    long nsteady = 0;
    double sp0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), sm0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (long b = 0; b < 200; b++) {
        double b0 = now_s();
        for (int i = 0; i < 1000; i++) {
            int k = snprintf(key, sizeof key, "patient:%ld", 100000 + (b * 1000 + i) % 50000);
            int s = snprintf(subj, sizeof subj, "%ld", 100000 + (b * 1000 + i) % 50000);
            audit_rec r = {.type = AUDIT_EV_ACCESS,
                           .result = AUDIT_GRANTED,
                           .user = "dr.alice",
                           .role = "physician",
                           .addr = "10.20.30.40:51234",
                           .session = 1234567,
                           .cmd = "hmget",
                           .key = key,
                           .keylen = (size_t)k,
                           .subject = subj,
                           .subjectlen = (size_t)s,
                           .fields = fields,
                           .fieldlens = lens,
                           .nfields = 3,
                           .purpose = "treatment"};
            if (audit_append(a, &r) == 0) nsteady++;
        }
        steady += now_s() - b0;
        audit_flush(a, 60000);
    }
    double swcpu = (cpu_s(CLOCK_PROCESS_CPUTIME_ID) - sp0) - (cpu_s(CLOCK_THREAD_CPUTIME_ID) - sm0);
    n += nsteady;
    /* The formatter alone (pure function, into a reused buffer). */
    buf fb = {0};
    audit_ts_cache tc = {-1, ""};
    double f0 = now_s();
    for (long i = 0; i < 1000000; i++) {
        int k = snprintf(key, sizeof key, "patient:%ld", 100000 + i % 50000);
        int s = snprintf(subj, sizeof subj, "%ld", 100000 + i % 50000);
        audit_rec r = {.type = AUDIT_EV_ACCESS,
                       .result = AUDIT_GRANTED,
                       .user = "dr.alice",
                       .role = "physician",
                       .addr = "10.20.30.40:51234",
                       .session = 1234567,
                       .cmd = "hmget",
                       .key = key,
                       .keylen = (size_t)k,
                       .subject = subj,
                       .subjectlen = (size_t)s,
                       .fields = fields,
                       .fieldlens = lens,
                       .nfields = 3,
                       .purpose = "treatment"};
        fb.len = 0;
        audit_format_body(&r, (uint64_t)i + 1, 1796566622123456LL + i, &tc, &fb);
    }
    double f1 = now_s();
    buf_free(&fb);
    double c0 = now_s();
    audit_close(a);
    double t3 = now_s();
    /* The timer itself costs: measure an empty timed section. */
    double timer = 0;
    for (int i = 0; i < 100000; i++) {
        double x = now_s();
        timer += now_s() - x;
    }
    timer /= 100000;
    sealer *sl = seal_new(kr, KR_AUDIT);
    audit_pubset pub = {.n = 1};
    audit_ed25519_pub(keyring_key(kr, KR_SIGN, keyring_current(kr, KR_SIGN)), pub.k[0]);
    audit_verify_stats st;
    double v0 = now_s();
    int vr = audit_verify_dir(adir, sl, &pub, NULL, NULL, &st, err, sizeof err);
    double v1 = now_s();
    unsigned long long disk = dir_bytes(adir);
    printf("records:            %ld (%ld refused), %llu with checkpoints, %llu segments\n", n,
           refused, (unsigned long long)st.records, (unsigned long long)st.segments);
    printf("append (main thread): %.0f ns per record, burst of %ld with the writer behind "
           "(timer overhead %.0f ns subtracted)\n",
           (spent / (double)(n - nsteady) - timer) * 1e9, n - nsteady, timer * 1e9);
    printf("append (main thread): %.0f ns per record, steady state (batches of 1000, writer "
           "keeping up; includes building the record and snprintf of key and subject)\n",
           steady / (double)nsteady * 1e9);
    printf("format only:        %.0f ns per record (audit_format_body, snprintf of key and "
           "subject included)\n",
           (f1 - f0) / 1e6 * 1e9);
    printf("append loop:        %.0f ns per record wall (including the loop and timers)\n",
           (t1 - t0) / (double)(n - nsteady) * 1e9);
    printf("writer:             %.0f records/s until all written (%.2f s, close %.2f s)\n",
           (double)(n - nsteady) / (t2 - t0), t2 - t0, t3 - c0);
    printf("writer CPU:         %.3f us per record steady state (blocks of about 1000 records), "
           "%.3f us in the burst (writer thread CPU time)\n",
           swcpu / (double)nsteady * 1e6, wcpu / (double)(n - nsteady) * 1e6);
    printf("bytes per record:   %.0f JSON, %.1f on disk (zstd + AES-GCM)\n",
           (double)st.bytes / (double)st.records, (double)disk / (double)st.records);
    printf("at 100 records/s:   %.1f MB/day of JSON, %.1f MB/day on disk\n",
           (double)st.bytes / (double)st.records * 100 * 86400 / 1e6,
           (double)disk / (double)st.records * 100 * 86400 / 1e6);
    printf("verify:             %s, %.1f MB of JSON in %.2f s = %.0f MB/s of lines, %.0f MB/s of "
           "segment files\n",
           vr == 0 ? "OK" : err, (double)st.bytes / 1e6, v1 - v0,
           (double)st.bytes / 1e6 / (v1 - v0), (double)disk / 1e6 / (v1 - v0));
    seal_free(sl);
    keyring_close(kr);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "bench_audit: could not remove %s\n", root);
    return vr == 0 ? 0 : 1;
}
