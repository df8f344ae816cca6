/*
 * audit_fmt: the audit record's JSON line (docs/audit.md).
 *
 * This runs on the server's main thread for every command, so it is written for speed:
 * one reservation of the worst-case size, then bytes written through a pointer (no
 * printf), the formatted UTC second cached. Strings are escaped per RFC 8259; text that
 * is not valid UTF-8 gets U+FFFD for each bad byte, except key and subject, which are
 * binary-safe: when they are not valid UTF-8 they are written as "key_hex"/"subject_hex".
 * detail is copied verbatim (the caller promises valid JSON) with CR/LF turned to spaces
 * so one record stays one line.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "util/strutil.h"

static const char *const ev_names[AUDIT_EV__COUNT] = {
    "access",     "auth",      "mfa",    "lockout", "logout", "timeout", "acl",  "policy", "config",
    "breakglass", "keyrotate", "backup", "restore", "export", "start",   "stop", "alert",  "prune"};
static const char *const res_names[] = {"granted", "denied", "failed"};

const char *audit_event_name(int type)
{
    return type >= 0 && type < AUDIT_EV__COUNT ? ev_names[type] : "unknown";
}

int audit_event_find(const char *name)
{
    for (int i = 0; i < AUDIT_EV__COUNT; i++)
        if (strcmp(ev_names[i], name) == 0) return i;
    return -1;
}

const char *audit_result_name(int result)
{
    return result >= 0 && result <= AUDIT_FAILED ? res_names[result] : "failed";
}

static const char hexd[] = "0123456789abcdef";

/* Length of the valid multi-byte UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint32_t cp;
    return s[0] < 0x80 ? 0 : str_utf8_decode(s, n, &cp);
}

/* Write the JSON string body of (s, n) at o. strict: return NULL on invalid UTF-8;
 * otherwise bad bytes become \ufffd. At most 6 output bytes per input byte. */
static char *esc(char *o, const uint8_t *s, size_t n, int strict)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            *o++ = (char)c;
            i++;
        } else if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(o, "\\u00", 4);
            o[4] = hexd[c >> 4];
            o[5] = hexd[c & 15];
            o += 6;
            i++;
        } else {
            size_t l = utf8_len(s + i, n - i);
            if (l) {
                memcpy(o, s + i, l);
                o += l;
                i += l;
            } else {
                if (strict) return NULL;
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            }
        }
    }
    return o;
}

static char *lit(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}
#define LIT(o, s) lit(o, s, sizeof(s) - 1)

static char *u64(char *o, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = t[--n];
    return o;
}

static char *str_field(char *o, const char *name, size_t nlen, const char *s)
{
    if (!s) return o;
    o = lit(o, name, nlen);
    o = esc(o, (const uint8_t *)s, strlen(s), 0);
    *o++ = '"';
    return o;
}
#define STRF(o, name, s) str_field(o, name, sizeof(name) - 1, s)

/* Binary-safe key or subject: a string when valid UTF-8, else name_hex. */
static char *bin_field(char *o, const char *name, const char *s, size_t n)
{
    if (!s) return o;
    char *start = o;
    o = lit(o, ",\"", 2);
    o = lit(o, name, strlen(name));
    o = lit(o, "\":\"", 3);
    char *e = esc(o, (const uint8_t *)s, n, 1);
    if (e) {
        *e++ = '"';
        return e;
    }
    o = lit(start, ",\"", 2);
    o = lit(o, name, strlen(name));
    o = LIT(o, "_hex\":\"");
    for (size_t i = 0; i < n; i++) {
        *o++ = hexd[(uint8_t)s[i] >> 4];
        *o++ = hexd[(uint8_t)s[i] & 15];
    }
    *o++ = '"';
    return o;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void audit_format_ts(int64_t ts_us, audit_ts_cache *c, char out[28])
{
    int64_t sec = ts_us >= 0 ? ts_us / 1000000 : (ts_us - 999999) / 1000000;
    int64_t us = ts_us - sec * 1000000;
    audit_ts_cache local = {-1, ""};
    if (!c) c = &local;
    if (c->sec != sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        char t64[64];
        snprintf(t64, sizeof t64, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        memcpy(c->text, t64, 19);
        c->text[19] = '\0';
        c->sec = sec;
    }
    memcpy(out, c->text, 19);
    out[19] = '.';
    for (int i = 25; i >= 20; i--) {
        out[i] = (char)('0' + us % 10);
        us /= 10;
    }
    out[26] = 'Z';
    out[27] = '\0';
}

int audit_parse_ts(const char *s, int64_t *ts_us)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    long us = 0;
    size_t len = strlen(s);
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return -1;
    if (len > 10) {
        if (s[10] != 'T' && s[10] != ' ') return -1;
        int m = 0;
        if (sscanf(s + 11, "%2d:%2d%n", &h, &mi, &m) != 2) return -1;
        const char *p = s + 11 + m;
        if (*p == ':') {
            int k = 0;
            if (sscanf(p + 1, "%2d%n", &se, &k) != 1) return -1;
            p += 1 + k;
            if (*p == '.') {
                p++;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                    if (digits < 6) us = us * 10 + (*p - '0'), digits++;
                    p++;
                }
                while (digits++ < 6)
                    us *= 10;
            }
        }
        if (*p == 'Z') p++;
        if (*p) return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ts_us = ((days * 86400) + h * 3600 + mi * 60 + se) * 1000000LL + us;
    return 0;
}

void audit_format_body(const audit_rec *r, uint64_t seq, int64_t ts_us, audit_ts_cache *c, buf *out)
{
    /* Worst case: every string byte escaped to 6 bytes. */
    size_t need = 400 + 6 * (r->keylen + r->subjectlen);
    const char *strs[] = {r->user,    r->role,      r->addr,   r->cmd,
                          r->purpose, r->emergency, r->reason, r->action};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i]) need += 6 * strlen(strs[i]) + 16;
    for (int i = 0; i < r->nfields; i++)
        need += 6 * r->fieldlens[i] + 3;
    if (r->detail) need += strlen(r->detail) + 12;
    buf_reserve(out, need);
    char *o = (char *)out->p + out->len;
    o = LIT(o, "{\"seq\":");
    o = u64(o, seq);
    o = LIT(o, ",\"ts\":\"");
    char ts[28];
    audit_format_ts(ts_us, c, ts);
    o = lit(o, ts, 27);
    o = LIT(o, "\",\"ev\":\"");
    const char *ev = audit_event_name(r->type);
    o = lit(o, ev, strlen(ev));
    o = LIT(o, "\",\"res\":\"");
    const char *res = audit_result_name(r->result);
    o = lit(o, res, strlen(res));
    *o++ = '"';
    o = STRF(o, ",\"user\":\"", r->user);
    o = STRF(o, ",\"role\":\"", r->role);
    o = STRF(o, ",\"addr\":\"", r->addr);
    if (r->session) {
        o = LIT(o, ",\"sess\":");
        o = u64(o, r->session);
    }
    o = STRF(o, ",\"cmd\":\"", r->cmd);
    o = STRF(o, ",\"action\":\"", r->action);
    o = bin_field(o, "key", r->key, r->keylen);
    o = bin_field(o, "subject", r->subject, r->subjectlen);
    if (r->nfields > 0 && r->fields) {
        o = LIT(o, ",\"fields\":[");
        for (int i = 0; i < r->nfields; i++) {
            if (i) *o++ = ',';
            *o++ = '"';
            o = esc(o, (const uint8_t *)r->fields[i], r->fieldlens[i], 0);
            *o++ = '"';
        }
        *o++ = ']';
    }
    o = STRF(o, ",\"purpose\":\"", r->purpose);
    o = STRF(o, ",\"emergency\":\"", r->emergency);
    o = STRF(o, ",\"reason\":\"", r->reason);
    if (r->detail) {
        o = LIT(o, ",\"detail\":");
        for (const char *d = r->detail; *d; d++)
            *o++ = (*d == '\n' || *d == '\r') ? ' ' : *d;
    }
    out->len = (size_t)(o - (char *)out->p);
}

void audit_format_suffix(const uint8_t prev[32], buf *out)
{
    buf_reserve(out, AUDIT_PREV_SUFFIX);
    char *o = (char *)out->p + out->len;
    o = LIT(o, ",\"prev\":\"");
    for (int i = 0; i < 32; i++) {
        *o++ = hexd[prev[i] >> 4];
        *o++ = hexd[prev[i] & 15];
    }
    o = LIT(o, "\"}");
    out->len = (size_t)(o - (char *)out->p);
}

void audit_format(const audit_rec *r, uint64_t seq, int64_t ts_us, const uint8_t prev[32], buf *out)
{
    static const uint8_t zero[32];
    audit_format_body(r, seq, ts_us, NULL, out);
    audit_format_suffix(prev ? prev : zero, out);
    buf_putc(out, '\n');
}
