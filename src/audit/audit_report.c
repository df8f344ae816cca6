/*
 * audit_report: reports over the audit trail (see audit_report.h).
 *
 * Decisions:
 *  - Only a verified read is used (audit_verify_dir with the published key): a report over
 *    records that do not chain would be evidence of nothing. A damaged trail still yields a
 *    report up to the bad spot, flagged.
 *  - "Disclosure" for the accounting: a granted access to the subject's record (AUDIT_EV_ACCESS)
 *    or an export naming the subject, by anyone; purposes treatment, payment and operations are
 *    exempt from 164.528(a)(1) and left out unless asked for; a record without a purpose is
 *    kept (it cannot be shown to be exempt).
 *  - Breach: affected individuals are the distinct subjects of granted accesses and exports in
 *    the window (keys without a subject are counted apart, they are not individuals). HHS
 *    must be told without unreasonable delay and within 60 days when 500 or more are affected
 *    (164.408(b)), otherwise in the yearly log; media notice is needed when more than 500
 *    residents of one state are affected (164.406). Audit records never hold values, so the
 *    state of residence comes from a subject -> state mapping the operator supplies; without
 *    it media notice is "undetermined" when more than 500 are affected.
 */
#include "audit/audit_report.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access/policy.h"
#include "audit/audit_seg.h"
#include "util/buf.h"
#include "util/strutil.h"

typedef struct {
    const audit_query *q;
    char *subj_hex; /* "hex:<hex>" of q->subject when it is not valid UTF-8 (NULL: it is) */
    char from[28], to[28];
    int (*fn)(void *, json_t *, const char *, size_t);
    void *ud;
} scan_ctx;

/* A string member that holds NUL bytes (a key, subject or field name may: they are binary)
 * gets them written as \u0000, as the record's JSON has them. The reports work on C
 * strings, which would end at the first NUL (and filters and tallies would mix up
 * "P\0X" and "P"). */
static void show_nul(json_t *v)
{
    size_t n = json_string_length(v);
    const char *p = json_string_value(v);
    if (!p || strlen(p) == n) return;
    buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            buf_putc(&b, p[i]);
        else
            buf_puts(&b, "\\u0000");
    }
    json_string_setn(v, (const char *)b.p, b.len);
    buf_free(&b);
}

/* A key or subject that is not valid UTF-8 is recorded as key_hex/subject_hex. The reports
 * take it as "hex:<hex>" under the plain name, so such patients are counted, listed and
 * selectable like the others (and CSV shows the marker). */
static void hex_as_name(json_t *rec, const char *name, const char *hexname)
{
    const char *h = json_string_value(json_object_get(rec, hexname));
    if (!h || json_object_get(rec, name)) return;
    buf b = {0};
    buf_puts(&b, "hex:");
    buf_puts(&b, h);
    json_object_set_new(rec, name, json_stringn((const char *)b.p, b.len));
    buf_free(&b);
}

static int utf8_valid(const char *p)
{
    size_t n = strlen(p);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = (uint8_t)p[i] < 0x80 ? 1 : str_utf8_decode((const uint8_t *)p + i, n - i, &cp);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

static int scan_line(void *ud, const char *line, size_t n, const audit_line_info *li)
{
    scan_ctx *c = ud;
    if (c->from[0] && memcmp(li->ts, c->from, 27) < 0) return 0;
    if (c->to[0] && memcmp(li->ts, c->to, 27) > 0) return 0;
    /* JSON_ALLOW_NUL: without it a record whose key or subject holds a NUL byte (written
     * as \u0000) did not parse and was left out of every report and export. */
    json_t *rec = json_loadb(line, n, JSON_ALLOW_NUL, NULL);
    if (!rec) {
        /* Never skipped: a record the writer made always parses, but if one did not, the
         * reports still count it and export still prints its line. */
        rec = json_pack("{s:I,s:s}", "seq", (json_int_t)li->seq, "ev", "unreadable");
        if (!rec) return 1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(rec, k, v)
    {
        if (json_is_string(v)) show_nul(v);
        size_t i;
        json_t *e;
        if (json_is_array(v)) json_array_foreach(v, i, e) show_nul(e);
    }
    hex_as_name(rec, "subject", "subject_hex");
    hex_as_name(rec, "key", "key_hex");
    int stop = 0;
    const char *u = json_string_value(json_object_get(rec, "user"));
    const char *s = json_string_value(json_object_get(rec, "subject"));
    if ((!c->q->user || (u && strcmp(u, c->q->user) == 0)) &&
        (!c->q->subject ||
         (s && (strcmp(s, c->q->subject) == 0 || (c->subj_hex && strcmp(s, c->subj_hex) == 0)))))
        stop = c->fn(c->ud, rec, line, n);
    json_decref(rec);
    return stop;
}

int audit_scan(const audit_source *src, const audit_query *q,
               int (*fn)(void *ud, json_t *rec, const char *line, size_t n), void *ud, char *warn,
               size_t wlen)
{
    scan_ctx c = {.q = q, .fn = fn, .ud = ud};
    buf hx = {0};
    if (q->subject && !utf8_valid(q->subject)) {
        buf_puts(&hx, "hex:");
        for (const uint8_t *p = (const uint8_t *)q->subject; *p; p++)
            buf_printf(&hx, "%02x", *p);
        c.subj_hex = (char *)buf_cstr(&hx);
    }
    if (q->from_us) audit_format_ts(q->from_us, NULL, c.from);
    if (q->to_us) audit_format_ts(q->to_us, NULL, c.to);
    audit_verify_stats st;
    int rc = audit_verify_dir(src->dir, src->s, src->pub, scan_line, &c, &st, warn, wlen);
    buf_free(&hx);
    return rc;
}

static const char *sget(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void inc(json_t *o, const char *k, json_int_t by)
{
    json_t *v = json_object_get(o, k);
    json_object_set_new(o, k, json_integer((v ? json_integer_value(v) : 0) + by));
}

static void set_range(json_t *out, const audit_query *q)
{
    char t[28];
    if (q->from_us) {
        audit_format_ts(q->from_us, NULL, t);
        json_object_set_new(out, "from", json_string(t));
    }
    if (q->to_us) {
        audit_format_ts(q->to_us, NULL, t);
        json_object_set_new(out, "to", json_string(t));
    }
}

/* ---- activity report ---- */

typedef struct {
    json_t *totals, *users, *subjects; /* users: name -> {...,"_subj":{}}; subjects: id -> {...} */
} rep_ctx;

static int rep_rec(void *ud, json_t *rec, const char *line, size_t n)
{
    rep_ctx *c = ud;
    const char *ev = sget(rec, "ev"), *res = sget(rec, "res"), *user = sget(rec, "user");
    const char *subj = sget(rec, "subject");
    if (!ev || strcmp(ev, "checkpoint") == 0) return 0;
    int granted = res && strcmp(res, "granted") == 0;
    int denied = res && strcmp(res, "denied") == 0;
    int emergency = json_object_get(rec, "emergency") || strcmp(ev, "breakglass") == 0;
    inc(c->totals, "events", 1);
    if (granted) inc(c->totals, "granted", 1);
    if (denied) inc(c->totals, "denied", 1);
    /* A login is a granted password (auth) that needs no second factor, or a granted second
     * factor (mfa); a password granted "mfa-pending" is completed by its mfa record. */
    const char *reason = sget(rec, "reason");
    int pending = reason && strcmp(reason, "mfa-pending") == 0;
    if (strcmp(ev, "auth") == 0 && !(granted && pending))
        inc(c->totals, granted ? "logins" : "failed_logins", 1);
    if (strcmp(ev, "mfa") == 0 && (granted || denied))
        inc(c->totals, granted ? "logins" : "failed_logins", 1);
    if (strcmp(ev, "export") == 0) inc(c->totals, "exports", 1);
    if (emergency) inc(c->totals, "emergency", 1);
    if (user) {
        json_t *u = json_object_get(c->users, user);
        if (!u) {
            u = json_pack("{s:s,s:i,s:i,s:i,s:i,s:o}", "user", user, "events", 0, "granted", 0,
                          "denied", 0, "emergency", 0, "_subj", json_object());
            json_object_set_new(c->users, user, u);
        }
        inc(u, "events", 1);
        if (granted) inc(u, "granted", 1);
        if (denied) inc(u, "denied", 1);
        if (emergency) inc(u, "emergency", 1);
        if (subj && strcmp(ev, "access") == 0)
            json_object_set_new(json_object_get(u, "_subj"), subj, json_true());
    }
    if (subj && strcmp(ev, "access") == 0) {
        json_t *s = json_object_get(c->subjects, subj);
        if (!s) {
            s = json_pack("{s:s,s:i,s:i,s:o}", "subject", subj, "accesses", 0, "denied", 0,
                          "_users", json_object());
            json_object_set_new(c->subjects, subj, s);
        }
        inc(s, "accesses", 1);
        if (denied) inc(s, "denied", 1);
        if (user) json_object_set_new(json_object_get(s, "_users"), user, json_true());
    }
    return 0;
}

/* Object of objects -> array, replacing the helper set `hidden` by its size under `as`. */
static json_t *to_array(json_t *obj, const char *hidden, const char *as)
{
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        json_t *h = json_object_get(v, hidden);
        json_object_set_new(v, as, json_integer((json_int_t)json_object_size(h)));
        json_object_del(v, hidden);
        json_array_append(arr, v);
    }
    return arr;
}

int audit_report_build(const audit_source *src, const audit_query *q, json_t **out, char *warn,
                       size_t wlen)
{
    rep_ctx c = {json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "events", 0, "granted", 0, "denied", 0,
                           "logins", 0, "failed_logins", 0, "exports", 0, "emergency", 0),
                 json_object(), json_object()};
    int rc = audit_scan(src, q, rep_rec, &c, warn, wlen);
    *out = json_object();
    set_range(*out, q);
    json_object_set_new(*out, "totals", c.totals);
    json_object_set_new(*out, "users", to_array(c.users, "_subj", "subjects"));
    json_object_set_new(*out, "subjects", to_array(c.subjects, "_users", "users"));
    json_decref(c.users);
    json_decref(c.subjects);
    return rc;
}

/* ---- accounting of disclosures ---- */

static int exempt(const char *purpose)
{
    return purpose && (strcmp(purpose, "treatment") == 0 || strcmp(purpose, "payment") == 0 ||
                       strcmp(purpose, "operations") == 0);
}

typedef struct {
    const audit_query *q;
    json_t *list;
} acc_ctx;

static int acc_rec(void *ud, json_t *rec, const char *line, size_t n)
{
    acc_ctx *c = ud;
    const char *ev = sget(rec, "ev"), *res = sget(rec, "res");
    if (!ev || !res || strcmp(res, "granted") != 0) return 0;
    if (strcmp(ev, "access") != 0 && strcmp(ev, "export") != 0) return 0;
    const char *purpose = sget(rec, "purpose");
    if (!c->q->all_purposes && exempt(purpose)) return 0;
    json_t *d = json_object();
    json_object_set(d, "date", json_object_get(rec, "ts"));
    const char *keys[] = {"user", "role", "cmd", "fields", "purpose", "emergency", "reason"};
    const char *as[] = {"user", "role", "command", "fields", "purpose", "emergency", "reason"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(rec, keys[i]);
        if (v) json_object_set(d, as[i], v);
    }
    json_array_append_new(c->list, d);
    return 0;
}

int audit_accounting_build(const audit_source *src, const audit_query *q0, json_t **out, char *warn,
                           size_t wlen)
{
    audit_query q = *q0;
    if (!q.to_us) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        q.to_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    if (!q.from_us) q.from_us = q.to_us - (int64_t)(6 * 365 + 2) * 86400 * 1000000; /* 6 years */
    acc_ctx c = {&q, json_array()};
    int rc = audit_scan(src, &q, acc_rec, &c, warn, wlen);
    *out = json_object();
    json_object_set_new(*out, "subject", json_string(q.subject ? q.subject : ""));
    set_range(*out, &q);
    json_object_set_new(
        *out, "excluded_purposes",
        q.all_purposes ? json_array() : json_pack("[s,s,s]", "treatment", "payment", "operations"));
    json_object_set_new(*out, "count", json_integer((json_int_t)json_array_size(c.list)));
    json_object_set_new(*out, "disclosures", c.list);
    return rc;
}

/* ---- breach report ---- */

typedef struct {
    const audit_query *q;
    const policy *pol;
    json_t *subjects; /* subject -> {"accesses", "users":{}} */
    json_t *nosubj;   /* keys without a subject -> true */
    json_t *groups;   /* group -> count of accesses */
    json_t *kinds;    /* PHI kind -> count */
    json_t *fields;   /* field name -> count (when no policy maps it) */
    json_t *users;    /* user -> accesses */
    json_int_t records;
} br_ctx;

static int br_rec(void *ud, json_t *rec, const char *line, size_t n)
{
    br_ctx *c = ud;
    const char *ev = sget(rec, "ev"), *res = sget(rec, "res");
    if (!ev || !res || strcmp(res, "granted") != 0) return 0;
    if (strcmp(ev, "access") != 0 && strcmp(ev, "export") != 0) return 0;
    const char *key = sget(rec, "key"), *subj = sget(rec, "subject"), *user = sget(rec, "user");
    if (c->q->key_pattern && (!key || fnmatch(c->q->key_pattern, key, 0) != 0)) return 0;
    c->records++;
    if (user) inc(c->users, user, 1);
    if (subj) {
        json_t *s = json_object_get(c->subjects, subj);
        if (!s) {
            s = json_pack("{s:i}", "accesses", 0);
            json_object_set_new(c->subjects, subj, s);
        }
        inc(s, "accesses", 1);
    } else if (key) {
        json_object_set_new(c->nosubj, key, json_true());
    }
    const policy_schema *sc =
        c->pol && key ? policy_schema_for(c->pol, (const uint8_t *)key, strlen(key)) : NULL;
    json_t *fl = json_object_get(rec, "fields");
    size_t i;
    json_t *f;
    if (!json_array_size(fl)) {
        /* No field names: what the record shows instead. A key enumeration shows key names,
         * an export of the trail key names and subjects, a command on a key the whole key;
         * DBSIZE, FLUSHDB and FLUSHALL show no value. */
        const char *cmd = sget(rec, "cmd");
        if (strcmp(ev, "export") == 0)
            inc(c->fields, "(key names and subjects)", 1);
        else if (key)
            inc(c->fields, "(whole value)", 1);
        else if (cmd && (strcmp(cmd, "scan") == 0 || strcmp(cmd, "keys") == 0 ||
                         strcmp(cmd, "randomkey") == 0))
            inc(c->fields, "(key names)", 1);
        return 0;
    }
    json_array_foreach(fl, i, f)
    {
        const char *name = json_string_value(f);
        if (!name) continue;
        const policy_field *pf =
            sc ? policy_field_find(sc, (const uint8_t *)name, strlen(name)) : NULL;
        if (pf) {
            inc(c->groups, policy_field_group(pf), 1);
            if (policy_field_kind(pf) != POLICY_KIND_NONE)
                inc(c->kinds, policy_kind_name(policy_field_kind(pf)), 1);
        } else if (sc) {
            inc(c->groups, "undeclared", 1);
        }
        inc(c->fields, name, 1);
    }
    return 0;
}

int audit_breach_build(const audit_source *src, const audit_query *q, const char *incident,
                       int64_t discovered_us, const struct policy *pol, json_t *states,
                       json_t **out, char *warn, size_t wlen)
{
    br_ctx c = {q,
                pol,
                json_object(),
                json_object(),
                json_object(),
                json_object(),
                json_object(),
                json_object(),
                0};
    int rc = audit_scan(src, q, br_rec, &c, warn, wlen);
    size_t affected = json_object_size(c.subjects);
    json_t *o = json_object();
    json_object_set_new(o, "incident", json_string(incident ? incident : ""));
    set_range(o, q);
    if (q->user) json_object_set_new(o, "user", json_string(q->user));
    if (q->key_pattern) json_object_set_new(o, "key_pattern", json_string(q->key_pattern));
    char t[28];
    audit_format_ts(discovered_us, NULL, t);
    json_object_set_new(o, "discovered", json_string(t));
    audit_format_ts(discovered_us + 60LL * 86400 * 1000000, NULL, t);
    t[10] = '\0';
    json_object_set_new(o, "notification_deadline", json_string(t));
    json_object_set_new(o, "records", json_integer(c.records));
    json_object_set_new(o, "affected_count", json_integer((json_int_t)affected));
    json_t *list = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(c.subjects, k, v) json_array_append_new(list, json_string(k));
    json_object_set_new(o, "affected_subjects", list);
    json_object_set_new(o, "keys_without_subject",
                        json_integer((json_int_t)json_object_size(c.nosubj)));
    json_object_set_new(o, "field_groups", c.groups);
    json_object_set_new(o, "phi_kinds", c.kinds);
    json_object_set_new(o, "fields", c.fields);
    json_object_set_new(o, "users", c.users);
    json_object_set_new(o, "policy_used", json_boolean(pol != NULL));
    json_object_set_new(o, "hhs_immediate", json_boolean(affected >= 500));
    /* Media notice: > 500 residents of one state. */
    if (states) {
        json_t *per = json_object();
        size_t unknown = 0;
        json_object_foreach(c.subjects, k, v)
        {
            const char *st = json_string_value(json_object_get(states, k));
            if (st)
                inc(per, st, 1);
            else
                unknown++;
        }
        json_int_t most = 0;
        json_object_foreach(per, k, v) if (json_integer_value(v) > most) most =
            json_integer_value(v);
        int media = most > 500;
        json_object_set_new(o, "residents_by_state", per);
        json_object_set_new(o, "state_unknown", json_integer((json_int_t)unknown));
        json_object_set_new(o, "media_notice",
                            json_string(media                              ? "required"
                                        : most + (json_int_t)unknown > 500 ? "undetermined"
                                                                           : "not required"));
    } else {
        json_object_set_new(o, "media_notice",
                            json_string(affected > 500 ? "undetermined" : "not required"));
    }
    json_decref(c.subjects);
    json_decref(c.nosubj);
    *out = o;
    return rc;
}
