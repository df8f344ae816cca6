/*
 * audit_cli: `phidb audit ...`, offline work on a data directory's audit trail.
 *
 *   phidb audit verify DIR [--pubkey FILE] [--checkpoint LINE]
 *   phidb audit report DIR [--from T] [--to T] [--user U] [--subject S] [--format text|json|csv]
 *   phidb audit accounting DIR --subject S [--from T] [--to T] [--all] [--format text|json|csv]
 *   phidb audit tail DIR [-n N] [-f]
 *   phidb audit export DIR [--format jsonl|csv] [--from T] [--to T] [--user U] [--subject S]
 *   phidb audit prune DIR [--now T]
 *
 * DIR is a directory holding phidb.conf (as `phidb init` makes it) or the path of a
 * config file; audit-dir and the master key come from it. Everything but prune only
 * reads, so it may run beside a live server. prune records itself in the trail: with the
 * server stopped it takes the data directory lock and writes a segment of its own; with
 * the server running it asks the server (PHI.AUDIT PRUNE as admin), which records the
 * prune in its trail and removes the segments (--now is then refused). Times are UTC:
 * YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]. A --to date without a time means the whole day.
 *
 * The public key used to check checkpoint signatures is audit-dir/audit.pub, which must
 * match the keyring's signing key; --pubkey names a trusted copy kept elsewhere (the
 * stronger check: someone who can rewrite the trail may also replace audit.pub).
 * --checkpoint takes the last checkpoint record the SIEM received (the whole line): the
 * trail must hold it byte for byte, which catches a tail cut together with audit.head.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_conf.h"
#include "audit/audit_report.h"
#include "audit/audit_seg.h"
#include "config.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "audit_tool.h"
#include "store/backup.h"
#include "tool_audit.h"
#include "tools.h"
#include "toolutil.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: phidb audit verify DIR [--pubkey FILE] [--checkpoint LINE]\n"
        "       phidb audit report DIR [--from T] [--to T] [--user U] [--subject S]\n"
        "                              [--format text|json|csv]\n"
        "       phidb audit accounting DIR --subject S [--from T] [--to T] [--all]\n"
        "                              [--format text|json|csv]\n"
        "       phidb audit tail DIR [-n N] [-f]\n"
        "       phidb audit export DIR [--format jsonl|csv] [--from T] [--to T] [--user U]\n"
        "                              [--subject S]\n"
        "       phidb audit prune DIR [--now T]\n"
        "DIR holds phidb.conf (or is a config file); times are UTC (YYYY-MM-DD[THH:MM[:SS]]).\n");
}

int audit_tool_open(const char *arg, audit_tool *t, const char *pubfile)
{
    memset(t, 0, sizeof *t);
    char path[4200], err[1024];
    struct stat sb;
    if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode))
        snprintf(path, sizeof path, "%s/phidb.conf", arg);
    else
        snprintf(path, sizeof path, "%s", arg);
    t->conf = config_new();
    if (config_load(t->conf, path, 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "phidb: %s\n", err);
        goto fail;
    }
    audit_opts_from_config(t->conf, &t->opts);
    keyring_kek_source src = {0};
    if (t->conf->master_key_command && *t->conf->master_key_command)
        src.command = t->conf->master_key_command;
    else if (t->conf->master_key_passphrase) {
        src.passphrase = getenv("PHIDB_PASSPHRASE");
        if (!src.passphrase || !*src.passphrase) {
            fprintf(stderr, "phidb: set PHIDB_PASSPHRASE (master-key-passphrase is yes)\n");
            goto fail;
        }
    } else
        src.key_file = t->conf->master_key_file;
    char krp[4200];
    snprintf(krp, sizeof krp, "%s/keyring", t->conf->dir);
    t->kr = keyring_open(krp, &src, 0, err, sizeof err);
    if (!t->kr) {
        fprintf(stderr, "phidb: %s\n", err);
        goto fail;
    }
    t->s = seal_new(t->kr, KR_AUDIT);
    /* The keyring's signing keys (every version, in order: older ones signed older
     * checkpoints). */
    static audit_pubset ours, file;
    static uint32_t vers[AUDIT_PUB_MAX];
    size_t nv = keyring_versions(t->kr, KR_SIGN, vers, AUDIT_PUB_MAX);
    uint8_t current[32];
    int have_current = 0;
    ours.n = 0;
    for (size_t i = 0; i < nv && i < AUDIT_PUB_MAX; i++) {
        const uint8_t *seed = keyring_key(t->kr, KR_SIGN, vers[i]);
        uint8_t pub[32];
        if (!seed || audit_ed25519_pub(seed, pub) != 0) continue;
        audit_pubset_add(&ours, pub);
        if (vers[i] == keyring_current(t->kr, KR_SIGN)) {
            memcpy(current, pub, 32);
            have_current = 1;
        }
    }
    if (!have_current) {
        fprintf(stderr, "phidb: the keyring has no signing key\n");
        goto fail;
    }
    char pp[4200];
    if (pubfile)
        snprintf(pp, sizeof pp, "%s", pubfile);
    else
        snprintf(pp, sizeof pp, "%s/audit.pub", t->opts.dir);
    if (audit_pub_read(pp, &file) != 0) {
        if (pubfile || access(pp, F_OK) == 0) {
            fprintf(stderr, "phidb: cannot read the public keys in %s\n", pp);
            goto fail;
        }
        t->pub = ours; /* no trail yet */
    } else {
        size_t foreign = 0;
        for (size_t i = 0; i < file.n; i++)
            if (!audit_pubset_has(&ours, file.k[i])) foreign++;
        if (foreign)
            fprintf(stderr,
                    "phidb: %s lists %zu key(s) that are not a version of the keyring's signing "
                    "key: checkpoints they verify were not signed by this instance\n",
                    pp, foreign);
        if (!audit_pubset_has(&file, current))
            fprintf(stderr,
                    "phidb: %s does not list the keyring's current signing key: checkpoints "
                    "signed with it will fail\n",
                    pp);
        /* With --pubkey, that file's keys alone. Else also the keyring's versions (audit.pub
         * of a release that kept only the newest key lacks the older ones; the server
         * publishes them at its next start). */
        /* Either way in version order: the verifier requires each checkpoint's key to be no
         * older than the last one's, and a file written by the previous release may list
         * the newest key first. */
        static audit_pubset listed;
        listed.n = 0;
        for (size_t i = 0; i < ours.n; i++)
            if (pubfile == NULL || audit_pubset_has(&file, ours.k[i]))
                audit_pubset_add(&listed, ours.k[i]);
        if (audit_pubset_order(&file, &listed, &t->pub) != 0) t->pub = file;
    }
    t->src.dir = t->opts.dir;
    t->src.s = t->s;
    t->src.pub = &t->pub;
    return 0;
fail:
    audit_tool_close(t);
    return -1;
}

int audit_tool_reopen(audit_tool *t, const char *dir)
{
    audit_tool_close(t);
    return audit_tool_open(dir, t, NULL);
}

void audit_tool_close(audit_tool *t)
{
    seal_free(t->s);
    keyring_close(t->kr);
    config_free(t->conf);
    memset(t, 0, sizeof *t);
}

int audit_tool_time(const char *s, int end_of_day, int64_t *out)
{
    if (audit_parse_ts(s, out) != 0) {
        fprintf(stderr, "phidb: bad time '%s' (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC)\n", s);
        return -1;
    }
    /* An end given to the day, minute or second means the end of it: --to 12:00 includes
     * what happened during 12:00 (inclusive, as a bare date includes its whole day). */
    if (end_of_day) {
        const char *t = strchr(s, 'T');
        int colons = 0;
        for (const char *p = t; p && *p; p++)
            colons += *p == ':';
        if (!t && strlen(s) == 10)
            *out += 86400LL * 1000000 - 1;
        else if (t && colons == 1)
            *out += 60LL * 1000000 - 1;
        else if (t && colons == 2 && !strchr(t, '.'))
            *out += 1000000 - 1;
    }
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- verify ---- */

/* --checkpoint LINE: a record as the SIEM received it must be in the trail, byte for byte. */
typedef struct {
    const char *line; /* the expected record (NULL: none) */
    size_t n;
    uint64_t seq; /* its seq */
    int found, differs;
} expect_ctx;

static int expect_line(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    expect_ctx *e = ud;
    if (li->seq == e->seq) {
        e->found = 1;
        e->differs = n != e->n || memcmp(line, e->line, n) != 0;
    }
    return 0;
}

static int do_verify(audit_tool *t, const char *expect)
{
    audit_verify_stats st;
    char err[1024];
    struct timespec a, b;
    expect_ctx e = {0};
    if (expect) {
        audit_line_info li;
        e.line = expect;
        e.n = strcspn(expect, "\r\n");
        if (audit_line_parse(expect, e.n, &li) != 0) {
            fprintf(stderr, "phidb audit verify: --checkpoint needs a record line as written "
                            "(JSON, ending in ,\"prev\":\"...\"})\n");
            return 2;
        }
        e.seq = li.seq;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = audit_verify_dir(t->opts.dir, t->s, &t->pub, expect ? expect_line : NULL, &e, &st, err,
                              sizeof err);
    if (rc == 0 && expect && !e.found) {
        snprintf(err, sizeof err,
                 "truncated: the trail ends at seq %llu, before seq %llu which the SIEM holds",
                 (unsigned long long)st.last_seq, (unsigned long long)e.seq);
        rc = 1;
    } else if (rc == 0 && expect && e.differs) {
        snprintf(err, sizeof err,
                 "altered: the record at seq %llu differs from the SIEM's copy (the trail was "
                 "rewritten from there or earlier)",
                 (unsigned long long)e.seq);
        rc = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    if (rc < 0) {
        fprintf(stderr, "phidb audit verify: %s\n", err);
        return 1;
    }
    if (rc > 0) {
        printf("DAMAGED: %s\n", err);
        printf("(checked before the bad spot: %llu segments, %llu records)\n",
               (unsigned long long)st.segments, (unsigned long long)st.records);
        return 1;
    }
    char head[65];
    audit_hex(st.head, 32, head);
    printf("OK: %llu segments, %llu blocks, %llu records (%llu signed checkpoints), %.1f MB of "
           "records, seq %llu..%llu, checked in %.2f s\n",
           (unsigned long long)st.segments, (unsigned long long)st.blocks,
           (unsigned long long)st.records, (unsigned long long)st.checkpoints,
           (double)st.bytes / 1e6, (unsigned long long)st.first_seq,
           (unsigned long long)st.last_seq, secs);
    if (st.pruned_through)
        printf("records 1..%llu were pruned after retention (recorded in the trail)\n",
               (unsigned long long)st.pruned_through);
    if (st.records && st.last_ckpt_seq != st.last_seq)
        printf("note: %llu records after the last checkpoint (seq %llu) are chained but not yet "
               "signed\n",
               (unsigned long long)(st.last_seq - st.last_ckpt_seq),
               (unsigned long long)st.last_ckpt_seq);
    printf("head %s\n", head);
    if (expect) printf("seq %llu matches the SIEM's copy\n", (unsigned long long)e.seq);
    return 0;
}

/* ---- export and tail ---- */

static const char *const csv_cols[] = {
    "seq",    "ts",  "ev",      "res",    "user",    "role",      "addr",   "sess", "cmd",
    "action", "key", "subject", "fields", "purpose", "emergency", "reason", NULL};

void audit_tool_csv_field(FILE *out, const char *s)
{
    /* A text a spreadsheet would run as a formula (a key or user name is anyone's text) is
     * kept text by a leading apostrophe (OWASP's advice for CSV injection). */
    int formula = *s && strchr("=+-@\t\r", *s) != NULL;
    if (!formula && !strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula) fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_value(FILE *out, json_t *v)
{
    if (json_is_string(v))
        audit_tool_csv_field(out, json_string_value(v));
    else if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_array(v)) {
        buf b = {0};
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i) buf_putc(&b, ';');
            if (json_is_string(e)) buf_puts(&b, json_string_value(e));
        }
        audit_tool_csv_field(out, buf_cstr(&b));
        buf_free(&b);
    } else if (v) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s) audit_tool_csv_field(out, s);
        free(s);
    }
}

static int export_line(void *ud, json_t *rec, const char *line, size_t n)
{
    int csv = *(int *)ud;
    if (!csv) {
        fwrite(line, 1, n, stdout);
        fputc('\n', stdout);
        return 0;
    }
    for (int i = 0; csv_cols[i]; i++) {
        if (i) fputc(',', stdout);
        json_t *v = json_object_get(rec, csv_cols[i]);
        if (!v && strcmp(csv_cols[i], "key") == 0) v = json_object_get(rec, "key_hex");
        if (!v && strcmp(csv_cols[i], "subject") == 0) v = json_object_get(rec, "subject_hex");
        csv_value(stdout, v);
    }
    fputc('\n', stdout);
    return 0;
}

static int report_damage(int rc, const char *warn)
{
    if (rc > 0)
        fprintf(stderr,
                "phidb audit: WARNING: the trail is damaged, results stop at the "
                "bad spot: %s\n",
                warn);
    if (rc < 0) fprintf(stderr, "phidb audit: %s\n", warn);
    return rc != 0;
}

typedef struct {
    uint64_t *ring; /* seq of the kept lines (indices into lines) */
    char **lines;
    size_t n, cap, next;
    uint64_t last; /* last seq printed */
} tail_ctx;

static int tail_line(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    tail_ctx *c = ud;
    if (li->seq <= c->last) return 0;
    free(c->lines[c->next]);
    c->lines[c->next] = strndup(line, n);
    c->ring[c->next] = li->seq;
    c->next = (c->next + 1) % c->cap;
    if (c->n < c->cap) c->n++;
    return 0;
}

#define TAIL_MAX 1000000 /* the most lines tail -n keeps (each is held in memory) */

static int do_tail(audit_tool *t, int nlines, int follow)
{
    tail_ctx c = {0};
    c.cap = nlines > 0 ? (size_t)nlines : 1;
    c.ring = calloc(c.cap, sizeof *c.ring);
    c.lines = calloc(c.cap, sizeof *c.lines);
    int rc = 0;
    for (;;) {
        audit_verify_stats st;
        char err[1024];
        c.n = 0;
        c.next = 0;
        int r = audit_verify_dir(t->opts.dir, t->s, &t->pub, tail_line, &c, &st, err, sizeof err);
        if (r != 0) {
            report_damage(r, err);
            rc = 1;
            if (r < 0) break;
        }
        size_t start = (c.next + c.cap - c.n) % c.cap;
        for (size_t i = 0; i < c.n; i++) {
            size_t k = (start + i) % c.cap;
            if (nlines > 0 || c.last) puts(c.lines[k]);
            c.last = c.ring[k];
        }
        fflush(stdout);
        if (!follow) break;
        if (c.cap < 4096) { /* after the first screen, follow everything new */
            for (size_t i = 0; i < c.cap; i++)
                free(c.lines[i]);
            free(c.lines);
            free(c.ring);
            c.cap = 4096;
            c.ring = calloc(c.cap, sizeof *c.ring);
            c.lines = calloc(c.cap, sizeof *c.lines);
        }
        if (st.last_seq > c.last) c.last = st.last_seq;
        sleep(1);
    }
    for (size_t i = 0; i < c.cap; i++)
        free(c.lines[i]);
    free(c.lines);
    free(c.ring);
    return rc;
}

/* ---- report and accounting ---- */

static void print_report_text(json_t *r)
{
    json_t *tot = json_object_get(r, "totals");
    printf("Audit activity report %s .. %s\n\n",
           json_string_value(json_object_get(r, "from"))
               ? json_string_value(json_object_get(r, "from"))
               : "(start)",
           json_string_value(json_object_get(r, "to")) ? json_string_value(json_object_get(r, "to"))
                                                       : "(now)");
    const char *names[] = {"events",        "granted", "denied",   "logins",
                           "failed_logins", "exports", "emergency"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        printf("  %-14s %lld\n", names[i],
               (long long)json_integer_value(json_object_get(tot, names[i])));
    printf("\nActivity per user:\n  %-24s %8s %8s %8s %9s %8s\n", "user", "events", "granted",
           "denied", "emergency", "subjects");
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(r, "users"), i, u) printf(
        "  %-24s %8lld %8lld %8lld %9lld %8lld\n", json_string_value(json_object_get(u, "user")),
        (long long)json_integer_value(json_object_get(u, "events")),
        (long long)json_integer_value(json_object_get(u, "granted")),
        (long long)json_integer_value(json_object_get(u, "denied")),
        (long long)json_integer_value(json_object_get(u, "emergency")),
        (long long)json_integer_value(json_object_get(u, "subjects")));
    printf("\nAccess per subject:\n  %-24s %8s %8s %8s\n", "subject", "accesses", "denied",
           "users");
    json_array_foreach(json_object_get(r, "subjects"), i, u)
        printf("  %-24s %8lld %8lld %8lld\n", json_string_value(json_object_get(u, "subject")),
               (long long)json_integer_value(json_object_get(u, "accesses")),
               (long long)json_integer_value(json_object_get(u, "denied")),
               (long long)json_integer_value(json_object_get(u, "users")));
}

static void print_report_csv(json_t *r)
{
    json_t *tot = json_object_get(r, "totals");
    const char *k;
    json_t *v;
    printf("section,name,events,granted,denied,emergency,subjects_or_users\n");
    json_object_foreach(tot, k, v)
        printf("total,%s,%lld,,,,\n", k, (long long)json_integer_value(v));
    size_t i;
    json_array_foreach(json_object_get(r, "users"), i, v)
    {
        printf("user,");
        audit_tool_csv_field(stdout, json_string_value(json_object_get(v, "user")));
        printf(",%lld,%lld,%lld,%lld,%lld\n",
               (long long)json_integer_value(json_object_get(v, "events")),
               (long long)json_integer_value(json_object_get(v, "granted")),
               (long long)json_integer_value(json_object_get(v, "denied")),
               (long long)json_integer_value(json_object_get(v, "emergency")),
               (long long)json_integer_value(json_object_get(v, "subjects")));
    }
    json_array_foreach(json_object_get(r, "subjects"), i, v)
    {
        printf("subject,");
        audit_tool_csv_field(stdout, json_string_value(json_object_get(v, "subject")));
        printf(",%lld,,%lld,,%lld\n", (long long)json_integer_value(json_object_get(v, "accesses")),
               (long long)json_integer_value(json_object_get(v, "denied")),
               (long long)json_integer_value(json_object_get(v, "users")));
    }
}

static void print_accounting(json_t *r, int fmt)
{
    json_t *d;
    size_t i;
    if (fmt == 2) {
        printf("date,user,role,command,fields,purpose,emergency,reason\n");
        json_array_foreach(json_object_get(r, "disclosures"), i, d)
        {
            const char *cols[] = {"date",   "user",    "role",      "command",
                                  "fields", "purpose", "emergency", "reason"};
            for (size_t c = 0; c < 8; c++) {
                if (c) putchar(',');
                csv_value(stdout, json_object_get(d, cols[c]));
            }
            putchar('\n');
        }
        return;
    }
    printf("Accounting of disclosures (45 CFR 164.528) for subject %s\n",
           json_string_value(json_object_get(r, "subject")));
    printf("Period %s .. %s; %lld disclosures%s\n\n", json_string_value(json_object_get(r, "from")),
           json_string_value(json_object_get(r, "to")),
           (long long)json_integer_value(json_object_get(r, "count")),
           json_array_size(json_object_get(r, "excluded_purposes"))
               ? " (treatment, payment and health care operations excluded)"
               : "");
    json_array_foreach(json_object_get(r, "disclosures"), i, d)
    {
        json_t *f = json_object_get(d, "fields");
        char *fs = f ? json_dumps(f, JSON_COMPACT) : NULL;
        printf("%s  %s (%s)  %s  %s  purpose: %s%s%s\n",
               json_string_value(json_object_get(d, "date")),
               json_string_value(json_object_get(d, "user"))
                   ? json_string_value(json_object_get(d, "user"))
                   : "-",
               json_string_value(json_object_get(d, "role"))
                   ? json_string_value(json_object_get(d, "role"))
                   : "-",
               json_string_value(json_object_get(d, "command"))
                   ? json_string_value(json_object_get(d, "command"))
                   : "-",
               fs ? fs : "(whole record)",
               json_string_value(json_object_get(d, "purpose"))
                   ? json_string_value(json_object_get(d, "purpose"))
                   : "unspecified",
               json_object_get(d, "emergency") ? "  EMERGENCY " : "",
               json_object_get(d, "emergency") ? json_string_value(json_object_get(d, "emergency"))
                                               : "");
        free(fs);
    }
}

static int parse_common(int argc, char **argv, int i, audit_query *q, int *fmt,
                        const char *const *fmts)
{
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (audit_tool_time(argv[++i], 0, &q->from_us) != 0) return -1;
        } else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (audit_tool_time(argv[++i], 1, &q->to_us) != 0) return -1;
        } else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
            q->user = argv[++i];
        } else if (strcmp(argv[i], "--subject") == 0 && i + 1 < argc) {
            q->subject = argv[++i];
        } else if (strcmp(argv[i], "--all") == 0) {
            q->all_purposes = 1;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc && fmts) {
            i++;
            int k;
            for (k = 0; fmts[k]; k++)
                if (strcmp(argv[i], fmts[k]) == 0) break;
            if (!fmts[k]) return -1;
            *fmt = k;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Offline: under the data directory lock, in a trail segment of its own. Online (the
 * server holds the lock): through PHI.AUDIT PRUNE, which uses the server's clock. */
static int prune_main(audit_tool *t, const char *arg, int64_t now, int now_given)
{
    const char *prog = "phidb audit prune";
    int removed = 0, days = t->opts.retention_days;
    char err[1024];
    int lock = tool_lock_dir(prog, t->conf->dir);
    if (lock == -1) return 1;
    if (lock == -2) {
        if (now_given) {
            fprintf(stderr,
                    "%s: --now needs the server stopped (the server prunes by its own clock)\n",
                    prog);
            return 1;
        }
        rclient *r = tool_admin_connect(prog, t->conf, 60);
        if (!r) return 1;
        const char *av[] = {"PHI.AUDIT", "PRUNE"};
        rreply *rep = rclient_call(r, 2, av, err, sizeof err);
        rclient_close(r);
        if (!rep) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 1;
        }
        int ok = rep->type == RR_ARRAY && rep->n == 4 && rep->elem[1]->type == RR_INT &&
                 rep->elem[3]->type == RR_INT;
        if (ok) {
            removed = (int)rep->elem[1]->i;
            days = (int)rep->elem[3]->i;
        } else {
            fprintf(stderr, "%s: the server refused: %s\n", prog,
                    rep->type == RR_ERROR && rep->str ? rep->str : "unexpected reply");
        }
        rreply_free(rep);
        if (!ok) return 1;
    } else {
        /* The keyring as it is now that no server can change it: the one read before the
         * lock may predate a server's last reservations, and the prune record reserves
         * nonces (writing the file). */
        if (audit_tool_reopen(t, arg) != 0) {
            close(lock);
            return 1;
        }
        const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
        int rc = audit_prune_dir(&t->opts, t->kr, now, who ? who : "operator", &removed, err,
                                 sizeof err);
        close(lock);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 1;
        }
    }
    printf("removed %d segment%s older than %d days%s\n", removed, removed == 1 ? "" : "s", days,
           removed ? " (the prune is recorded in the trail)" : "");
    return 0;
}

int audit_cli_main(int argc, char **argv)
{
    if (tool_asks_help(argc, argv, 1)) {
        usage(stdout);
        return 0;
    }
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    const char *pubfile = NULL, *expect = NULL;
    int nlines = 10, follow = 0, fmt = 0;
    int64_t now = now_us();
    int now_given = 0;
    audit_query q = {0};
    static const char *const report_fmts[] = {"text", "json", "csv", NULL};
    static const char *const export_fmts[] = {"jsonl", "csv", NULL};
    if (strcmp(cmd, "verify") == 0) {
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc)
                pubfile = argv[++i];
            else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc)
                expect = argv[++i];
            else {
                usage(stderr);
                return 2;
            }
        }
    } else if (strcmp(cmd, "tail") == 0) {
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "-f") == 0)
                follow = 1;
            else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
                long n;
                if (tool_parse_long("phidb audit tail", "-n", argv[++i], 0, TAIL_MAX, &n) != 0)
                    return 2;
                nlines = (int)n;
            } else {
                usage(stderr);
                return 2;
            }
        }
    } else if (strcmp(cmd, "prune") == 0) {
        for (int i = 3; i < argc; i++) {
            if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
                if (audit_tool_time(argv[++i], 0, &now) != 0) return 2;
                now_given = 1;
            } else {
                usage(stderr);
                return 2;
            }
        }
    } else if (strcmp(cmd, "report") == 0 || strcmp(cmd, "accounting") == 0) {
        if (parse_common(argc, argv, 3, &q, &fmt, report_fmts) != 0) {
            usage(stderr);
            return 2;
        }
        if (strcmp(cmd, "accounting") == 0 && !q.subject) {
            fprintf(stderr, "phidb audit accounting: --subject is required\n");
            return 2;
        }
    } else if (strcmp(cmd, "export") == 0) {
        if (parse_common(argc, argv, 3, &q, &fmt, export_fmts) != 0) {
            usage(stderr);
            return 2;
        }
    } else {
        usage(stderr);
        return 2;
    }
    audit_tool t;
    if (audit_tool_open(argv[2], &t, pubfile) != 0) return 1;
    int rc = 0;
    char warn[1024] = "";
    if (strcmp(cmd, "verify") == 0) {
        rc = do_verify(&t, expect);
    } else if (strcmp(cmd, "tail") == 0) {
        rc = do_tail(&t, nlines, follow);
    } else if (strcmp(cmd, "export") == 0) {
        if (fmt == 1) {
            for (int i = 0; csv_cols[i]; i++)
                printf("%s%s", i ? "," : "", csv_cols[i]);
            printf("\n");
        }
        int csv = fmt == 1;
        rc = report_damage(audit_scan(&t.src, &q, export_line, &csv, warn, sizeof warn), warn);
    } else if (strcmp(cmd, "report") == 0 || strcmp(cmd, "accounting") == 0) {
        json_t *r = NULL;
        int vr = strcmp(cmd, "report") == 0
                     ? audit_report_build(&t.src, &q, &r, warn, sizeof warn)
                     : audit_accounting_build(&t.src, &q, &r, warn, sizeof warn);
        rc = report_damage(vr, warn);
        if (fmt == 1) {
            char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(s);
            free(s);
        } else if (strcmp(cmd, "report") == 0) {
            if (fmt == 2)
                print_report_csv(r);
            else
                print_report_text(r);
        } else {
            print_accounting(r, fmt);
        }
        json_decref(r);
    } else if (strcmp(cmd, "prune") == 0) {
        rc = prune_main(&t, argv[2], now, now_given);
    }
    audit_tool_close(&t);
    if (strcmp(cmd, "export") == 0) {
        /* An export of the trail is itself an audit event (in the same trail). */
        tool_audit_for(argv[2]);
        backup_audit("export", fmt == 1 ? "stdout (csv)" : "stdout (jsonl)", "phidb audit export",
                     rc == 0, rc ? "the trail is damaged" : NULL);
        /* Not recorded (a required sink down, say): the export must not look like a normal
         * one to the script that ran it. */
        if (tool_audit_failed() && rc == 0) rc = 3;
        tool_audit_for(NULL);
    }
    return rc;
}
