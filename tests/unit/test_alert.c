/*
 * test_alert: every alert rule fires when it should, once, and not otherwise; time zones
 * from TZif; memory bound on users.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/alert.h"
#include "audit/audit_seg.h"
#include "unit.h"
#include "util/tzrule.h"

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
    /* After the file's last transition (2037 in Debian's files) its footer's rule holds. */
    CHECK_INT(alert_utc_offset(e, at("2040-07-15T12:00:00Z") / 1000000), -4 * 3600);
    CHECK_INT(alert_utc_offset(e, at("2040-12-15T12:00:00Z") / 1000000), -5 * 3600);
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

/* glibc reads TZ for localtime_r: the tests set it and put it back. */
static char *tz_saved;
static int tz_had;

static void tz_set(const char *tz)
{
    if (!tz_had) {
        const char *old = getenv("TZ");
        tz_saved = old ? strdup(old) : NULL;
        tz_had = 1;
    }
    setenv("TZ", tz, 1);
    tzset();
}

static void tz_restore(void)
{
    if (!tz_had) return;
    if (tz_saved)
        setenv("TZ", tz_saved, 1);
    else
        unsetenv("TZ");
    free(tz_saved);
    tz_saved = NULL;
    tz_had = 0;
    tzset();
}

/* The POSIX rules of TZif footers, against glibc's reading of the same TZ strings. */
TEST(t_tzrule)
{
    static const char *good[] = {"EST5EDT,M3.2.0,M11.1.0",
                                 "AEST-10AEDT,M10.1.0,M4.1.0/3",
                                 "IST-1GMT0,M10.5.0,M3.5.0/1",
                                 "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
                                 "CET-1CEST,M3.5.0,M10.5.0/3",
                                 "NZST-12NZDT,M9.5.0,M4.1.0/3",
                                 "<+0330>-3:30",
                                 "XXX3YYY,J60/1:30,300/23:59:59",
                                 "UTC0"};
    tz_rule r;
    int bad_allyear = 0;
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        CHECK(tz_rule_parse(good[i], strlen(good[i]), &r) == 0);
        tz_set(good[i]);
        int bad = 0;
        for (int k = 0; k < 20000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* 1970 to 2300 (glibc counts rules from 1970 only), and every hour of 2041 */
            int64_t t = k < 10000 ? (int64_t)(x % 10413792000ULL)
                                  : 2240524800LL + (int64_t)(k - 10000) * 3599;
            time_t tt = (time_t)t;
            struct tm tm;
            if (!localtime_r(&tt, &tm)) continue;
            if (tm.tm_gmtoff != tz_rule_offset(&r, t) && bad++ < 3)
                unit_fail(__FILE__, __LINE__, "%s at %lld: glibc %ld, tz_rule %d", good[i],
                          (long long)t, tm.tm_gmtoff, tz_rule_offset(&r, t));
        }
    }
    tz_restore();
    /* Daylight time all year (RFC 8536, 3.3.1), the turn of the year included (where glibc
     * gives standard time for the hours between the two years' rules). */
    CHECK(tz_rule_parse("EST5EDT,0/0,J365/25", 19, &r) == 0);
    for (int64_t t = at("2193-12-30T00:00:00Z") / 1000000; t < at("2194-01-03T00:00:00Z") / 1000000;
         t += 1800)
        if (tz_rule_offset(&r, t) != -4 * 3600 && bad_allyear++ < 3)
            unit_fail(__FILE__, __LINE__, "all-year daylight time at %lld", (long long)t);
    CHECK_INT(tz_rule_offset(&r, at("2040-07-01T00:00:00Z") / 1000000), -4 * 3600);
    /* March 11 2040, 02:00 EST = 07:00 UTC; November 4 2040, 02:00 EDT = 06:00 UTC. */
    CHECK(tz_rule_parse("EST5EDT,M3.2.0,M11.1.0", 22, &r) == 0);
    CHECK_INT(tz_rule_offset(&r, at("2040-03-11T06:59:59Z") / 1000000), -5 * 3600);
    CHECK_INT(tz_rule_offset(&r, at("2040-03-11T07:00:00Z") / 1000000), -4 * 3600);
    CHECK_INT(tz_rule_offset(&r, at("2040-11-04T05:59:59Z") / 1000000), -4 * 3600);
    CHECK_INT(tz_rule_offset(&r, at("2040-11-04T06:00:00Z") / 1000000), -5 * 3600);
    static const char *bad[] = {"",
                                "E5",
                                "EST",
                                "EST5EDT",
                                "EST5EDT,M3.2.0",
                                "EST5EDT,M13.1.0,M11.1.0",
                                "EST5EDT,M3.6.0,M11.1.0",
                                "EST5EDT,M3.2.7,M11.1.0",
                                "EST5EDT,M3.2,M11.1.0",
                                "EST5EDT,J0,J365",
                                "EST5EDT,J366,J1",
                                "EST5EDT,366,1",
                                "EST5EDT,M3.2.0/168,M11.1.0",
                                "EST5EDT,M3.2.0,M11.1.0x",
                                "EST25",
                                "EST5:60",
                                "EST5:00:60",
                                "XXX24:59:02",
                                "EST5EDT,M3.2.0/167:00:01,M11.1.0",
                                "<AB>5",
                                "<A B>5",
                                "<ABC5",
                                "EST0005"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (tz_rule_parse(bad[i], strlen(bad[i]), &r) == 0)
            unit_fail(__FILE__, __LINE__, "'%s' was accepted", bad[i]);
}

/* Whole zones (their transitions, then their footers) against glibc's reading of the same
 * files, from 1970 to 2100. */
TEST(t_zones)
{
    static const char *zones[] = {"America/New_York", "Europe/Berlin",       "Europe/Dublin",
                                  "Australia/Sydney", "Australia/Lord_Howe", "America/Sao_Paulo",
                                  "Asia/Tehran",      "Pacific/Auckland",    "Africa/Casablanca",
                                  "America/Nuuk",     "Asia/Kolkata",        "America/Santiago"};
    char tz[128];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
        alert_opts o;
        alert_opts_default(&o);
        o.timezone = zones[i];
        alert_engine *e = mk(&o);
        if (!e) continue;
        snprintf(tz, sizeof tz, ":/usr/share/zoneinfo/%s", zones[i]);
        tz_set(tz);
        int bad = 0;
        for (int k = 0; k < 20000; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int64_t t = (int64_t)(x % 4102444800ULL);
            time_t tt = (time_t)t;
            struct tm tm;
            if (localtime_r(&tt, &tm) && tm.tm_gmtoff != alert_utc_offset(e, t) && bad++ < 3)
                unit_fail(__FILE__, __LINE__, "%s at %lld: glibc %ld, alert %d", zones[i],
                          (long long)t, tm.tm_gmtoff, alert_utc_offset(e, t));
        }
        alert_free(e);
    }
    tz_restore();
}

/* A "slim" TZif file (zic -b slim) lists no regular daylight-saving change: they all come
 * from its footer. */
TEST(t_slim_zone)
{
    char dir[] = "/tmp/phidb-test-tz-XXXXXX", src[64], cmd[256];
    if (!mkdtemp(dir)) {
        unit_fail(__FILE__, __LINE__, "mkdtemp");
        return;
    }
    snprintf(src, sizeof src, "%s/zones", dir);
    FILE *f = fopen(src, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("Rule T 2007 max - Mar Sun>=8 2:00 1:00 D\n"
          "Rule T 2007 max - Nov Sun>=1 2:00 0 S\n"
          "Zone Test/Slim -5:00 T E%sT\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/sbin/zic -b slim -d %s %s", dir, src);
    CHECK_INT(system(cmd), 0);
    alert_opts o;
    alert_opts_default(&o);
    o.zoneinfo_dir = dir;
    o.timezone = "Test/Slim";
    alert_engine *e = mk(&o);
    if (e) {
        CHECK_INT(alert_utc_offset(e, at("2026-01-15T12:00:00Z") / 1000000), -5 * 3600);
        CHECK_INT(alert_utc_offset(e, at("2026-07-15T12:00:00Z") / 1000000), -4 * 3600);
        CHECK_INT(alert_utc_offset(e, at("2031-03-09T06:59:59Z") / 1000000), -5 * 3600);
        CHECK_INT(alert_utc_offset(e, at("2031-03-09T07:00:00Z") / 1000000), -4 * 3600);
        alert_free(e);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
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

UNIT_MAIN(T(t_denials), T(t_after_hours), T(t_tzrule), T(t_zones), T(t_slim_zone), T(t_subjects),
          T(t_events), T(t_dlp), T(t_bound))
