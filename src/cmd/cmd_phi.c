/*
 * cmd_phi: PHI.SCAN and PHI.REDACT (the PHI detector over RESP), and the data-loss
 * prevention check that dispatch runs before write commands (dlp-mode).
 *
 * The detector is built once at start-up and shared; the event loop owns one scratch.
 * Nothing the detector finds is logged: logs and alerts name the types found, never
 * the text.
 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd_audit.h"
#include "phi/phi.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strutil.h"
#include "util/workq.h"

/*
 * Texts longer than PHI_INLINE_MAX go to the PHI worker thread while their client waits
 * (as AUTH waits for Argon2), so a large text, or one that is slow to scan, does not hold
 * up every other client: the detector runs at tens of MB/s on clinical text but on some
 * crafted texts at under 1 MB/s, and PHI.SCAN takes up to proto-max-bulk-len. Shorter
 * texts (a clinical note is a few KB) are scanned at once on the loop, as is everything
 * inside EXEC, which cannot wait. The worker is one thread, so jobs run one at a time,
 * in order, with one scratch (s->phi_wscratch). The dlp checks of large writes have a
 * worker of their own (s->dlpq, s->dlp_wscratch): a crafted PHI.SCAN of hundreds of MB
 * would otherwise hold up every such write for minutes.
 */
#define PHI_INLINE_MAX  ((size_t)64 * 1024)
/* Inside EXEC nothing may wait for the worker, so texts are scanned on the event loop: at
 * most this much in one transaction (about 1 s of crafted text, 30 ms of clinical text). */
#define PHI_EXEC_MAX    ((size_t)1024 * 1024)
#define PHI_MAX_PENDING 64

typedef struct {
    client *c;
    const phi_detector *d;
    phi_scratch *scratch; /* the worker's */
    int redact;
    phi_redact_opts opts;
    uint8_t *text; /* a copy: the query buffer moves on once the client waits */
    size_t len;
    phi_entity *ents; /* PHI.SCAN's result */
    size_t n;
    uint8_t *out; /* PHI.REDACT's result (malloc'ed by phi_redact) */
    size_t outlen;
    int rc;
} phi_job;

static void reply_entities(client *c, const phi_entity *ents, size_t n)
{
    rep_array(c, n);
    for (size_t i = 0; i < n; i++) {
        rep_map(c, 4);
        rep_cstr(c, "start");
        rep_int(c, ents[i].start);
        rep_cstr(c, "end");
        rep_int(c, ents[i].end);
        rep_cstr(c, "type");
        rep_cstr(c, phi_type_name(ents[i].type));
        rep_cstr(c, "score");
        rep_double(c, (double)(int)(ents[i].score * 1000 + 0.5) / 1000);
    }
}

static void reply_redacted(client *c, uint8_t *out, size_t len)
{
    rep_bulk(c, out, len);
    explicit_bzero(out, len);
    free(out);
}

static void phi_work(void *ud)
{
    phi_job *j = ud;
    if (j->redact) {
        j->rc = phi_redact(j->d, j->scratch, j->text, j->len, &j->opts, &j->out, &j->outlen);
    } else {
        const phi_entity *ents;
        j->rc = phi_scan_view(j->d, j->scratch, j->text, j->len, &ents, &j->n);
        if (j->rc == PHI_OK && j->n) {
            j->ents = mem_alloc(sizeof *j->ents * j->n);
            memcpy(j->ents, ents, sizeof *j->ents * j->n);
        }
    }
    mem_free_wipe(j->text);
    j->text = NULL;
}

static void phi_done(void *ud)
{
    phi_job *j = ud;
    client *c = j->c;
    if (j->rc == PHI_ECANCELED) c->s->phi_cancelled++;
    if (!c->conn) { /* gone while it waited */
        if (j->out) {
            explicit_bzero(j->out, j->outlen);
            free(j->out);
        }
    } else if (j->rc == PHI_ECANCELED) {
        rep_err(c, "ERR the server is shutting down: PHI scan cancelled");
    } else if (j->rc != PHI_OK) {
        rep_errf(c, "ERR PHI detector: %s", phi_strerror(j->rc));
    } else if (j->redact) {
        reply_redacted(c, j->out, j->outlen);
    } else {
        reply_entities(c, j->ents, j->n);
    }
    mem_free(j->ents);
    mem_free(j);
    client_unblock(c);
}

int cmd_phi_exec_budget(client *c, size_t n)
{
    if (!(c->flags & CL_IN_EXEC)) return 0;
    if (n > PHI_EXEC_MAX - (c->exec_scanned < PHI_EXEC_MAX ? c->exec_scanned : PHI_EXEC_MAX))
        return -1;
    c->exec_scanned += n;
    return 0;
}

static void rep_exec_budget(client *c)
{
    rep_err(c, "ERR more than 1 MB of text to scan for PHI inside one transaction: send it "
               "outside MULTI/EXEC");
}

/* Hands a large text to the worker (the client waits); 0 if it did, -1 to run it now. */
static int phi_submit(client *c, int redact, const phi_redact_opts *opts)
{
    srv *s = c->s;
    const arg *t = &c->argv[1];
    if (t->len <= PHI_INLINE_MAX || (c->flags & CL_IN_EXEC) || !s->phiq) return -1;
    phi_job *j = mem_calloc(sizeof *j);
    j->c = c;
    j->d = s->phi;
    j->scratch = s->phi_wscratch;
    j->redact = redact;
    if (opts) j->opts = *opts;
    j->text = mem_alloc(t->len);
    memcpy(j->text, t->p, t->len);
    j->len = t->len;
    client_block(c);
    if (workq_submit(s->phiq, phi_work, phi_done, j) != 0) {
        rep_err(c, "ERR server busy: too many large PHI scans in progress, try again later");
        mem_free_wipe(j->text);
        mem_free(j);
        client_unblock(c);
    }
    return 0;
}

void phi_scan_cmd(client *c)
{
    srv *s = c->s;
    if (phi_submit(c, 0, NULL) == 0) return;
    if (cmd_phi_exec_budget(c, c->argv[1].len) != 0) {
        rep_exec_budget(c);
        return;
    }
    const phi_entity *ents;
    size_t n;
    int rc = phi_scan_view(s->phi, s->phi_scratch, c->argv[1].p, c->argv[1].len, &ents, &n);
    if (rc != 0) {
        rep_errf(c, "ERR PHI detector: %s", phi_strerror(rc));
        return;
    }
    reply_entities(c, ents, n);
}

void phi_redact_cmd(client *c)
{
    srv *s = c->s;
    phi_redact_opts opts = {PHI_REDACT_TAG, 0};
    if (c->argc == 3) {
        if (arg_is(c, 2, "mask"))
            opts.mode = PHI_REDACT_MASK;
        else if (arg_is(c, 2, "surrogate"))
            opts.mode = PHI_REDACT_SURROGATE;
        else if (!arg_is(c, 2, "tag")) {
            rep_syntax(c);
            return;
        }
    } else if (c->argc > 3) {
        rep_syntax(c);
        return;
    }
    if (phi_submit(c, 1, &opts) == 0) return;
    if (cmd_phi_exec_budget(c, c->argv[1].len) != 0) {
        rep_exec_budget(c);
        return;
    }
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = phi_redact(s->phi, s->phi_scratch, c->argv[1].p, c->argv[1].len, &opts, &out, &len);
    if (rc != 0) {
        rep_errf(c, "ERR PHI detector: %s", phi_strerror(rc));
        return;
    }
    reply_redacted(c, out, len);
}

static void on_workq(ev_loop *l, int fd, void *ud, int mask)
{
    (void)l;
    (void)fd;
    (void)mask;
    workq_drain(ud);
}

/* Stop worker *q (its jobs complete, cancelled) and free it and its scratch. */
static void stop_worker(workq **q, phi_scratch **scratch)
{
    workq_free(*q); /* joins the worker; the jobs complete (cancelled) */
    *q = NULL;
    phi_scratch_free(*scratch);
    *scratch = NULL;
}

/* Start a worker thread with a scratch of its own, its completions run by the loop. */
static int start_worker(srv *s, workq **q, phi_scratch **scratch)
{
    if (phi_scratch_new(s->phi, scratch) != 0 || !(*q = workq_new(1, PHI_MAX_PENDING))) {
        phi_scratch_free(*scratch);
        *scratch = NULL;
        return -1;
    }
    phi_scratch_set_cancel(*scratch, &s->phi_cancel);
    ev_watch(s->loop, workq_fd(*q), EV_READ, on_workq, *q);
    return 0;
}

int cmd_phi_init(srv *s, char *err, size_t errlen)
{
    atomic_store(&s->phi_cancel, 0);
    if (start_worker(s, &s->phiq, &s->phi_wscratch) != 0 ||
        start_worker(s, &s->dlpq, &s->dlp_wscratch) != 0) {
        if (s->phiq) {
            ev_unwatch(s->loop, workq_fd(s->phiq));
            stop_worker(&s->phiq, &s->phi_wscratch);
        }
        snprintf(err, errlen, "cannot start the PHI workers");
        return -1;
    }
    return 0;
}

void cmd_phi_close(srv *s)
{
    if (!s->phiq) return;
    /* A scan in progress stops within milliseconds, and the queued ones end at once: a
     * stop does not wait for up to PHI_MAX_PENDING large texts to be scanned. */
    atomic_store(&s->phi_cancel, 1);
    s->phi_cancelled = 0;
    stop_worker(&s->phiq, &s->phi_wscratch);
    stop_worker(&s->dlpq, &s->dlp_wscratch);
    if (s->phi_cancelled) log_notice("shutdown: %zu large PHI scans cancelled", s->phi_cancelled);
}

/* Types found in (p, n) scoring at least min, as a bit mask (0: none). A scan that
 * cannot run sets *failed to its phi_status (the caller must not take 0 for "no PHI"). */
static uint32_t found_types(const phi_detector *det, phi_scratch *scratch, float min,
                            const uint8_t *p, size_t n, int *failed)
{
    const phi_entity *ents;
    size_t cnt;
    if (n == 0) return 0;
    int rc = phi_scan_view(det, scratch, p, n, &ents, &cnt);
    if (rc != PHI_OK) {
        *failed = rc;
        return 0;
    }
    uint32_t mask = 0;
    for (size_t i = 0; i < cnt; i++)
        if (ents[i].score >= min) mask |= PHI_TYPE_BIT(ents[i].type);
    return mask;
}

static int ascii_letter(uint8_t c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* Types found in key name (p, n), also as words the way key names join them: '_' read as a
 * space (the detector takes it for a letter: "ssn_123-45-6789", "host_10.0.0.5") or, between
 * two digits, as '-' ("536_22_1234", "617_555_0100", "2021_03_14"), '-' and
 * '/' next to a letter ("ssn-536-22-1234", "pt-John-Smith", "visit/03-14-2021"), and a
 * space where a capital follows a small letter ("JohnSmith"). */
static uint32_t found_key_types(const phi_detector *det, phi_scratch *scratch, float min,
                                const uint8_t *p, size_t n, int *failed)
{
    uint32_t m = found_types(det, scratch, min, p, n, failed);
    if (*failed || n == 0) return m;
    uint8_t *q = mem_alloc(2 * n);
    size_t k = 0;
    int changed = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        int sep = c == '_' || ((c == '-' || c == '/') && ((i > 0 && ascii_letter(p[i - 1])) ||
                                                          (i + 1 < n && ascii_letter(p[i + 1]))));
        if (i > 0 && c >= 'A' && c <= 'Z' && p[i - 1] >= 'a' && p[i - 1] <= 'z')
            q[k++] = ' ', changed = 1;
        int digits = i > 0 && i + 1 < n && p[i - 1] >= '0' && p[i - 1] <= '9' && p[i + 1] >= '0' &&
                     p[i + 1] <= '9';
        q[k++] = !sep ? c : c == '_' && digits ? '-' : ' ';
        changed |= sep;
    }
    if (changed) m |= found_types(det, scratch, min, q, k, failed);
    mem_free_wipe(q);
    return m;
}

/* Types of the findings in (p, n) scoring at least min that take in a byte of [at, to). */
static uint32_t found_types_over(client *c, float min, const uint8_t *p, size_t n, size_t at,
                                 size_t to, int *failed)
{
    const phi_entity *ents;
    size_t cnt;
    uint32_t m = 0;
    int rc = phi_scan_view(c->s->phi, c->s->phi_scratch, p, n, &ents, &cnt);
    if (rc != PHI_OK)
        *failed = rc;
    else
        for (size_t i = 0; i < cnt; i++)
            if (ents[i].score >= min && ents[i].end > at && ents[i].start < to)
                m |= PHI_TYPE_BIT(ents[i].type);
    return m;
}

/* APPEND and SETRANGE write part of a string: an identifier may be put together from
 * several writes ("617-555-", then "0142"). The written bytes alone are scanned as the
 * command's argument; here, what the write makes of the value where they meet the old
 * bytes: SPLICE_CTX bytes either side of each edge, counting only findings that take in
 * a written byte (what the value held already is not this write's). Main thread, when
 * the command runs; at most 4 * SPLICE_CTX bytes are scanned. */
enum { SPLICE_CTX = 64 };
static uint32_t found_splice_types(client *c, const cmd_def *d, float min, int *failed)
{
    if (d->proc != append_cmd && d->proc != setrange_cmd) return 0;
    db *dbp = c->s->db;
    const arg *v = &c->argv[d->proc == append_cmd ? 2 : 3];
    db_entry *e = db_find_raw(dbp, c->argv[1].p, c->argv[1].len);
    if (!e || v->len == 0 || db_entry_type(e) != DB_STRING) return 0;
    long long exp = db_get_expire(e);
    if (exp != DB_NO_EXPIRE && exp <= db_now(dbp)) return 0;
    db_ref r = db_str_ref(dbp, e);
    size_t old = db_ref_len(&r);
    long long off = (long long)old;
    if (d->proc == setrange_cmd &&
        (str_to_ll(c->argv[2].p, c->argv[2].len, &off) != 0 || off < 0 || off > (1LL << 40)))
        return 0; /* the command refuses it */
    size_t o = (size_t)off, end = o + v->len;
    if (o >= old + SPLICE_CTX) return 0; /* zero bytes between: nothing meets */
    uint8_t *ov = mem_alloc(old + 1);
    if (db_ref_open(dbp, &r, ov) != 0) {
        mem_free_wipe(ov);
        return 0; /* the command fails too */
    }
    static const uint8_t zero[SPLICE_CTX]; /* SETRANGE past the end pads with zero bytes */
    size_t head = v->len < SPLICE_CTX ? v->len : SPLICE_CTX;
    uint32_t m = 0;
    buf w = {0};
    /* the start edge: old bytes (or padding) before, then the first written bytes, and the
     * old bytes after them when the write is short */
    size_t a = o > SPLICE_CTX ? o - SPLICE_CTX : 0;
    if (a < old) buf_append(&w, ov + a, (o < old ? o : old) - a);
    if (o > old) buf_append(&w, zero, o - old);
    size_t at = w.len;
    buf_append(&w, v->p, head);
    if (head == v->len && end < old)
        buf_append(&w, ov + end, old - end < SPLICE_CTX ? old - end : SPLICE_CTX);
    if (at > 0 || w.len > at + head)
        m |= found_types_over(c, min, w.p, w.len, at, at + head, failed);
    /* the end edge of a longer write: its last bytes, then the old bytes after */
    if (head < v->len && end < old && !*failed) {
        w.len = 0;
        buf_append(&w, v->p + v->len - SPLICE_CTX, SPLICE_CTX);
        buf_append(&w, ov + end, old - end < SPLICE_CTX ? old - end : SPLICE_CTX);
        m |= found_types_over(c, min, w.p, w.len, 0, SPLICE_CTX, failed);
    }
    mem_free_wipe(ov);
    buf_wipe_free(&w);
    return m;
}

/* What dlp scans of argument i of d: 0 nothing, 1 a key name, 2 a value. */
static int dlp_kind(client *c, const cmd_def *d, int i)
{
    int last = d->last_key < 0 ? c->argc + d->last_key : d->last_key;
    int is_key = d->first_key > 0 && i >= d->first_key && i <= last &&
                 (i - d->first_key) % (d->key_step ? d->key_step : 1) == 0;
    /* Values of fields the policy declares as PHI are expected to hold PHI: not checked
     * (cmd_dlp_exempt is told by the policy layer, when there is one). */
    if (!is_key && cmd_dlp_exempt(c, d, i)) return 0;
    return is_key ? 1 : 2;
}

/* A write's dlp scan on the PHI worker (its texts pass PHI_INLINE_MAX). */
typedef struct {
    client *c;
    const cmd_def *d;
    const phi_detector *det;
    phi_scratch *scratch; /* the worker's */
    float min;
    arg *argv; /* copies of the command's arguments (wiped when freed) */
    int argc;
    uint8_t *kind;         /* dlp_kind of each argument */
    uint32_t keys, values; /* types found */
    int failed;            /* a scan that could not run (phi_status), or 0 */
} dlp_job;

static void dlp_work(void *ud)
{
    dlp_job *j = ud;
    for (int i = 1; i < j->argc; i++) {
        if (!j->kind[i]) continue;
        uint32_t m = j->kind[i] == 1 ? found_key_types(j->det, j->scratch, j->min, j->argv[i].p,
                                                       j->argv[i].len, &j->failed)
                                     : found_types(j->det, j->scratch, j->min, j->argv[i].p,
                                                   j->argv[i].len, &j->failed);
        if (j->kind[i] == 1)
            j->keys |= m;
        else
            j->values |= m;
    }
}

static void dlp_free(dlp_job *j)
{
    cmd_args_free(j->argv, j->argc);
    mem_free(j->kind);
    mem_free(j);
}

static void dlp_done(void *ud)
{
    dlp_job *j = ud;
    client *c = j->c;
    if (j->failed == PHI_ECANCELED) c->s->phi_cancelled++;
    if (c->conn && j->failed == PHI_ECANCELED) { /* at shutdown: the write is not run */
        rep_err(c, "ERR the server is shutting down: dlp check cancelled, write not run");
    } else if (c->conn) { /* not gone meanwhile: run the command, checked again, on its copies */
        arg *argv = c->argv;
        int argc = c->argc;
        c->argv = j->argv;
        c->argc = j->argc;
        c->dlp_ready = 1;
        c->dlp_keys = j->keys;
        c->dlp_values = j->values;
        c->dlp_failed = j->failed;
        cmd_resume(c, j->d);
        c->dlp_ready = 0;
        c->argv = argv;
        c->argc = argc;
    }
    dlp_free(j);
    client_unblock(c);
}

int cmd_dlp_defer(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if (c->dlp_ready || s->cfg->dlp_mode == 0 || !(d->flags & CMD_WRITE) || !s->phi || !s->dlpq ||
        (c->flags & CL_IN_EXEC))
        return -1;
    size_t total = 0;
    for (int i = 1; i < c->argc; i++)
        total += c->argv[i].len;
    if (total <= PHI_INLINE_MAX) return -1;
    dlp_job *j = mem_calloc(sizeof *j);
    j->c = c;
    j->d = d;
    j->det = s->phi;
    j->scratch = s->dlp_wscratch;
    j->min = (float)s->cfg->dlp_min_score / 100.0f;
    j->argc = c->argc;
    j->argv = cmd_args_copy(c->argv, c->argc);
    j->kind = mem_calloc((size_t)c->argc);
    for (int i = 1; i < c->argc; i++)
        j->kind[i] = (uint8_t)dlp_kind(c, d, i);
    client_block(c);
    if (workq_submit(s->dlpq, dlp_work, dlp_done, j) != 0) {
        rep_err(c, "ERR server busy: too many large dlp checks in progress, try again later");
        dlp_free(j);
        client_unblock(c);
    }
    return 0;
}

static void type_list(uint32_t mask, char *out, size_t outlen)
{
    out[0] = '\0';
    for (int t = 0; t < PHI_TYPE_COUNT; t++) {
        if (!(mask & PHI_TYPE_BIT(t))) continue;
        size_t l = strlen(out);
        snprintf(out + l, outlen - l, "%s%s", l ? ", " : "", phi_type_name((phi_type)t));
    }
}

int cmd_dlp_check(client *c, const cmd_def *d)
{
    srv *s = c->s;
    if (s->cfg->dlp_mode == 0 || !(d->flags & CMD_WRITE) || !s->phi) return 0;
    uint32_t in_keys = 0, in_values = 0;
    int failed = 0;
    if (c->dlp_ready) { /* scanned on the worker */
        in_keys = c->dlp_keys;
        in_values = c->dlp_values;
        failed = c->dlp_failed;
        c->dlp_ready = 0;
    } else {
        float min = (float)s->cfg->dlp_min_score / 100.0f;
        size_t total = 0;
        for (int i = 1; i < c->argc; i++)
            if (dlp_kind(c, d, i)) total += c->argv[i].len;
        if (cmd_phi_exec_budget(c, total) != 0) failed = PHI_ETOOBIG; /* not scanned: see below */
        for (int i = 1; i < c->argc && !failed; i++) {
            int kind = dlp_kind(c, d, i);
            if (!kind) continue;
            uint32_t m = kind == 1 ? found_key_types(s->phi, s->phi_scratch, min, c->argv[i].p,
                                                     c->argv[i].len, &failed)
                                   : found_types(s->phi, s->phi_scratch, min, c->argv[i].p,
                                                 c->argv[i].len, &failed);
            if (kind == 1)
                in_keys |= m;
            else
                in_values |= m;
        }
    }
    if (!failed)
        in_values |= found_splice_types(c, d, (float)s->cfg->dlp_min_score / 100.0f, &failed);
    if (failed && !in_keys && !in_values) {
        /* Not knowing is not "no PHI": block mode refuses, warn mode says so. */
        log_warning("dlp: the PHI check of a %s by user %s could not run (%s); %s", d->name,
                    c->username ? c->username : "?", phi_strerror(failed),
                    s->cfg->dlp_mode == 2 ? "refused" : "allowed (dlp-mode warn)");
        if (s->cfg->dlp_mode != 2) return 0;
        cmd_audit_denied(c, d, "dlp-unchecked"); /* a denied access record, as any refusal */
        rep_errf(c, "ERR dlp: the PHI check could not run (%s); dlp-mode is block, write refused",
                 phi_strerror(failed));
        return -1;
    }
    if (!in_keys && !in_values) return 0;
    char kt[256], vt[256];
    type_list(in_keys, kt, sizeof kt);
    type_list(in_values, vt, sizeof vt);
    log_notice("dlp: user %s wrote PHI%s%s%s%s%s%s%s with %s (%s)", c->username ? c->username : "?",
               in_keys ? " in a key name (" : "", in_keys ? kt : "", in_keys ? ")" : "",
               in_keys && in_values ? " and" : "",
               in_values ? " in values of undeclared fields (" : "", in_values ? vt : "",
               in_values ? ")" : "", d->name, s->cfg->dlp_mode == 2 ? "refused" : "allowed");
    s->st.dlp_findings++;
    cmd_audit_dlp(c, d, in_keys ? kt : NULL, in_values ? vt : NULL, s->cfg->dlp_mode == 2);
    if (s->cfg->dlp_mode != 2) return 0; /* warn: reported and alerted, not refused */
    if (in_keys)
        rep_errf(c, "ERR dlp: PHI (%s) found in a key name; dlp-mode is block, write refused", kt);
    else
        rep_errf(c, "ERR dlp: PHI (%s) found in a value of a field not declared as PHI; dlp-mode "
                    "is block, write refused",
                 vt);
    return -1;
}

int cmd_dlp_exempt(client *c, const cmd_def *d, int i)
{
    /* The value of a hash field the policy declares with a PHI kind is expected to hold
     * PHI: HSET/HMSET/HSETNX key field value ... (values at 3, 5, ...). */
    srv *s = c->s;
    if (!s->pol || (d->proc != hset_cmd && d->proc != hmset_cmd && d->proc != hsetnx_cmd))
        return 0;
    if (i < 3 || (i - 3) % 2 != 0) return 0;
    const policy_schema *sch = policy_schema_for(s->pol, c->argv[1].p, c->argv[1].len);
    if (!sch) return 0;
    const policy_field *f = policy_field_find(sch, c->argv[i - 1].p, c->argv[i - 1].len);
    return f && policy_field_kind(f) != POLICY_KIND_NONE;
}
