/*
 * alert: the alert rules (see alert.h). Users live in an open-addressing table keyed by
 * name (FNV-1a); when it is full the least recently seen user is forgotten, which can
 * only delay an alert for someone inactive, never invent one. Alerts are built with
 * jansson (proper escaping of user names).
 */
#include "audit/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit_seg.h"
#include "util/mem.h"
#include "util/tzrule.h"

#define HOUR_US   3600000000LL
#define MINUTE_US 60000000LL

typedef struct {
    uint64_t h; /* subject digest */
    int64_t t;  /* last access */
} subj_ent;

typedef struct {
    char *name;          /* user (NULL: free slot) */
    int64_t seen;        /* last record */
    int64_t den_min[60]; /* minute stamp of each bucket */
    int den_cnt[60];     /* denials in that minute */
    int64_t den_alert;   /* last denials alert */
    int64_t hours_alert; /* last after-hours alert */
    subj_ent *subj;      /* recent distinct subjects (cap subjects_count + 1) */
    int nsubj;
    int64_t subj_alert; /* last bulk-subjects alert */
    int64_t dlp_alert;  /* last dlp alert */
} user_ent;

struct alert_engine {
    alert_opts o;
    char tzname[128];
    int start_min, end_min; /* working hours in minutes of the day; -1: off */
    int64_t *tt;            /* TZif transition times (UTC seconds) */
    int32_t *toff;          /* offset after each transition */
    size_t ntt;
    int32_t off0; /* offset before the first transition */
    tz_rule rule; /* the file's footer (TZif v2+), for times after its last transition */
    int has_rule;
    user_ent *u;  /* table */
    size_t cap, n;
    int subj_cap;
    char health[2][256]; /* last bad reason per component ("" when ok) */
};

void alert_opts_default(alert_opts *o)
{
    memset(o, 0, sizeof *o);
    o->denials_per_hour = 10;
    o->hours = "07:00-19:00";
    o->timezone = "UTC";
    o->subjects_count = 50;
    o->subjects_minutes = 10;
    o->breakglass = 1;
    o->lockout = 1;
    o->max_users = 10000;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Load a TZif file (version 2+ uses the 64-bit block). Returns 0 or -1. */
static int tz_load(alert_engine *e, const char *dir, const char *name)
{
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return -1;
    if (strstr(name, "..") || name[0] == '/') return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint8_t *d = mem_alloc(1 << 20);
    size_t n = fread(d, 1, 1 << 20, f);
    fclose(f);
    int rc = -1;
    size_t off = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (n - off < 44 || memcmp(d + off, "TZif", 4) != 0) break;
        int ver = d[off + 4];
        uint32_t isut = rd32(d + off + 20), isstd = rd32(d + off + 24), leap = rd32(d + off + 28),
                 timecnt = rd32(d + off + 32), typecnt = rd32(d + off + 36),
                 charcnt = rd32(d + off + 40);
        int w = pass == 0 ? 4 : 8;
        uint64_t need = (uint64_t)timecnt * (uint64_t)(w + 1) + (uint64_t)typecnt * 6 + charcnt +
                        (uint64_t)leap * (uint64_t)(w + 4) + isstd + isut;
        if (typecnt == 0 || timecnt > 100000 || typecnt > 256 || need > n - off - 44) break;
        if (pass == 0 && ver >= '2') {
            off += 44 + (size_t)need; /* skip the 32-bit block */
            continue;
        }
        const uint8_t *p = d + off + 44;
        const uint8_t *idx = p + (size_t)timecnt * (size_t)w;
        const uint8_t *types = idx + timecnt;
        e->tt = mem_alloc(sizeof *e->tt * (timecnt ? timecnt : 1));
        e->toff = mem_alloc(sizeof *e->toff * (timecnt ? timecnt : 1));
        for (uint32_t i = 0; i < timecnt; i++) {
            int64_t t = w == 4 ? (int64_t)(int32_t)rd32(p + 4 * i)
                               : (int64_t)((uint64_t)rd32(p + 8 * i) << 32 | rd32(p + 8 * i + 4));
            uint8_t ti = idx[i];
            if (ti >= typecnt) ti = 0;
            e->tt[i] = t;
            e->toff[i] = (int32_t)rd32(types + 6 * ti);
        }
        e->ntt = timecnt;
        /* The footer: "\n<POSIX TZ rule>\n" after the 64-bit block. */
        const uint8_t *ft = p + need, *fe = d + n;
        if (w == 8 && ft < fe && *ft == '\n') {
            const uint8_t *nl = memchr(ft + 1, '\n', (size_t)(fe - ft - 1));
            if (nl && nl > ft + 1 &&
                tz_rule_parse((const char *)ft + 1, (size_t)(nl - ft - 1), &e->rule) == 0)
                e->has_rule = 1;
        }
        e->off0 = (int32_t)rd32(types);
        for (uint32_t i = 0; i < typecnt; i++)
            if (types[6 * i + 4] == 0) { /* first standard-time type */
                e->off0 = (int32_t)rd32(types + 6 * i);
                break;
            }
        rc = 0;
        break;
    }
    mem_free(d);
    return rc;
}

int alert_utc_offset(const alert_engine *e, int64_t t)
{
    if (e->has_rule && (e->ntt == 0 || t >= e->tt[e->ntt - 1])) return tz_rule_offset(&e->rule, t);
    if (e->ntt == 0 || t < e->tt[0]) return e->off0;
    size_t lo = 0, hi = e->ntt; /* last tt[i] <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (e->tt[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return e->toff[lo];
}

static int parse_hm(const char *s, int *min)
{
    int h, m, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m))
        return -1;
    *min = h * 60 + m;
    return 0;
}

alert_engine *alert_new(const alert_opts *o, char *err, size_t errlen)
{
    alert_engine *e = mem_calloc(sizeof *e);
    e->o = *o;
    e->start_min = e->end_min = -1;
    if (o->hours && *o->hours) {
        if (strlen(o->hours) != 11 || o->hours[5] != '-' || parse_hm(o->hours, &e->start_min) ||
            parse_hm(o->hours + 6, &e->end_min)) {
            snprintf(err, errlen, "alert-hours must look like 07:00-19:00");
            mem_free(e);
            return NULL;
        }
    }
    const char *tz = o->timezone && *o->timezone ? o->timezone : "UTC";
    snprintf(e->tzname, sizeof e->tzname, "%s", tz);
    if (strcmp(tz, "UTC") != 0 &&
        tz_load(e, o->zoneinfo_dir ? o->zoneinfo_dir : "/usr/share/zoneinfo", tz) != 0) {
        snprintf(err, errlen, "unknown time zone '%.64s' (an IANA name such as Europe/Berlin)", tz);
        mem_free(e);
        return NULL;
    }
    int mu = o->max_users > 0 ? o->max_users : 10000;
    e->o.max_users = mu;
    e->cap = 16;
    while (e->cap < (size_t)mu * 2)
        e->cap *= 2;
    e->u = mem_calloc(e->cap * sizeof *e->u);
    if (e->o.subjects_minutes <= 0) e->o.subjects_minutes = 10;
    e->subj_cap =
        o->subjects_count > 0 ? (o->subjects_count > 100000 ? 100001 : o->subjects_count + 1) : 0;
    return e;
}

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ULL;
    return h;
}

static void ent_free(user_ent *u)
{
    mem_free(u->name);
    mem_free(u->subj);
    memset(u, 0, sizeof *u);
}

/* Remove slot i and re-insert the cluster after it (linear probing deletion). */
static void table_delete(alert_engine *e, size_t i)
{
    ent_free(&e->u[i]);
    e->n--;
    size_t j = (i + 1) & (e->cap - 1);
    while (e->u[j].name) {
        user_ent tmp = e->u[j];
        memset(&e->u[j], 0, sizeof e->u[j]);
        size_t k = fnv(tmp.name, strlen(tmp.name)) & (e->cap - 1);
        while (e->u[k].name)
            k = (k + 1) & (e->cap - 1);
        e->u[k] = tmp;
        j = (j + 1) & (e->cap - 1);
    }
}

static user_ent *user_get(alert_engine *e, const char *name, int64_t now)
{
    size_t len = strnlen(name, 128);
    size_t i = fnv(name, len) & (e->cap - 1);
    while (e->u[i].name) {
        if (strncmp(e->u[i].name, name, len) == 0 && e->u[i].name[len] == '\0') {
            e->u[i].seen = now;
            return &e->u[i];
        }
        i = (i + 1) & (e->cap - 1);
    }
    if (e->n >= (size_t)e->o.max_users) {
        size_t old = SIZE_MAX;
        for (size_t k = 0; k < e->cap; k++)
            if (e->u[k].name && (old == SIZE_MAX || e->u[k].seen < e->u[old].seen)) old = k;
        table_delete(e, old);
        i = fnv(name, len) & (e->cap - 1);
        while (e->u[i].name)
            i = (i + 1) & (e->cap - 1);
    }
    user_ent *u = &e->u[i];
    u->name = mem_strndup(name, len);
    u->seen = now;
    u->den_alert = u->hours_alert = u->subj_alert = u->dlp_alert = INT64_MIN / 2;
    if (e->subj_cap) u->subj = mem_alloc(sizeof *u->subj * (size_t)e->subj_cap);
    e->n++;
    return u;
}

size_t alert_tracked_users(const alert_engine *e)
{
    return e->n;
}

static void fire(json_t *j, int64_t now, void (*emit)(void *, const char *, size_t), void *ud)
{
    char ts[28];
    audit_format_ts(now, NULL, ts);
    json_object_set_new(j, "ts", json_string(ts));
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s && emit) emit(ud, s, strlen(s));
    free(s);
    json_decref(j);
}

static json_t *alert_obj(const char *kind, const audit_rec *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "alert", json_string(kind));
    if (r && r->user) json_object_set_new(j, "user", json_string(r->user));
    if (r && r->role) json_object_set_new(j, "role", json_string(r->role));
    if (r && r->addr) json_object_set_new(j, "addr", json_string(r->addr));
    return j;
}

void alert_dlp(alert_engine *e, const audit_rec *r, const char *in_keys, const char *in_values,
               int refused, int64_t now, void (*emit)(void *ud, const char *json, size_t len),
               void *ud)
{
    if (r->user) {
        user_ent *u = user_get(e, r->user, now);
        if (now - u->dlp_alert < MINUTE_US) return;
        u->dlp_alert = now;
    }
    json_t *j = alert_obj("dlp", r);
    if (r->cmd) json_object_set_new(j, "cmd", json_string(r->cmd));
    if (in_keys && *in_keys) json_object_set_new(j, "in_key_names", json_string(in_keys));
    if (in_values && *in_values) json_object_set_new(j, "in_values", json_string(in_values));
    json_object_set_new(j, "action", json_string(refused ? "refused" : "allowed"));
    fire(j, now, emit, ud);
}

void alert_observe(alert_engine *e, const audit_rec *r, int64_t now,
                   void (*emit)(void *ud, const char *json, size_t len), void *ud)
{
    if (r->type == AUDIT_EV_LOCKOUT && e->o.lockout) fire(alert_obj("lockout", r), now, emit, ud);
    if (r->type == AUDIT_EV_BREAKGLASS && e->o.breakglass && r->result == AUDIT_GRANTED &&
        (!r->action || strcmp(r->action, "grant") == 0)) {
        json_t *j = alert_obj("breakglass", r);
        if (r->emergency) json_object_set_new(j, "grant", json_string(r->emergency));
        fire(j, now, emit, ud);
    }
    if (!r->user) return;
    int denied = r->result == AUDIT_DENIED && (r->type == AUDIT_EV_ACCESS);
    int phi = r->type == AUDIT_EV_ACCESS && r->result == AUDIT_GRANTED &&
              (r->key || r->subject || r->nfields > 0);
    if (!denied && !phi) return;
    user_ent *u = user_get(e, r->user, now);
    if (denied && e->o.denials_per_hour > 0) {
        int64_t m = now / MINUTE_US;
        int b = (int)(m % 60);
        if (u->den_min[b] != m) {
            u->den_min[b] = m;
            u->den_cnt[b] = 0;
        }
        u->den_cnt[b]++;
        int total = 0;
        for (int i = 0; i < 60; i++)
            if (m - u->den_min[i] < 60) total += u->den_cnt[i];
        if (total >= e->o.denials_per_hour && now - u->den_alert >= HOUR_US) {
            u->den_alert = now;
            json_t *j = alert_obj("denials", r);
            json_object_set_new(j, "count", json_integer(total));
            json_object_set_new(j, "window_minutes", json_integer(60));
            fire(j, now, emit, ud);
        }
    }
    if (!phi) return;
    if (e->start_min >= 0) {
        int64_t local = now / 1000000 + alert_utc_offset(e, now / 1000000);
        int mod = (int)(((local % 86400) + 86400) % 86400 / 60);
        int inside = e->start_min <= e->end_min ? (mod >= e->start_min && mod < e->end_min)
                                                : (mod >= e->start_min || mod < e->end_min);
        if (!inside && now - u->hours_alert >= HOUR_US) {
            u->hours_alert = now;
            json_t *j = alert_obj("after-hours", r);
            char lt[8];
            snprintf(lt, sizeof lt, "%02d:%02d", mod / 60, mod % 60);
            json_object_set_new(j, "local_time", json_string(lt));
            json_object_set_new(j, "timezone", json_string(e->tzname));
            if (r->cmd) json_object_set_new(j, "cmd", json_string(r->cmd));
            fire(j, now, emit, ud);
        }
    }
    if (e->subj_cap && r->subject) {
        uint64_t h = fnv(r->subject, r->subjectlen);
        int64_t win = (int64_t)e->o.subjects_minutes * MINUTE_US;
        int found = 0, live = 0, oldest = 0;
        for (int i = 0; i < u->nsubj; i++) {
            if (u->subj[i].h == h) {
                u->subj[i].t = now;
                found = 1;
            }
            if (u->subj[i].t < u->subj[oldest].t) oldest = i;
        }
        if (!found) {
            if (u->nsubj < e->subj_cap)
                u->subj[u->nsubj++] = (subj_ent){h, now};
            else
                u->subj[oldest] = (subj_ent){h, now};
        }
        for (int i = 0; i < u->nsubj; i++)
            if (now - u->subj[i].t < win) live++;
        if (live > e->o.subjects_count && now - u->subj_alert >= win) {
            u->subj_alert = now;
            json_t *j = alert_obj("bulk-subjects", r);
            json_object_set_new(j, "count", json_integer(live));
            json_object_set_new(j, "window_minutes", json_integer(e->o.subjects_minutes));
            fire(j, now, emit, ud);
        }
    }
}

void alert_health(alert_engine *e, const char *component, int ok, const char *reason, int64_t now,
                  void (*emit)(void *ud, const char *json, size_t len), void *ud)
{
    int c = strcmp(component, "audit") == 0 ? 0 : 1;
    if (ok) {
        e->health[c][0] = '\0';
        return;
    }
    if (e->health[c][0]) return; /* already reported */
    snprintf(e->health[c], sizeof e->health[c], "%s", reason && *reason ? reason : "failed");
    json_t *j = json_object();
    json_object_set_new(j, "alert", json_string("audit-failure"));
    json_object_set_new(j, "component", json_string(component));
    json_object_set_new(j, "reason", json_string(e->health[c]));
    fire(j, now, emit, ud);
}

void alert_free(alert_engine *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->cap; i++)
        if (e->u[i].name) ent_free(&e->u[i]);
    mem_free(e->u);
    mem_free(e->tt);
    mem_free(e->toff);
    mem_free(e);
}
