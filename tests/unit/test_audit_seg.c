/*
 * test_audit_seg: segment format v2 (lines stored without their prev member): the line
 * reader (audit_lines) rebuilds the exact full lines, the writer writes v2 and never a
 * prev member, trails of v1 and v2 segments mixed verify and resume, malformed stored
 * lines are found (never a crash), and a record changed in a v2 block is found at the
 * next checkpoint, segment header or audit.head.
 */
#include "audit_test.h"

/* The full line of access record i (seq, time fixed) after prev, without '\n'. */
static void full_line(int i, uint64_t seq, const uint8_t prev[32], buf *out)
{
    char k[64], s[64];
    audit_rec r = access_rec("alice", i, k, s);
    audit_format(&r, seq, 1796566622000000LL + i, prev, out);
    out->len--; /* the '\n' */
}

TEST(t_lines)
{
    /* Three chained full lines, stored v2, read back. */
    buf full[3] = {{0}}, stored = {0};
    uint8_t prev0[32], h[3][32];
    memset(prev0, 0x5a, 32);
    for (int i = 0; i < 3; i++) {
        full_line(i, (uint64_t)i + 7, i ? h[i - 1] : prev0, &full[i]);
        audit_hash(full[i].p, full[i].len, h[i]);
        CHECK_INT(audit_line_store((const char *)full[i].p, full[i].len, &stored), 0);
        buf_putc(&stored, '\n');
    }
    CHECK(memmem(stored.p, stored.len, "\"prev\"", 6) == NULL);
    CHECK_INT(stored.len, full[0].len + full[1].len + full[2].len + 3 - 3 * 74);
    audit_lines it;
    memset(&it, 0, sizeof it);
    /* In two pieces, as two blocks: the running hash carries over. */
    size_t cut = (size_t)((uint8_t *)memchr(stored.p, '\n', stored.len) - stored.p) + 1;
    audit_lines_start(&it, 2, stored.p, cut, prev0);
    const char *line;
    size_t len;
    uint8_t hash[32];
    int k = 0;
    for (int part = 0; part < 2; part++) {
        if (part) audit_lines_start(&it, 2, stored.p + cut, stored.len - cut, it.prev);
        int r;
        while ((r = audit_lines_next(&it, &line, &len, hash)) == 1) {
            CHECK(k < 3 && len == full[k].len && memcmp(line, full[k].p, len) == 0);
            CHECK(k < 3 && memcmp(hash, h[k], 32) == 0);
            k++;
        }
        CHECK_INT(r, 0);
    }
    CHECK_INT(k, 3);
    CHECK(memcmp(it.prev, h[2], 32) == 0);
    /* v1: full lines come as stored. */
    buf v1 = {0};
    for (int i = 0; i < 3; i++) {
        buf_append(&v1, full[i].p, full[i].len);
        buf_putc(&v1, '\n');
    }
    audit_lines_start(&it, 1, v1.p, v1.len, prev0);
    for (k = 0; audit_lines_next(&it, &line, &len, hash) == 1; k++)
        CHECK(len == full[k].len && memcmp(line, full[k].p, len) == 0 && !memcmp(hash, h[k], 32));
    CHECK_INT(k, 3);
    /* Malformed v2 lines (empty, no final '}', a prev member at the end); lines that only
     * look alike are rebuilt; a line without its '\n'. */
    static const char *const badv2[] = {"\n", "{\"seq\":1,\"ev\":\"x\"\n", "{\"seq\":1}x\n",
                                        "{\"seq\":1,\"prev\":\"ab\"}\n", ",\"prev\":\"\"}\n"};
    for (int i = 0; i < 5; i++) {
        audit_lines_start(&it, 2, (const uint8_t *)badv2[i], strlen(badv2[i]), prev0);
        CHECK_INT(audit_lines_next(&it, &line, &len, hash), AUDIT_LINES_MALFORMED);
    }
    static const char *const okv2[] = {"{\"seq\":1,\"detail\":{\"prev\":\"x\"}}\n",
                                       "{\"seq\":1,\"reason\":\"a,\\\"prev\\\":\\\"b\"}\n", "}\n"};
    for (int i = 0; i < 3; i++) {
        audit_lines_start(&it, 2, (const uint8_t *)okv2[i], strlen(okv2[i]), prev0);
        CHECK_INT(audit_lines_next(&it, &line, &len, hash), 1);
        CHECK(len == strlen(okv2[i]) + 73 && line[len - 1] == '}');
    }
    buf twice = {0}; /* a full line stored as it is: a second prev would appear */
    buf_append(&twice, full[0].p, full[0].len);
    buf_putc(&twice, '\n');
    audit_lines_start(&it, 2, twice.p, twice.len, prev0);
    CHECK_INT(audit_lines_next(&it, &line, &len, hash), AUDIT_LINES_MALFORMED);
    audit_lines_start(&it, 2, (const uint8_t *)"{\"seq\":1}", 9, prev0);
    CHECK_INT(audit_lines_next(&it, &line, &len, hash), AUDIT_LINES_NOEND);
    audit_lines_start(&it, 1, (const uint8_t *)"{\"seq\":1}", 9, prev0);
    CHECK_INT(audit_lines_next(&it, &line, &len, hash), AUDIT_LINES_NOEND);
    /* audit_line_store wants a line that ends in a prev member. */
    size_t before = stored.len;
    CHECK_INT(audit_line_store("{\"seq\":1}", 9, &stored), -1);
    CHECK_INT(audit_line_store((const char *)full[0].p, full[0].len - 3, &stored), -1);
    CHECK_INT(stored.len, before);
    audit_lines_free(&it);
    for (int i = 0; i < 3; i++)
        buf_free(&full[i]);
    buf_free(&stored);
    buf_free(&v1);
    buf_free(&twice);
}

/* What a verify callback saw. */
typedef struct {
    int n, bad;
    uint8_t last[32]; /* hash of the last line */
} seen;

/* Each line given must chain to the one before by its own prev member. */
static int on_line(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    seen *s = ud;
    if (s->n && memcmp(li->prev, s->last, 32) != 0) s->bad++;
    if (n < AUDIT_PREV_SUFFIX || memcmp(line + n - AUDIT_PREV_SUFFIX, ",\"prev\":\"", 9) != 0)
        s->bad++;
    audit_hash((const uint8_t *)line, n, s->last);
    s->n++;
    return 0;
}

/* No stored line of any block of segment idx holds a prev member; returns the lines. */
static int stored_without_prev(int idx)
{
    char p[256];
    size_t n;
    seg_path(idx, p, sizeof p);
    uint8_t *d = slurp(p, &n);
    audit_seg_header h;
    if (!d || audit_seg_header_decode(d, &h) != 0) {
        free(d);
        return -1;
    }
    buf plain = {0}, tmp = {0};
    int lines = 0;
    for (size_t off = AUDIT_SEG_HEADER; off + AUDIT_BLK_HEADER <= n;) {
        audit_blk_header b;
        if (audit_blk_header_decode(d + off, &b) != 0) break;
        plain.len = 0;
        if (audit_blk_open(asl, &h, &b, d + off + AUDIT_BLK_HEADER, NULL, &tmp, &plain) != 0) break;
        if (memmem(plain.p, plain.len, "\"prev\"", 6)) lines = -1000000;
        for (size_t i = 0; i < plain.len; i++)
            lines += plain.p[i] == '\n';
        off += AUDIT_BLK_HEADER + b.sealed_len;
    }
    buf_free(&plain);
    buf_free(&tmp);
    free(d);
    return lines;
}

static unsigned long long trail_bytes(void)
{
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(adir, &ids, &names);
    unsigned long long total = 0;
    for (int i = 0; i < n; i++) {
        char p[256];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", adir, names[i]);
        if (stat(p, &sb) == 0) total += (unsigned long long)sb.st_size;
    }
    audit_seg_list_free(ids, names, n);
    return total;
}

/* The writer writes v2; verify gives back exactly the lines audit_format makes. */
TEST(t_v2_roundtrip)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    o.checkpoint_records = 100;
    audit *a = open_trail(&o);
    if (!a) goto out;
    char k[64], s[64];
    for (int i = 0; i < 250; i++) {
        audit_rec r = access_rec("alice", i, k, s);
        r.ts_us = 1796566622000000LL + i;
        CHECK_INT(audit_append(a, &r), 0);
    }
    CHECK_INT(audit_flush(a, 10000), 0);
    uint64_t hs;
    uint8_t hh[32];
    audit_head(a, &hs, hh);
    audit_close(a);
    CHECK_INT(seg_version(0), 2);
    char p[256];
    seg_path(0, p, sizeof p);
    size_t n;
    uint8_t *d = slurp(p, &n);
    CHECK(d && !memmem(d, n, "alice", 5) && !memmem(d, n, "patient", 7));
    free(d);
    /* Each access record's line is audit_format's, with the hash of the line before. */
    seg_lines sl;
    CHECK_INT(seg_read(p, &sl), 0);
    CHECK(sl.n >= 252); /* and checkpoints (one may come early: the records are dated) */
    CHECK_INT(stored_without_prev(0), sl.n);
    int nlines = sl.n;
    uint8_t prev[32] = {0};
    int rec = 0;
    buf want = {0};
    for (int i = 0; i < sl.n; i++) {
        if (!strstr(sl.v[i], "\"ev\":\"checkpoint\"")) {
            want.len = 0;
            full_line(rec, (uint64_t)i + 1, prev, &want);
            CHECK_STR(sl.v[i], buf_cstr(&want));
            rec++;
        }
        audit_hash((const uint8_t *)sl.v[i], strlen(sl.v[i]), prev);
        if ((uint64_t)i + 1 == hs) CHECK(memcmp(prev, hh, 32) == 0); /* before the last one */
    }
    CHECK_INT(rec, 250);
    CHECK((int)hs >= nlines - 1);
    buf_free(&want);
    seg_free(&sl);
    audit_verify_stats st;
    char err[512];
    seen sn = {0};
    CHECK_INT(audit_verify_dir(adir, asl, &apub, on_line, &sn, &st, err, sizeof err), 0);
    CHECK_INT(sn.n, nlines);
    CHECK_INT(sn.bad, 0);
    CHECK(memcmp(sn.last, st.head, 32) == 0);
    /* The same records as v1 take more room (the prev hex does not compress); both in one
     * block, so only the format differs. */
    trail_convert(0, -1, 2);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    unsigned long long v2 = trail_bytes();
    trail_convert(0, -1, 1);
    CHECK_INT(seg_version(0), 1);
    audit_verify_stats st1;
    CHECK_INT(verify(&st1, err, sizeof err), 0);
    CHECK(memcmp(st1.head, st.head, 32) == 0 && st1.bytes == st.bytes);
    CHECK(trail_bytes() > v2 + 250 * 25);
out:
    teardown();
}

/* v1 segments (the previous release) followed by v2 ones: verify, resume, append. */
TEST(t_mixed)
{
    setup();
    build_trail();
    audit_verify_stats st0, st;
    char err[512];
    CHECK_INT(verify(&st0, err, sizeof err), 0);
    CHECK(st0.segments >= 3);
    trail_convert(0, 2, 1);
    CHECK_INT(seg_version(0), 1);
    CHECK_INT(seg_version(1), 1);
    CHECK_INT(seg_version(2), 2);
    seen sn = {0};
    CHECK_INT(audit_verify_dir(adir, asl, &apub, on_line, &sn, &st, err, sizeof err), 0);
    CHECK_INT(st.records, st0.records);
    CHECK_INT(st.bytes, st0.bytes);
    CHECK_INT(st.last_ckpt_seq, st0.last_ckpt_seq);
    CHECK(memcmp(st.head, st0.head, 32) == 0);
    CHECK_INT(sn.bad, 0);
    /* The whole trail v1, as the previous release left it: the writer resumes from a v1
     * segment and continues in a v2 one. */
    trail_convert(0, -1, 1);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK(memcmp(st.head, st0.head, 32) == 0);
    audit_opts o;
    audit_opts_default(&o);
    audit *a = open_trail(&o);
    if (!a) goto out;
    CHECK_INT(audit_last_seq(a), st0.last_seq);
    append_n(a, 10, 1000);
    audit_close(a);
    CHECK_INT(seg_version(-2), 1);
    CHECK_INT(seg_version(-1), 2);
    sn = (seen){0};
    CHECK_INT(audit_verify_dir(adir, asl, &apub, on_line, &sn, &st, err, sizeof err), 0);
    if (*err) fprintf(stderr, "%s\n", err);
    CHECK_INT(st.records - st.checkpoints, st0.records - st0.checkpoints + 10);
    CHECK_INT(st.segments, st0.segments + 1);
    CHECK_INT(sn.bad, 0);
    /* And once more from the v2 segment. */
    a = open_trail(&o);
    if (!a) goto out;
    append_n(a, 5, 2000);
    audit_close(a);
    CHECK_INT(verify(&st, err, sizeof err), 0);
    CHECK_INT(st.records - st.checkpoints, st0.records - st0.checkpoints + 15);
out:
    teardown();
}

/* Replace line i of segment idx (read as full lines) by text, stored as it is in v2. */
static void put_line(int idx, int i, const char *text)
{
    char p[256];
    seg_lines sl;
    seg_path(idx, p, sizeof p);
    if (seg_read(p, &sl) != 0 || i >= sl.n) abort();
    seg_set(&sl, i, text);
    seg_write(p, &sl);
    seg_free(&sl);
}

/* A malformed stored v2 line is a named verify error, and refuses a resume. */
TEST(t_malformed)
{
    for (int kind = 0; kind < 5; kind++) {
        setup();
        build_trail();
        char p[256];
        seg_lines sl;
        seg_path(1, p, sizeof p);
        if (seg_read(p, &sl) != 0 || sl.n < 4) abort();
        buf t = {0};
        const char *line = sl.v[2];
        size_t n = strlen(line);
        switch (kind) {
        case 0: /* does not end in '}' */ buf_append(&t, line, n - AUDIT_PREV_SUFFIX); break;
        case 1: /* empty */ break;
        case 2: /* a second prev member at the end (one is stripped when stored) */
            buf_append(&t, line, n - 1);
            buf_append(&t, line + n - AUDIT_PREV_SUFFIX, AUDIT_PREV_SUFFIX);
            break;
        case 3: /* only the final '}' */ buf_putc(&t, '}'); break;
        case 4: /* a prev member that is not hex: stored as it is, ends in a prev member */
            buf_append(&t, line, n);
            t.p[n - 3] = 'x';
            break;
        }
        seg_free(&sl);
        put_line(1, 2, buf_cstr(&t));
        buf_free(&t);
        audit_verify_stats st;
        char err[512] = "";
        CHECK_INT(verify(&st, err, sizeof err), 1);
        CHECK(strstr(err, "segment 2 ") &&
              strstr(err, "altered: record 3 of the block is malformed"));
        if (kind != 3) CHECK(strstr(err, "must end in '}' and hold no prev member") != NULL);
        if (!strstr(err, "malformed")) fprintf(stderr, "  kind %d: %s\n", kind, err);
        /* The newest segment malformed: the writer refuses to resume. */
        put_line(-1, 1, "{\"seq\":1}x");
        audit_opts o;
        audit_opts_default(&o);
        o.dir = adir;
        audit *a = audit_open(&o, kr, err, sizeof err);
        CHECK(a == NULL && strstr(err, "does not chain"));
        audit_close(a);
        teardown();
    }
}

/* A record changed in a v2 block and re-sealed with the audit key. */
static void alter(int idx, int i, const char *from, const char *to)
{
    char p[256];
    seg_lines sl;
    seg_path(idx, p, sizeof p);
    if (seg_read(p, &sl) != 0 || i >= sl.n) abort();
    char *u = strstr(sl.v[i], from);
    if (!u) abort();
    memcpy(u, to, strlen(to));
    seg_write(p, &sl);
    seg_free(&sl);
}

TEST(t_v2_alter)
{
    /* Found without signatures too: audit.head holds the hash of the last checkpoint. */
    setup();
    build_trail();
    alter(-1, 1, "alice", "mallo");
    audit_verify_stats st;
    char err[512] = "";
    CHECK_INT(audit_verify_dir(adir, asl, NULL, NULL, NULL, &st, err, sizeof err), 1);
    CHECK(strstr(err, "differs from the checkpoint in audit.head") != NULL);
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(strstr(err, "bad signature: checkpoint seq") != NULL);
    teardown();
    /* A checkpoint's own fields are not signed, but its hash is the next one's prev (here:
     * the final checkpoint, named in audit.head). */
    setup();
    build_trail();
    char p[256];
    seg_lines sl;
    seg_path(-1, p, sizeof p);
    seg_read(p, &sl);
    CHECK(sl.n > 0 && strstr(sl.v[sl.n - 1], "\"ev\":\"checkpoint\""));
    char *c = sl.n ? strstr(sl.v[sl.n - 1], "\"count\":") : NULL;
    if (c) c[8] = c[8] == '9' ? '8' : (char)(c[8] + 1);
    seg_write(p, &sl);
    seg_free(&sl);
    CHECK_INT(verify(&st, err, sizeof err), 1);
    CHECK(strstr(err, "differs from the checkpoint in audit.head") != NULL);
    teardown();
}

UNIT_MAIN(T(t_lines), T(t_v2_roundtrip), T(t_mixed), T(t_malformed), T(t_v2_alter))
