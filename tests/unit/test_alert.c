/*
 * test_alert: every alert rule fires when it should, once, and not otherwise; time zones
 * from TZif; memory bound on users.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/alert.h"
#include "audit/audit_seg.h"
#include "unit.h"

typedef struct {
    int n;
    char last[1024];
} sink;

static void emit(void *ud, const char *json, size_t len)
{
    sink *s = ud;
    s->n++;
    snprintf(s->last, sizeof s->last, "%.*s", (int)len, json);
}

static int64_t at(const char *iso)
{
    int64_t t;
    if (audit_parse_ts(iso, &t) != 0) abort();
    return t;
}

static audit_rec acc(const char *user, const char *subj, int result)
{
    audit_rec r = {.type = AUDIT_EV_ACCESS,
                   .result = result,
                   .user = user,
                   .role = "nurse",
                   .cmd = "hget",
                   .key = "patient:x",
                   .keylen = 9,
                   .subject = subj,
                   .subjectlen = subj ? strlen(subj) : 0};
    return r;
}

static alert_engine *mk(alert_opts *o)
{
    char err[256];
    alert_engine *e = alert_new(o, err, sizeof err);
    if (!e) unit_fail(__FILE__, __LINE__, "alert_new: %s", err);
    return e;
}

TEST(t_denials)
{
    alert_opts o;
    alert_opts_default(&o);
    o.denials_per_hour = 3;
    o.hours = "";
    o.subjects_count = 0;
    alert_engine *e = mk(&o);
    sink s = {0};
    int64_t t = at("2026-03-02T10:00:00Z");
    audit_rec r = acc("mallory", "1", AUDIT_DENIED);
    alert_observe(e, &r, t, emit, &s);
    alert_observe(e, &r, t + 60000000LL, emit, &s);
    CHECK_INT(s.n, 0);
    audit_rec g = acc("mallory", "1", AUDIT_GRANTED); /* grants do not count */
    alert_observe(e, &g, t + 61000000LL, emit, &s);
    CHECK_INT(s.n, 0);
    audit_rec other = acc("bob", "1", AUDIT_DENIED); /* per user */
    alert_observe(e, &other, t + 62000000LL, emit, &s);
    CHECK_INT(s.n, 0);
    alert_observe(e, &r, t + 120000000LL, emit, &s);
    CHECK_INT(s.n, 1);
    CHECK(strstr(s.last, "\"alert\":\"denials\"") && strstr(s.last, "\"user\":\"mallory\"") &&
          strstr(s.last, "\"count\":3"));
    CHECK(!strstr(s.last, "patient"));               /* never a key name */
    alert_observe(e, &r, t + 180000000LL, emit, &s); /* same incident: quiet */
    CHECK_INT(s.n, 1);
    /* Two hours later the old denials are out of the window: 1 is not 3. */
    alert_observe(e, &r, t + 2 * 3600000000LL, emit, &s);
    CHECK_INT(s.n, 1);
    alert_free(e);
}

TEST(t_after_hours)
{
    alert_opts o;
    alert_opts_default(&o);
    o.denials_per_hour = 0;
    o.subjects_count = 0;
    o.hours = "07:00-19:00";
    o.timezone = "America/New_York";
    alert_engine *e = mk(&o);
    if (!e) return;
    CHECK_INT(alert_utc_offset(e, at("2026-01-15T12:00:00Z") / 1000000), -5 * 3600);
    CHECK_INT(alert_utc_offset(e, at("2026-07-15T12:00:00Z") / 1000000), -4 * 3600);
    sink s = {0};
    audit_rec r = acc("carol", "9", AUDIT_GRANTED);
    alert_observe(e, &r, at("2026-07-01T12:00:00Z"), emit, &s); /* 08:00 EDT */
    alert_observe(e, &r, at("2026-07-01T22:59:00Z"), emit, &s); /* 18:59 EDT */
    CHECK_INT(s.n, 0);
    audit_rec d = acc("carol", "9", AUDIT_DENIED); /* a denial is not PHI access */
    alert_observe(e, &d, at("2026-07-02T02:00:00Z"), emit, &s);
    CHECK_INT(s.n, 0);
    audit_rec auth = {.type = AUDIT_EV_AUTH, .result = AUDIT_GRANTED, .user = "carol"};
    alert_observe(e, &auth, at("2026-07-02T02:00:00Z"), emit, &s);
    CHECK_INT(s.n, 0);
    alert_observe(e, &r, at("2026-07-02T02:00:00Z"), emit, &s); /* 22:00 EDT */
    CHECK_INT(s.n, 1);
    CHECK(strstr(s.last, "\"alert\":\"after-hours\"") &&
          strstr(s.last, "\"local_time\":\"22:00\""));
    alert_observe(e, &r, at("2026-07-02T02:10:00Z"), emit, &s);
    CHECK_INT(s.n, 1);
    /* Winter: 11:30 UTC is 06:30 EST, outside. */
    alert_observe(e, &r, at("2026-12-15T11:30:00Z"), emit, &s);
    CHECK_INT(s.n, 2);
    alert_free(e);
    /* A window over midnight (night shift 19:00-07:00 UTC). */
    o.hours = "19:00-07:00";
    o.timezone = "UTC";
    e = mk(&o);
    s.n = 0;
    alert_observe(e, &r, at("2026-07-02T02:00:00Z"), emit, &s);
    CHECK_INT(s.n, 0);
    alert_observe(e, &r, at("2026-07-02T12:00:00Z"), emit, &s);
    CHECK_INT(s.n, 1);
    alert_free(e);
    char err[128];
    o.timezone = "Nowhere/Atlantis";
    CHECK(alert_new(&o, err, sizeof err) == NULL);
    o.timezone = "../../etc/passwd";
    CHECK(alert_new(&o, err, sizeof err) == NULL);
    o.timezone = "UTC";
    o.hours = "7-19";
    CHECK(alert_new(&o, err, sizeof err) == NULL);
}

TEST(t_subjects)
{
    alert_opts o;
    alert_opts_default(&o);
    o.denials_per_hour = 0;
    o.hours = "";
    o.subjects_count = 5;
    o.subjects_minutes = 10;
    alert_engine *e = mk(&o);
    sink s = {0};
    int64_t t = at("2026-03-02T10:00:00Z");
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "%d", i);
        audit_rec r = acc("dave", id, AUDIT_GRANTED);
        alert_observe(e, &r, t + i * 1000000LL, emit, &s);
        alert_observe(e, &r, t + i * 1000000LL + 1, emit, &s); /* repeats do not count */
    }
    CHECK_INT(s.n, 0);
    audit_rec r6 = acc("dave", "99", AUDIT_GRANTED);
    alert_observe(e, &r6, t + 10000000LL, emit, &s);
    CHECK_INT(s.n, 1);
    CHECK(strstr(s.last, "\"alert\":\"bulk-subjects\"") && strstr(s.last, "\"count\":6"));
    CHECK(!strstr(s.last, "99"));
    /* Someone reading one new subject every 3 minutes never has 6 within 10 minutes. */
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "s%d", i);
        audit_rec r = acc("erin", id, AUDIT_GRANTED);
        alert_observe(e, &r, t + i * 180000000LL, emit, &s);
    }
    CHECK_INT(s.n, 1);
    alert_free(e);
}

TEST(t_events)
{
    alert_opts o;
    alert_opts_default(&o);
    o.hours = "";
    alert_engine *e = mk(&o);
    sink s = {0};
    int64_t t = at("2026-03-02T10:00:00Z");
    audit_rec use = {.type = AUDIT_EV_BREAKGLASS,
                     .result = AUDIT_GRANTED,
                     .user = "frank",
                     .action = "use",
                     .emergency = "bg-1"};
    alert_observe(e, &use, t, emit, &s);
    CHECK_INT(s.n, 0);
    audit_rec grant = use;
    grant.action = "grant";
    grant.reason = "patient unconscious";
    alert_observe(e, &grant, t, emit, &s);
    CHECK_INT(s.n, 1);
    CHECK(strstr(s.last, "\"alert\":\"breakglass\"") && strstr(s.last, "\"grant\":\"bg-1\""));
    grant.result = AUDIT_DENIED; /* a refused request is not a grant */
    alert_observe(e, &grant, t, emit, &s);
    CHECK_INT(s.n, 1);
    audit_rec lock = {.type = AUDIT_EV_LOCKOUT, .result = AUDIT_FAILED, .user = "gina"};
    alert_observe(e, &lock, t, emit, &s);
    CHECK_INT(s.n, 2);
    CHECK(strstr(s.last, "\"alert\":\"lockout\""));
    alert_health(e, "audit", 1, "", t, emit, &s);
    CHECK_INT(s.n, 2);
    alert_health(e, "audit", 0, "disk full", t, emit, &s);
    CHECK_INT(s.n, 3);
    CHECK(strstr(s.last, "\"alert\":\"audit-failure\"") && strstr(s.last, "disk full"));
    alert_health(e, "audit", 0, "disk full", t, emit, &s);
    CHECK_INT(s.n, 3);
    alert_health(e, "syslog", 0, "down", t, emit, &s);
    CHECK_INT(s.n, 4);
    alert_health(e, "audit", 1, "", t, emit, &s);
    alert_health(e, "audit", 0, "I/O error", t, emit, &s);
    CHECK_INT(s.n, 5);
    alert_free(e);
}

TEST(t_dlp)
{
    alert_opts o;
    alert_opts_default(&o);
    alert_engine *e = mk(&o);
    sink s = {0};
    int64_t t = at("2026-03-02T10:00:00Z");
    audit_rec w = {.type = AUDIT_EV_ACCESS, .result = AUDIT_DENIED, .user = "hal", .cmd = "set"};
    alert_dlp(e, &w, "NAME", NULL, 1, t, emit, &s);
    CHECK_INT(s.n, 1);
    CHECK(strstr(s.last, "\"alert\":\"dlp\"") && strstr(s.last, "\"in_key_names\":\"NAME\"") &&
          strstr(s.last, "\"action\":\"refused\"") && !strstr(s.last, "in_values"));
    /* One incident, one alert: the same user within the minute is quiet, others are not. */
    alert_dlp(e, &w, NULL, "SSN", 0, t + 59000000LL, emit, &s);
    CHECK_INT(s.n, 1);
    audit_rec v = w;
    v.user = "ida";
    alert_dlp(e, &v, NULL, "SSN, PHONE", 0, t + 1000000LL, emit, &s);
    CHECK_INT(s.n, 2);
    CHECK(strstr(s.last, "\"in_values\":\"SSN, PHONE\"") && strstr(s.last, "\"allowed\""));
    alert_dlp(e, &w, NULL, "SSN", 0, t + 60000000LL, emit, &s);
    CHECK_INT(s.n, 3);
    alert_free(e);
}

TEST(t_bound)
{
    alert_opts o;
    alert_opts_default(&o);
    o.max_users = 100;
    o.hours = "";
    alert_engine *e = mk(&o);
    int64_t t = at("2026-03-02T10:00:00Z");
    char u[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(u, sizeof u, "user%d", i);
        audit_rec r = acc(u, "1", AUDIT_DENIED);
        alert_observe(e, &r, t + i, NULL, NULL);
    }
    CHECK(alert_tracked_users(e) <= 100);
    alert_free(e);
}

UNIT_MAIN(T(t_denials), T(t_after_hours), T(t_subjects), T(t_events), T(t_dlp), T(t_bound))
