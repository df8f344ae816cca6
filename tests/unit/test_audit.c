/*
 * test_audit: the audit trail: record format, chain and checkpoints, resume, tampering
 * (each kind found and named), fail-closed on a full disk with recovery and no loss,
 * prune after retention.
 */
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include "audit_test.h"

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

TEST(t_format)
{
    static const char *const f[] = {"name", "dob"};
    static const size_t fl[] = {4, 3};
    audit_rec r = {.type = AUDIT_EV_ACCESS,
                   .result = AUDIT_DENIED,
                   .user = "alice",
                   .role = "nurse",
                   .addr = "127.0.0.1:5000",
                   .session = 7,
                   .cmd = "hget",
                   .key = "patient:1",
                   .keylen = 9,
                   .subject = "1",
                   .subjectlen = 1,
                   .fields = f,
                   .fieldlens = fl,
                   .nfields = 2,
                   .purpose = "treatment",
                   .reason = "group \"diagnosis\"\n"};
    buf b = {0};
    uint8_t prev[32];
    memset(prev, 0xab, 32);
    audit_format(&r, 12, 1796566622123456LL, prev, &b);
    CHECK_STR(buf_cstr(&b),
              "{\"seq\":12,\"ts\":\"2026-12-06T14:17:02.123456Z\",\"ev\":\"access\",\"res\":"
              "\"denied\",\"user\":\"alice\",\"role\":\"nurse\",\"addr\":\"127.0.0.1:5000\","
              "\"sess\":7,\"cmd\":\"hget\",\"key\":\"patient:1\",\"subject\":\"1\",\"fields\":"
              "[\"name\",\"dob\"],\"purpose\":\"treatment\",\"reason\":\"group "
              "\\\"diagnosis\\\"\\u000a\",\"prev\":"
              "\"abababababababababababababababababababababababababababababababab\"}\n");
    audit_line_info li;
    CHECK_INT(audit_line_parse((const char *)b.p, b.len - 1, &li), 0);
    CHECK_INT(li.seq, 12);
    CHECK_MEM(li.ev, li.evlen, "access");
    /* Binary key: hex; bad UTF-8 in text: U+FFFD; detail kept on one line. */
    b.len = 0;
    audit_rec r2 = {.type = AUDIT_EV_CONFIG,
                    .result = AUDIT_GRANTED,
                    .user = "b\xffob",
                    .key = "k\x80",
                    .keylen = 2,
                    .detail = "{\"old\":\"a\",\n\"new\":\"b\"}"};
    audit_format(&r2, 1, 0, NULL, &b);
    CHECK(strstr(buf_cstr(&b), "\"user\":\"b\\ufffdob\""));
    CHECK(strstr(buf_cstr(&b), "\"key_hex\":\"6b80\""));
    CHECK(strstr(buf_cstr(&b), "\"detail\":{\"old\":\"a\", \"new\":\"b\"}"));
    CHECK(strstr(buf_cstr(&b), "1970-01-01T00:00:00.000000Z"));
    int64_t t;
    CHECK_INT(audit_parse_ts("2026-12-06T14:17:02.123456Z", &t), 0);
    CHECK_INT(t, 1796566622123456LL);
    CHECK_INT(audit_parse_ts("2026-12-06", &t), 0);
    CHECK_INT(t, 1796515200000000LL);
    CHECK_STR(audit_event_name(AUDIT_EV_BREAKGLASS), "breakglass");
    CHECK_INT(audit_event_find("prune"), AUDIT_EV_PRUNE);
    buf_free(&b);
}

TEST(t_roundtrip)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    o.checkpoint_records = 1000;
    audit *a = open_trail(&o);
    if (!a) goto out;
    CHECK(audit_healthy(a));
    CHECK_STR(audit_error(a), "");
    append_n(a, 2500, 0);
    CHECK(audit_durable_seq(a) >= 2500);
    uint64_t hs;
    uint8_t hh[32];
    audit_head(a, &hs, hh);
    CHECK_INT(hs, audit_last_seq(a));
    audit_close(a);
    audit_verify_stats st;
    char err[512];
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 2500);
    CHECK(st.checkpoints >= 3);
    CHECK_INT(st.last_ckpt_seq, st.last_seq); /* the final checkpoint closes the trail */
    CHECK(st.bytes / st.records <= 400);
    /* Resume: the chain continues in a new segment. */
    a = open_trail(&o);
    if (!a) goto out;
    CHECK_INT(audit_last_seq(a), st.last_seq);
    append_n(a, 10, 5000);
    audit_close(a);
    audit_verify_stats st2;
    CHECK_INT(verify(&st2, err, sizeof err), 0);
    CHECK_INT(st2.records - st2.checkpoints, 2510);
    CHECK_INT(st2.segments, 2);
    /* The published key is PEM and matches the keyring. */
    char pp[160];
    audit_pubset pk;
    snprintf(pp, sizeof pp, "%s/audit.pub", adir);
    CHECK_INT(audit_pub_read(pp, &pk), 0);
    CHECK_INT(pk.n, 1);
    CHECK(memcmp(pk.k[0], apub.k[0], 32) == 0);
out:
    teardown();
}

TEST(t_resume_torn)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    audit *a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 50, 0);
    audit_close(a);
    char p[256];
    seg_path(-1, p, sizeof p);
    FILE *f = fopen(p, "ab");
    fwrite("ABLK\0\0\1\0partial", 1, 15, f); /* a torn block header */
    fclose(f);
    a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 5, 100);
    audit_close(a);
    audit_verify_stats st;
    char err[512];
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 55);
out:
    teardown();
}

/* The newest segment's end after a crash or an alteration (docs/audit.md, "Failure and
 * recovery"): a trail of 50 records and its close checkpoint, the last block changed by
 * how (FLIP a byte, TORN: the file ends inside it, ZEROS: its last nz bytes zero), with
 * audit.head (which names that checkpoint) kept or removed; then audit_open, as a tool
 * (keep_torn) or as the server. Returns the open's result (the trail closed again after 5
 * more records); *same says whether the segment is still byte for byte what it was. */
enum { FLIP, TORN, ZEROS };
static int end_case(int how, size_t nz, int keep_head, int *keep_torn, char *err, size_t cap,
                    int *same)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    audit *a = open_trail(&o);
    if (!a) return -1;
    append_n(a, 50, 0);
    audit_close(a);
    char p[256], h[200];
    seg_path(-1, p, sizeof p);
    snprintf(h, sizeof h, "%s/audit.head", adir);
    if (!keep_head) unlink(h);
    size_t n = 0, m = 0;
    uint8_t *d = slurp(p, &n);
    if (!d || n < 100) return -1;
    if (how == FLIP) d[n - 20] ^= 1;
    if (how == TORN) n -= 5;
    if (how == ZEROS) memset(d + n - nz, 0, nz);
    spit(p, d, n);
    o.keep_torn = keep_torn;
    a = audit_open(&o, kr, err, cap);
    if (a) {
        append_n(a, 5, 100);
        audit_close(a);
    }
    uint8_t *e = slurp(p, &m);
    *same = m == n && memcmp(d, e, n) == 0;
    free(d);
    free(e);
    return a ? 0 : -1;
}

TEST(t_resume_end)
{
    char err[512] = "";
    int same, torn = 0;
    audit_verify_stats st;
    /* A whole block that fails authentication is damage: refused, never cut. */
    for (int head = 0; head < 2; head++) {
        CHECK_INT(end_case(FLIP, 0, head, NULL, err, sizeof err, &same), -1);
        CHECK(strstr(err, "is damaged at offset") != NULL);
        CHECK(same);
        teardown();
    }
    /* Its tag's last 8 bytes zero: not a file system's zero fill either. */
    CHECK_INT(end_case(ZEROS, 8, 0, NULL, err, sizeof err, &same), -1);
    CHECK(strstr(err, "is damaged at offset") != NULL);
    CHECK(same);
    teardown();
    /* Torn, but audit.head names the checkpoint in it: refused before anything is cut. */
    CHECK_INT(end_case(TORN, 0, 1, NULL, err, sizeof err, &same), -1);
    CHECK(strstr(err, "its last block is torn (left as it is)") != NULL);
    CHECK(same);
    teardown();
    /* A tool never cuts. */
    CHECK_INT(end_case(TORN, 0, 0, &torn, err, sizeof err, &same), -1);
    CHECK_INT(torn, 1);
    CHECK(strstr(err, "ends in a torn block at offset") != NULL);
    CHECK(same);
    teardown();
    /* The server cuts a torn block, and one that ends in zeros (a tag's length or more). */
    CHECK_INT(end_case(TORN, 0, 0, NULL, err, sizeof err, &same), 0);
    CHECK(!same);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 55);
    teardown();
    CHECK_INT(end_case(ZEROS, 40, 0, NULL, err, sizeof err, &same), 0);
    CHECK(!same);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 55);
    teardown();
}

/* audit-required-sinks syslog without audit-syslog-host: refused (no sink would be sent to
 * or waited for), before anything is created. */
TEST(t_required_sink_without_host)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    o.dir = adir;
    o.syslog.required = 1;
    char err[512] = "";
    for (int i = 0; i < 2; i++) {
        o.syslog.host = i ? "" : NULL;
        audit *a = audit_open(&o, kr, err, sizeof err);
        CHECK(a == NULL);
        if (a) audit_close(a);
        CHECK(strstr(err, "audit-syslog-host is not set") != NULL);
        CHECK(access(adir, F_OK) != 0);
    }
    teardown();
}

/* The segment version the tamperings run on: 2 (as the writer writes), or 1 (the trail
 * rewritten as the previous release wrote it). */
static int tamper_version = 2;

static void build(void)
{
    build_trail();
    if (tamper_version == 1) trail_convert(0, -1, 1);
}

static int has(const char *err, const char *what)
{
    if (strstr(err, what)) return 1;
    fprintf(stderr, "  verify said: %s (expected \"%s\")\n", err, what);
    return 0;
}

/* Sequence number of the first line of the segment seg_with_lines chose: which records
 * land in which segment depends on the writer's timing, so the expected messages are
 * relative to it. */
static long long seg_first;

/* Run one tampering on a fresh trail (of version tamper_version) and check verify names
 * it: what is a format with two %lld, filled with seg_first + d1 and seg_first + d2 (for
 * tamperings that go through seg_with_lines; others have no %). */
static void tamper2(void (*fn)(void), const char *what, int d1, int d2)
{
    setup();
    build();
    seg_first = 0;
    fn();
    audit_verify_stats st;
    char err[512] = "", want[256];
    if (strchr(what, '%'))
        snprintf(want, sizeof want, what, seg_first + d1, seg_first + d2);
    else
        snprintf(want, sizeof want, "%s", what);
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(has(err, want));
    CHECK(strstr(err, "segment ") != NULL);
    teardown();
}

static void tamper(void (*fn)(void), const char *what)
{
    tamper2(fn, what, 0, 0);
}

/* The first segment with at least min (> 6) lines (how records fall into blocks and segments
 * depends on the writer's timing), read into sl. */
static void seg_with_lines(int min, char *p, size_t cap, seg_lines *sl)
{
    for (int i = 0; i < 64; i++) {
        seg_path(i, p, cap);
        if (seg_read(p, sl) != 0) break;
        /* Lines 5 and 6 are the ones tampered with: records of alice (not checkpoints). */
        if (sl->n >= min && strstr(sl->v[5], "alice") && strstr(sl->v[6], "alice")) {
            const char *q = strstr(sl->v[0], "\"seq\":");
            seg_first = q ? strtoll(q + 6, NULL, 10) : 0;
            return;
        }
        seg_free(sl);
    }
    fprintf(stderr, "  no segment with %d lines\n", min);
    abort();
}

static void do_flip(void)
{
    char p[256];
    seg_path(0, p, sizeof p);
    size_t n;
    uint8_t *d = slurp(p, &n);
    d[AUDIT_SEG_HEADER + AUDIT_BLK_HEADER + 20] ^= 1;
    spit(p, d, n);
    free(d);
}

static void do_alter(void)
{
    char p[256];
    seg_lines sl;
    seg_with_lines(8, p, sizeof p, &sl);
    char *u = strstr(sl.v[5], "alice");
    memcpy(u, "mallo", 5);
    seg_write(p, &sl);
    seg_free(&sl);
}

static void do_delete(void)
{
    char p[256];
    seg_lines sl;
    seg_with_lines(8, p, sizeof p, &sl);
    mem_free(sl.v[5]);
    memmove(&sl.v[5], &sl.v[6], sizeof(char *) * (size_t)(sl.n - 6));
    sl.n--;
    seg_write(p, &sl);
    seg_free(&sl);
}

static void do_swap(void)
{
    char p[256];
    seg_lines sl;
    seg_with_lines(8, p, sizeof p, &sl);
    char *t = sl.v[5];
    sl.v[5] = sl.v[6];
    sl.v[6] = t;
    seg_write(p, &sl);
    seg_free(&sl);
}

static void do_insert(void)
{
    char p[256];
    seg_lines sl;
    seg_with_lines(8, p, sizeof p, &sl);
    char *forged = mem_strdup(sl.v[5]);
    memcpy(strstr(forged, "alice"), "eve__", 5);
    sl.v = realloc(sl.v, sizeof(char *) * (size_t)(sl.n + 1));
    memmove(&sl.v[6], &sl.v[5], sizeof(char *) * (size_t)(sl.n - 5));
    sl.v[5] = forged;
    sl.n++;
    seg_write(p, &sl);
    seg_free(&sl);
}

static void do_truncate(void)
{
    char p[256];
    seg_path(-1, p, sizeof p);
    struct stat sb;
    stat(p, &sb);
    if (truncate(p, sb.st_size - 7) != 0) abort();
}

static void do_drop(void)
{
    char p[256];
    seg_path(1, p, sizeof p);
    unlink(p);
}

/* Re-sign a checkpoint of the last segment with another key (chain kept consistent). */
static void do_resign(void)
{
    char p[256];
    seg_lines sl;
    seg_path(-1, p, sizeof p);
    seg_read(p, &sl);
    int i;
    for (i = 0; i < sl.n; i++)
        if (strstr(sl.v[i], "\"ev\":\"checkpoint\"")) break;
    if (i == sl.n) abort();
    audit_line_info li;
    audit_line_parse(sl.v[i], strlen(sl.v[i]), &li);
    uint8_t seed[32], msg[sizeof AUDIT_SIGN_CTX - 1 + 40], sig[64];
    memset(seed, 7, 32);
    memcpy(msg, AUDIT_SIGN_CTX, sizeof AUDIT_SIGN_CTX - 1);
    for (int k = 0; k < 8; k++)
        msg[sizeof AUDIT_SIGN_CTX - 1 + k] = (uint8_t)(li.seq >> (56 - 8 * k));
    memcpy(msg + sizeof AUDIT_SIGN_CTX - 1 + 8, li.prev, 32);
    audit_ed25519_sign(seed, msg, sizeof msg, sig);
    char hex[129];
    audit_hex(sig, 64, hex);
    memcpy(strstr(sl.v[i], "\"sig\":\"") + 7, hex, 128);
    rechain(&sl, i + 1, NULL);
    seg_write(p, &sl);
    seg_free(&sl);
}

/* Rewrite history with the audit key (but not the signing key): change a record and
 * recompute the chain after it. */
static void do_rewrite(void)
{
    char p[256];
    seg_lines sl;
    seg_path(-1, p, sizeof p);
    seg_read(p, &sl);
    memcpy(strstr(sl.v[1], "alice"), "mallo", 5);
    rechain(&sl, 2, NULL);
    seg_write(p, &sl);
    seg_free(&sl);
}

TEST(t_tamper_flip)
{
    tamper(do_flip, "altered: the block fails authentication");
}
/* v2 stores no prev: the changed record changes every hash after it, which the next
 * checkpoint's signature or the next segment's header catches, naming a range of seqs
 * that holds the changed one. */
TEST(t_tamper_alter)
{
    setup();
    build();
    seg_first = 0;
    do_alter();
    audit_verify_stats st;
    char err[512] = "";
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(strstr(err, "bad signature: checkpoint seq") ||
          has(err, "altered: the segment does not continue the chain"));
    const char *r = strstr(err, "a record of seq ");
    unsigned long long lo = 0, hi = 0;
    CHECK(r && sscanf(r + 16, "%llu..%llu", &lo, &hi) == 2);
    CHECK((long long)lo <= seg_first + 5 && seg_first + 5 <= (long long)hi);
    teardown();
}
TEST(t_tamper_delete)
{
    tamper2(do_delete, "removed: records %lld..%lld", 5, 5);
}
TEST(t_tamper_swap)
{
    tamper2(do_swap, "reordered: seq %lld comes before seq %lld", 6, 5);
}
TEST(t_tamper_insert)
{
    tamper2(do_insert, "inserted or reordered: seq %lld appears where seq %lld belongs", 5, 6);
}
TEST(t_tamper_truncate)
{
    tamper(do_truncate, "truncated");
}
/* A middle segment removed (on a trail of tamper_version): found and named. */
static void drop_middle(void)
{
    setup();
    build();
    do_drop();
    audit_verify_stats st;
    char err[512] = "";
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(has(err, "missing segment: segment 2 is absent"));
    teardown();
}
TEST(t_tamper_drop)
{
    drop_middle();
}
TEST(t_tamper_resign)
{
    tamper(do_resign, "bad signature");
}
TEST(t_tamper_rewrite)
{
    tamper(do_rewrite, "bad signature");
}

/* Dropping the newest segment is found through audit.head. */
static void drop_last(void)
{
    setup();
    build();
    char p[256];
    seg_path(-1, p, sizeof p);
    unlink(p);
    audit_verify_stats st;
    char err[512] = "";
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(has(err, "truncated: the trail ends at seq"));
    teardown();
}
TEST(t_tamper_drop_last)
{
    drop_last();
}

/* A trail cut while no server ran is refused at start-up, before the next checkpoint would
 * overwrite audit.head (the evidence); with audit.head kept aside it opens again. */
TEST(t_resume_cut)
{
    setup();
    build();
    char p[256], h[200], aside[220], err[512] = "";
    seg_path(-1, p, sizeof p);
    unlink(p);
    audit_opts o;
    audit_opts_default(&o);
    o.dir = adir;
    audit *a = audit_open(&o, kr, err, sizeof err);
    CHECK(a == NULL);
    CHECK(has(err, "but audit.head records a signed checkpoint at seq"));
    if (a) audit_close(a);
    /* An altered head record in the newest segment: the hash differs. */
    snprintf(h, sizeof h, "%s/audit.head", adir);
    snprintf(aside, sizeof aside, "%s/audit.head.cut", adir);
    CHECK_INT(rename(h, aside), 0);
    a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 5, 9000);
    audit_close(a);
    FILE *f = fopen(h, "r+");
    char line[256];
    CHECK(f && fgets(line, sizeof line, f));
    if (f) {
        char *sp = strchr(line, ' ');
        if (sp) sp[1] = sp[1] == 'f' ? 'e' : 'f';
        rewind(f);
        fputs(line, f);
        fclose(f);
    }
    err[0] = '\0';
    a = audit_open(&o, kr, err, sizeof err);
    CHECK(a == NULL);
    CHECK(has(err, "differs from the checkpoint in audit.head"));
    if (a) audit_close(a);
out:
    teardown();
}

/* Every tampering above on a trail of v1 segments (as the previous release wrote them):
 * the same findings, except that a changed record is found at the next record. */
TEST(t_tamper_v1)
{
    tamper_version = 1;
    setup();
    build();
    CHECK_INT(seg_version(0), 1);
    CHECK_INT(seg_version(-1), 1);
    teardown();
    tamper(do_flip, "altered: the block fails authentication");
    tamper2(do_alter, "altered: seq %lld does not chain to seq %lld", 6, 5);
    tamper2(do_delete, "removed: records %lld..%lld", 5, 5);
    tamper2(do_swap, "reordered: seq %lld comes before seq %lld", 6, 5);
    tamper2(do_insert, "inserted or reordered: seq %lld appears where seq %lld belongs", 5, 6);
    tamper(do_truncate, "truncated");
    tamper(do_resign, "bad signature");
    tamper(do_rewrite, "bad signature");
    drop_middle();
    drop_last();
    tamper_version = 2;
}

TEST(t_fail_closed)
{
    setup();
    signal(SIGXFSZ, SIG_IGN);
    audit_opts o;
    audit_opts_default(&o);
    o.retry_ms = 50;
    o.fsync_always = 1;
    audit *a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 20, 0);
    char p[256];
    seg_path(-1, p, sizeof p);
    struct stat sb;
    stat(p, &sb);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size + 3000;
    setrlimit(RLIMIT_FSIZE, &lim);
    int accepted = 20, refused = 0;
    char k[64], s[64];
    for (int i = 0; i < 2000 && !refused; i++) {
        audit_rec r = access_rec("bob", 1000 + i, k, s);
        if (audit_append(a, &r) == 0)
            accepted++;
        else
            refused = 1;
        if (i % 10 == 9) audit_flush(a, 2000);
    }
    CHECK(refused);
    CHECK(!audit_healthy(a));
    CHECK(strstr(audit_error(a), "cannot write a segment") != NULL);
    /* Still refusing while the disk is full. */
    audit_rec r = access_rec("bob", 1, k, s);
    CHECK_INT(audit_append(a, &r), -1);
    uint64_t before = audit_durable_seq(a);
    setrlimit(RLIMIT_FSIZE, &old);
    for (int i = 0; i < 200 && !audit_healthy(a); i++)
        usleep(20000);
    CHECK(audit_healthy(a));
    CHECK(audit_durable_seq(a) > before);
    append_n(a, 5, 5000);
    accepted += 5;
    audit_close(a);
    audit_verify_stats st;
    char err[512];
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, accepted);
out:
    signal(SIGXFSZ, SIG_DFL);
    teardown();
}

TEST(t_prune)
{
    setup();
    build();
    audit_opts o;
    audit_opts_default(&o);
    o.dir = adir;
    audit_verify_stats st0;
    char err[512];
    CHECK_INT(verify(&st0, err, sizeof err), 0);
    int removed = -1;
    /* Nothing is old enough today. */
    CHECK_INT(audit_prune_dir(&o, kr, wall_us(), "admin", &removed, err, sizeof err), 0);
    CHECK_INT(removed, 0);
    /* 2556 days later every segment but the newest may go. */
    int64_t later = wall_us() + 2556LL * 86400 * 1000000;
    CHECK_INT(audit_prune_dir(&o, kr, later, "admin", &removed, err, sizeof err), 0);
    CHECK_INT(removed, (int)st0.segments - 1);
    audit_verify_stats st;
    CHECK_INT(verify(&st, err, sizeof err), 0);
    if (*err) fprintf(stderr, "%s\n", err);
    CHECK(st.pruned_through > 0);
    CHECK_INT(st.segments, 2); /* the newest kept + the prune record's own segment */
    teardown();
}

/* A line callback that tries a prune's lock while verify reads: -2 (a reader holds it). */
static int try_prune_lock(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    (void)line, (void)n, (void)li;
    int *got = ud;
    if (*got == 0) {
        *got = audit_dir_lock(adir, 1);
        if (*got >= 0) close(*got);
    }
    return 0;
}

/* PHI.AUDIT PRUNE's path: beside a running writer, the prune record goes into the live
 * trail, the old segments go once it is written, the writer goes on, and the trail
 * verifies from the first remaining segment. */
TEST(t_prune_live)
{
    setup();
    build();
    audit_opts o;
    audit_opts_default(&o);
    o.checkpoint_records = 100000; /* no checkpoint before the close: audit.head stays put */
    o.segment_max_bytes = 3000;
    audit *a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 20, 1000);
    audit_rec who = {.user = "admin", .role = "admin", .addr = "127.0.0.1:6000", .session = 9};
    char err[512];
    int removed = -1;
    CHECK_INT(audit_prune_live(a, &o, wall_us(), &who, &removed, err, sizeof err), 0);
    CHECK_INT(removed, 0);
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(adir, &ids, &names);
    CHECK(n >= 3);
    audit_seg_list_free(ids, names, n);
    uint64_t before = audit_last_seq(a);
    int64_t later = wall_us() + 2556LL * 86400 * 1000000;
    /* A reader holds the lock (as audit_verify_dir does for its pass): nothing happens. */
    int rd = audit_dir_lock(adir, 0);
    CHECK(rd >= 0);
    CHECK_INT(audit_dir_lock(adir, 1), -2);
    CHECK_INT(audit_prune_live(a, &o, later, &who, &removed, err, sizeof err), -1);
    CHECK(has(err, "a reader of the trail"));
    CHECK_INT(removed, 0);
    CHECK_INT(audit_last_seq(a), before); /* not even recorded */
    if (rd >= 0) close(rd);
    CHECK_INT(audit_prune_live(a, &o, later, &who, &removed, err, sizeof err), 0);
    CHECK_INT(removed, n - 1);
    CHECK(audit_durable_seq(a) > before); /* the record was written before the removal */
    /* Beside the writer, before its next checkpoint: audit.head names a removed record,
     * which the prune record accounts for (and a different one would not match it). */
    audit_verify_stats st;
    CHECK_INT(verify(&st, err, sizeof err), 0);
    if (*err) fprintf(stderr, "%s\n", err);
    char hp[200], hl[256];
    snprintf(hp, sizeof hp, "%s/audit.head", adir);
    FILE *f = fopen(hp, "r+");
    CHECK(f && fgets(hl, sizeof hl, f));
    if (f) {
        char *sp = strchr(hl, ' ');
        CHECK(sp && strtoull(hl, NULL, 10) < st.first_seq);
        if (sp) {
            sp[1] = sp[1] == '0' ? '1' : '0';
            rewind(f);
            fputs(hl, f);
        }
        fclose(f);
        CHECK_INT(verify(&st, err, sizeof err), 1);
        CHECK(has(err, "differs from the record the prune removed"));
        if (sp) sp[1] = sp[1] == '0' ? '1' : '0';
        f = fopen(hp, "w");
        if (f) fputs(hl, f), fclose(f);
    }
    append_n(a, 20, 2000);
    audit_close(a);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    if (*err) fprintf(stderr, "%s\n", err);
    CHECK(st.pruned_through > 0);
    CHECK(st.records >= 21);
    int got = 0;
    CHECK_INT(audit_verify_dir(adir, asl, &apub, try_prune_lock, &got, &st, err, sizeof err), 0);
    CHECK_INT(got, -2); /* verify holds the readers' lock for its whole pass */
out:
    teardown();
}

/* Rotating the audit key under a running writer: new blocks use the new key, the trail
 * still verifies (old blocks open with the old version). */
TEST(t_rotate)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    audit *a = open_trail(&o);
    if (!a) goto out;
    char err[512];
    char k[64], s[64];
    for (int i = 0; i < 300; i++) {
        audit_rec r = access_rec("alice", i, k, s);
        CHECK_INT(audit_append(a, &r), 0);
        if (i == 150) CHECK_INT(audit_rotate_key(a, err, sizeof err), 2);
    }
    CHECK_INT(audit_flush(a, 10000), 0);
    audit_close(a);
    CHECK_INT(keyring_current(kr, KR_AUDIT), 2);
    audit_verify_stats st;
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 300);
out:
    teardown();
}

/* Rotating the signing key, under a running writer and then across a restart: audit.pub
 * lists every version, so checkpoints signed before and after each rotation verify; with
 * only the newest key the old checkpoints do not. */
TEST(t_rotate_sign)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    o.checkpoint_records = 50;
    audit *a = open_trail(&o);
    if (!a) goto out;
    char err[512], k[64], s[64], pp[160];
    for (int i = 0; i < 300; i++) {
        audit_rec r = access_rec("alice", i, k, s);
        CHECK_INT(audit_append(a, &r), 0);
        if (i == 150) {
            CHECK_INT(audit_flush(a, 10000), 0);
            CHECK_INT(audit_rotate_sign(a, err, sizeof err), 2);
        }
    }
    audit_close(a);
    CHECK_INT(keyring_rotate(kr, KR_SIGN, err, sizeof err), 3); /* offline, then a start */
    a = open_trail(&o);
    if (!a) goto out;
    for (int i = 0; i < 100; i++) {
        audit_rec r = access_rec("bob", i, k, s);
        CHECK_INT(audit_append(a, &r), 0);
    }
    audit_close(a);
    audit_pubset pub;
    snprintf(pp, sizeof pp, "%s/audit.pub", adir);
    CHECK_INT(audit_pub_read(pp, &pub), 0);
    CHECK_INT(pub.n, 3);
    CHECK(memcmp(pub.k[0], apub.k[0], 32) == 0); /* the first key stays, first */
    audit_verify_stats st;
    CHECK_INT(audit_verify_dir(adir, asl, &pub, NULL, NULL, &st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, 400);
    audit_pubset newest = {.n = 1};
    memcpy(newest.k[0], pub.k[2], 32);
    CHECK_INT(audit_verify_dir(adir, asl, &newest, NULL, NULL, &st, err, sizeof err), 1);
    CHECK(strstr(err, "bad signature"));
    /* Keys in the wrong order: a checkpoint signed by a key older than the previous
     * checkpoint's is refused (a rotated-out key cannot sign after its successor). */
    audit_pubset rev = {.n = 3};
    for (int i = 0; i < 3; i++)
        memcpy(rev.k[i], pub.k[2 - i], 32);
    CHECK_INT(audit_verify_dir(adir, asl, &rev, NULL, NULL, &st, err, sizeof err), 1);
    CHECK(strstr(err, "bad signature"));
    /* A second open adds nothing: the file stays as it is. */
    a = open_trail(&o);
    if (!a) goto out;
    audit_close(a);
    CHECK_INT(audit_pub_read(pp, &pub), 0);
    CHECK_INT(pub.n, 3);
out:
    teardown();
}

/* The highest audit-key nonce counter among the blocks of every segment. */
static uint64_t trail_max_nonce(void)
{
    uint64_t *ids, top = 0;
    char **names;
    int n = audit_seg_list(adir, &ids, &names);
    for (int i = 0; i < n; i++) {
        char p[256];
        size_t len;
        snprintf(p, sizeof p, "%s/%s", adir, names[i]);
        uint8_t *d = slurp(p, &len);
        size_t off = AUDIT_SEG_HEADER;
        audit_blk_header b;
        while (d && off + AUDIT_BLK_HEADER + SEAL_HEADER <= len &&
               audit_blk_header_decode(d + off, &b) == 0) {
            uint64_t c = 0;
            for (int k = 0; k < 8; k++) /* version (4), fixed field (4), counter (8) */
                c = c << 8 | d[off + AUDIT_BLK_HEADER + 8 + k];
            if (c > top) top = c;
            off += AUDIT_BLK_HEADER + b.sealed_len;
        }
        free(d);
    }
    audit_seg_list_free(ids, names, n);
    return top;
}

static void reopen_keyring(void)
{
    seal_free(asl);
    keyring_close(kr);
    open_keyring(0);
}

/* A keyring file older than the trail (copied back) while the newest segment has no
 * block yet (the writer created it, then the server stopped): resuming must still raise
 * the audit key's nonce counter above the nonces of the blocks before it. */
TEST(t_resume_nonces)
{
    setup();
    char krp[128], p[256];
    snprintf(krp, sizeof krp, "%s/keyring", tdir);
    audit_opts o;
    audit_opts_default(&o);
    audit *a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 20, 0);
    audit_close(a);
    size_t oldn = 0;
    uint8_t *old = slurp(krp, &oldn); /* reserves the first block of nonces */
    reopen_keyring();                 /* the next run resumes above that block */
    a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 20, 20);
    audit_close(a);
    uint64_t used = trail_max_nonce();
    /* A segment whose header was written but no block: the next id, chained to the end. */
    seg_lines sl;
    seg_path(-1, p, sizeof p);
    CHECK_INT(seg_read(p, &sl), 0);
    audit_line_info li;
    CHECK_INT(audit_line_parse(sl.v[sl.n - 1], strlen(sl.v[sl.n - 1]), &li), 0);
    audit_seg_header h = {.version = AUDIT_SEG_VERSION,
                          .id = sl.h.id + 1,
                          .first_seq = li.seq + 1,
                          .created_us = wall_us()};
    audit_hash((const uint8_t *)sl.v[sl.n - 1], strlen(sl.v[sl.n - 1]), h.prev);
    seg_free(&sl);
    audit_seg_header_encode(&h);
    char name[64];
    audit_seg_name(name, sizeof name, h.id, h.created_us);
    snprintf(p, sizeof p, "%s/%s", adir, name);
    spit(p, h.raw, AUDIT_SEG_HEADER);
    spit(krp, old, oldn); /* the older keyring */
    free(old);
    reopen_keyring();
    a = open_trail(&o); /* notes the nonces of the segment before the empty one */
    if (!a) goto out;
    uint8_t nonce[12];
    CHECK_INT(keyring_nonce(kr, KR_AUDIT, keyring_current(kr, KR_AUDIT), nonce), 0);
    uint64_t next = 0;
    for (int k = 0; k < 8; k++)
        next = next << 8 | nonce[4 + k];
    CHECK(next > used);
    if (next <= used)
        fprintf(stderr, "  next nonce %llu, the trail used up to %llu\n", (unsigned long long)next,
                (unsigned long long)used);
    append_n(a, 5, 40);
    audit_close(a);
    audit_verify_stats st;
    char err[512];
    CHECK_INT(verify(&st, err, sizeof err), 0);
    if (*err) fprintf(stderr, "%s\n", err);
    CHECK_INT(st.records - st.checkpoints, 45);
out:
    teardown();
}

UNIT_MAIN(T(t_rotate), T(t_rotate_sign), T(t_resume_nonces), T(t_format), T(t_roundtrip),
          T(t_resume_torn), T(t_resume_end), T(t_required_sink_without_host), T(t_tamper_flip),
          T(t_tamper_alter), T(t_tamper_delete), T(t_tamper_swap), T(t_tamper_insert),
          T(t_tamper_truncate), T(t_tamper_drop), T(t_tamper_resign), T(t_tamper_rewrite),
          T(t_tamper_drop_last), T(t_resume_cut), T(t_tamper_v1), T(t_fail_closed), T(t_prune),
          T(t_prune_live))
