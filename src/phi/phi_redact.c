/*
 * phi_redact: turning findings into redacted text.
 *
 *   tag        "[NAME]", "[DATE]" ...: the reader sees what was there.
 *   mask       every byte of a finding becomes '*' (newlines kept), so the
 *              text keeps its length and every other offset stays valid.
 *   surrogate  invented stand-ins that read naturally. Consistency inside a
 *              document: each name word maps to one stand-in (a table in the
 *              scratch, with collisions resolved so two people never merge),
 *              every date moves by the same number of days (intervals are
 *              kept) and is written in its original layout, and any other
 *              value maps by a keyed hash of its text (same value, same
 *              stand-in). Stand-in SSNs start with 9 (never issued), IPs come
 *              from the documentation ranges, e-mails use example.com.
 *
 * The seed keys everything; with seed 0 a random one is drawn per call, so
 * two documents cannot be linked through their stand-ins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "phi_internal.h"

/* ---- output buffer ---- */

static int out_put(phi_vec *o, const void *p, size_t n)
{
    if (phi_vec_reserve(o, o->n + n + 1, 1) != PHI_OK) return PHI_ENOMEM;
    memcpy((uint8_t *)o->p + o->n, p, n);
    o->n += n;
    return PHI_OK;
}

static int out_str(phi_vec *o, const char *s)
{
    return out_put(o, s, strlen(s));
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* ---- surrogate name table ---- */

typedef struct surctx {
    const phi_detector *d;
    phi_scratch *s;
    uint64_t seed;
    long shift; /* days */
} surctx;

/* slots of 2 x uint64: key, value; key 0 = empty. */
static int map_reserve(phi_scratch *s, size_t want)
{
    size_t cap = 256;
    while (cap < want * 4)
        cap <<= 1;
    if (phi_vec_reserve(&s->surmap, cap * 2, sizeof(uint64_t)) != PHI_OK) return PHI_ENOMEM;
    memset(s->surmap.p, 0, cap * 2 * sizeof(uint64_t));
    s->surmap.n = cap;
    return PHI_OK;
}

static uint64_t *map_slot(phi_scratch *s, uint64_t key)
{
    uint64_t *tab = s->surmap.p;
    size_t mask = s->surmap.n - 1, i = (size_t)mix(key) & mask;
    while (tab[2 * i] && tab[2 * i] != key)
        i = (i + 1) & mask;
    return &tab[2 * i];
}

/* Stand-in index for the word with hash h in list (0 first, 1 last) of size n. */
static uint32_t sur_index(surctx *x, uint64_t h, int list, uint32_t n)
{
    uint64_t key = (h | 1) ^ ((uint64_t)list << 1);
    uint64_t *sl = map_slot(x->s, key);
    if (sl[0]) return (uint32_t)sl[1];
    uint32_t idx = (uint32_t)(mix(h ^ x->seed) % n);
    /* Probe until the stand-in is not taken by another word. */
    for (uint32_t tries = 0; tries < n; tries++) {
        uint64_t ukey = ((uint64_t)(list + 2) << 56) | ((uint64_t)idx << 8) | 0x80;
        uint64_t *us = map_slot(x->s, ukey);
        if (!us[0]) {
            us[0] = ukey, us[1] = h;
            break;
        }
        idx = (idx + 1) % n;
    }
    sl = map_slot(x->s, key); /* the table did not move: same slot */
    sl[0] = key, sl[1] = idx;
    return idx;
}

/* Write a list entry shaped like the original word (UPPER, Capitalized, lower). */
static int put_shaped(phi_vec *o, const uint8_t *w, size_t wl, int shape)
{
    uint8_t buf[32];
    if (wl > sizeof buf) wl = sizeof buf;
    for (size_t i = 0; i < wl; i++) {
        uint8_t c = w[i];
        if (shape == PHI_SH_UPPER || (shape == PHI_SH_CAP && i == 0))
            c = (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
        buf[i] = c;
    }
    return out_put(o, buf, wl);
}

static void list_word(const phi_detector *d, int list, uint32_t idx, const uint8_t **w, size_t *wl)
{
    phi_blob b = list == 0 ? phi_data_first_names() : phi_data_last_names();
    uint32_t off = list == 0 ? d->sur_first[idx] : d->sur_last[idx];
    size_t e = off;
    while (e < b.len && b.p[e] != '\n')
        e++;
    *w = b.p + off;
    *wl = e - off;
}

/* Replace each word of a name (or place) with a stand-in; keep the rest. */
static int sur_words(surctx *x, phi_vec *o, const uint8_t *t, size_t a, size_t b, int force_last)
{
    const phi_detector *d = x->d;
    size_t i = a;
    while (i < b) {
        if (!(phi_is_alpha(t[i]) || t[i] >= 0x80)) {
            if (phi_is_digit(t[i])) {
                uint8_t c = (uint8_t)('0' + mix(x->seed ^ (i - a) ^ t[i]) % 10);
                if (out_put(o, &c, 1)) return PHI_ENOMEM;
            } else if (out_put(o, t + i, 1)) {
                return PHI_ENOMEM;
            }
            i++;
            continue;
        }
        size_t j = i;
        while (j < b && (phi_is_alpha(t[j]) || t[j] >= 0x80))
            j++;
        uint64_t h = phi_hash_word(t + i, j - i);
        uint16_t wf = phi_dict_get(&d->ctx, h);
        int shape = PHI_SH_CAP;
        bool up = t[i] >= 'A' && t[i] <= 'Z', allup = up;
        for (size_t q = i + 1; q < j; q++)
            if (!(t[q] >= 'A' && t[q] <= 'Z')) allup = false;
        if (allup && j - i > 1)
            shape = PHI_SH_UPPER;
        else if (!up && t[i] < 0x80)
            shape = PHI_SH_LOWER;
        if (j - i == 1 && up) {
            uint8_t c = (uint8_t)('A' + mix(h ^ x->seed) % 26);
            if (out_put(o, &c, 1)) return PHI_ENOMEM;
        } else if (force_last && (wf & (PHI_W_NOTNAME | PHI_W_STATE | PHI_W_ORG))) {
            if (out_put(o, t + i, j - i)) return PHI_ENOMEM; /* "Street", "Hospital" stay */
        } else {
            uint16_t df = phi_dict_get(&d->words, h);
            int list = (!force_last && (df & PHI_D_FIRST) && !(df & PHI_D_LAST)) ? 0 : 1;
            if (!force_last && (df & PHI_D_FIRST) && (df & PHI_D_LAST)) list = (h >> 3) & 1 ? 0 : 1;
            uint32_t n = list == 0 ? d->n_sur_first : d->n_sur_last;
            uint32_t idx = sur_index(x, h, list, n);
            const uint8_t *w;
            size_t wl;
            list_word(d, list, idx, &w, &wl);
            if (put_shaped(o, w, wl, shape)) return PHI_ENOMEM;
        }
        i = j;
    }
    return PHI_OK;
}

/* ---- dates ---- */

static const char *const mfull[12] = {"January",   "February", "March",    "April",
                                      "May",       "June",     "July",     "August",
                                      "September", "October",  "November", "December"};

static int put_num(phi_vec *o, int v, int width)
{
    char b[16];
    int n = snprintf(b, sizeof b, "%0*d", width, v);
    return out_put(o, b, (size_t)n);
}

static int put_month(phi_vec *o, const phi_date *dt, int m)
{
    char b[16];
    const char *name = mfull[m - 1];
    size_t n = dt->mstyle == 1 ? 3 : strlen(name);
    memcpy(b, name, n);
    if (dt->upper)
        for (size_t i = 0; i < n; i++)
            b[i] = (char)(b[i] >= 'a' ? b[i] - 32 : b[i]);
    return out_put(o, b, n);
}

static const char *ord_suffix(int d)
{
    if (d % 100 >= 11 && d % 100 <= 13) return "th";
    switch (d % 10) {
    case 1: return "st";
    case 2: return "nd";
    case 3: return "rd";
    default: return "th";
    }
}

static int sur_date(surctx *x, phi_vec *o, const uint8_t *t, size_t a, size_t b)
{
    phi_date dt;
    if (phi_date_parse(t + a, b - a, &dt) != PHI_OK || (!dt.m && !dt.d))
        return out_str(o, "[DATE]");
    int y = dt.y ? dt.y : 2001, m = dt.m, d = dt.d;
    if (m && d) {
        long z = phi_days_from_civil(y, m, d) + x->shift;
        phi_civil_from_days(z, &y, &m, &d);
    } else if (m) {
        int months = (int)(x->shift / 30);
        int mm = (y * 12 + (m - 1)) + months;
        y = mm / 12, m = mm % 12 + 1;
    } else {
        d = (int)((d - 1 + (x->shift % 28 + 28)) % 28) + 1;
    }
    int yv = dt.yd == 2 ? y % 100 : y, yw = dt.yd == 2 ? 2 : 4;
    int pw = dt.pad ? 2 : 1;
    char sep = dt.sep ? dt.sep : '/';
    int rc = 0;
    if (dt.mstyle == 0) {
        switch (dt.order) {
        case PHI_DO_YMD:
            rc = put_num(o, y, 4) || out_put(o, &sep, 1) || put_num(o, m, pw) ||
                 (d ? out_put(o, &sep, 1) || put_num(o, d, pw) : 0);
            break;
        case PHI_DO_DMY:
            rc = put_num(o, d, pw) || out_put(o, &sep, 1) || put_num(o, m, pw) ||
                 out_put(o, &sep, 1) || put_num(o, yv, yw);
            break;
        case PHI_DO_MY: rc = put_num(o, m, pw) || out_put(o, &sep, 1) || put_num(o, y, 4); break;
        case PHI_DO_MD:
            if (m)
                rc = put_num(o, m, pw) || out_put(o, &sep, 1) || put_num(o, d, pw);
            else
                rc = put_num(o, d, 1) || out_str(o, ord_suffix(d));
            break;
        default:
            rc = put_num(o, m, pw) || out_put(o, &sep, 1) || put_num(o, d, pw) ||
                 out_put(o, &sep, 1) || put_num(o, yv, yw);
        }
        return rc ? PHI_ENOMEM : PHI_OK;
    }
    switch (dt.order) {
    case PHI_DO_DM:
    case PHI_DO_DMY:
        rc = put_num(o, d, pw) || (dt.ordinal ? out_str(o, ord_suffix(d)) : 0) ||
             out_put(o, dt.sep == '-' ? "-" : " ", 1) || put_month(o, &dt, m);
        if (!rc && dt.order == PHI_DO_DMY)
            rc = out_put(o, dt.sep == '-' ? "-" : " ", 1) || put_num(o, yv, yw);
        break;
    case PHI_DO_MY:
        rc = put_month(o, &dt, m);
        if (!rc && dt.y) rc = out_str(o, " ") || put_num(o, yv, yw);
        break;
    default:
        rc = put_month(o, &dt, m) || out_str(o, " ") || put_num(o, d, 1) ||
             (dt.ordinal ? out_str(o, ord_suffix(d)) : 0);
        if (!rc && dt.y) rc = out_str(o, dt.comma ? ", " : " ") || put_num(o, yv, yw);
    }
    return rc ? PHI_ENOMEM : PHI_OK;
}

/* ---- other values: keyed per-character replacement ---- */

static int sur_chars(surctx *x, phi_vec *o, const uint8_t *t, size_t a, size_t b, phi_type type)
{
    uint64_t h = mix(phi_hash_word(t + a, b - a) ^ x->seed ^ type);
    char buf[96];
    int n;
    switch (type) {
    case PHI_EMAIL:
        n = snprintf(buf, sizeof buf, "user%06u@example.com", (unsigned)(h % 1000000));
        return out_put(o, buf, (size_t)n);
    case PHI_URL:
        n = snprintf(buf, sizeof buf, "https://example.org/%08x", (unsigned)h);
        return out_put(o, buf, (size_t)n);
    case PHI_IP: {
        bool v6 = memchr(t + a, ':', b - a) != NULL;
        if (v6)
            n = snprintf(buf, sizeof buf, "2001:db8::%x", (unsigned)(h & 0xffff));
        else
            n = snprintf(buf, sizeof buf, "192.0.2.%u", (unsigned)(h % 254 + 1));
        return out_put(o, buf, (size_t)n);
    }
    case PHI_AGE: return out_str(o, "90+");
    default: break;
    }
    /* Keyed on the letters and digits alone, each by its rank among them: one number
     * written "617-555-0142" and "(617) 555-0142" gets one stand-in (in each layout). */
    uint64_t k = PHI_HASH_SEED;
    for (size_t i = a; i < b; i++)
        if (phi_is_alnum(t[i])) k = phi_hash_step(k, t[i]);
    h = mix(phi_hash_finish(k) ^ x->seed ^ type);
    bool first_digit = true;
    size_t rank = 0;
    for (size_t i = a; i < b; i++) {
        uint8_t c = t[i];
        if (phi_is_alnum(c)) h = mix(h + ++rank);
        if (phi_is_digit(c)) {
            c = (uint8_t)('0' + h % 10);
            if (first_digit && type == PHI_SSN) c = '9'; /* 9xx areas are never issued */
            if (first_digit && (type == PHI_PHONE || type == PHI_FAX) && c < '2') c = '5';
            first_digit = false;
        } else if (c >= 'A' && c <= 'Z') {
            c = (uint8_t)('A' + h % 26);
        } else if (c >= 'a' && c <= 'z') {
            c = (uint8_t)('a' + h % 26);
        }
        if (out_put(o, &c, 1)) return PHI_ENOMEM;
    }
    return PHI_OK;
}

/* ---- driver ---- */

static int build(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                 const phi_entity *e, size_t n, const phi_redact_opts *opts)
{
    phi_redact_mode mode = opts ? opts->mode : PHI_REDACT_TAG;
    if (mode != PHI_REDACT_TAG && mode != PHI_REDACT_MASK && mode != PHI_REDACT_SURROGATE)
        return PHI_EINVAL;
    phi_vec *o = &s->out;
    o->n = 0;
    if (phi_vec_reserve(o, len + 64, 1) != PHI_OK) return PHI_ENOMEM;
    surctx x = {d, s, 0, 0};
    if (mode == PHI_REDACT_SURROGATE) {
        x.seed = opts->seed;
        while (x.seed == 0)
            if (getrandom(&x.seed, sizeof x.seed, 0) != sizeof x.seed)
                x.seed = 0x9e3779b97f4a7c15ull;
        uint64_t r = mix(x.seed);
        x.shift = (long)(r % 364) + 1;
        if (r & (1ull << 40)) x.shift = -x.shift;
        /* Each word of a finding takes two entries; words are at least a byte
         * plus a separator, so the bytes of all findings bound the entries. */
        size_t bytes = 16;
        for (size_t i = 0; i < n; i++)
            bytes += e[i].end > e[i].start ? e[i].end - e[i].start : 0;
        if (map_reserve(s, bytes)) return PHI_ENOMEM;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = e[i].start, b = e[i].end;
        if (a < pos || b > len || b < a) return PHI_EINVAL;
        if (out_put(o, text + pos, a - pos)) return PHI_ENOMEM;
        int rc = PHI_OK;
        if (mode == PHI_REDACT_TAG) {
            rc = out_str(o, "[") || out_str(o, phi_type_name(e[i].type)) || out_str(o, "]");
        } else if (mode == PHI_REDACT_MASK) {
            if (phi_vec_reserve(o, o->n + (b - a) + 1, 1)) return PHI_ENOMEM;
            uint8_t *w = (uint8_t *)o->p + o->n;
            for (size_t q = a; q < b; q++)
                w[q - a] = text[q] == '\n' ? '\n' : '*';
            o->n += b - a;
        } else {
            switch (e[i].type) {
            case PHI_NAME: rc = sur_words(&x, o, text, a, b, 0); break;
            case PHI_CITY:
            case PHI_ADDRESS:
            case PHI_FACILITY: rc = sur_words(&x, o, text, a, b, 1); break;
            case PHI_DATE: rc = sur_date(&x, o, text, a, b); break;
            default: rc = sur_chars(&x, o, text, a, b, e[i].type);
            }
        }
        if (rc) return PHI_ENOMEM;
        pos = b;
    }
    if (out_put(o, text + pos, len - pos)) return PHI_ENOMEM;
    ((uint8_t *)o->p)[o->n] = 0;
    return PHI_OK;
}

static int finish_alloc(phi_scratch *s, uint8_t **out, size_t *out_len)
{
    uint8_t *r = malloc(s->out.n + 1);
    if (!r) return PHI_ENOMEM;
    memcpy(r, s->out.p, s->out.n + 1);
    *out = r;
    *out_len = s->out.n;
    return PHI_OK;
}

int phi_redact_entities(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                        const phi_entity *ents, size_t n, const phi_redact_opts *opts,
                        uint8_t **out, size_t *out_len)
{
    if (!d || !s || !out || !out_len || (!text && len) || (n && !ents)) return PHI_EINVAL;
    *out = NULL;
    *out_len = 0;
    if (!text) text = (const uint8_t *)"";
    int rc = build(d, s, text, len, ents, n, opts);
    if (rc) return rc;
    return finish_alloc(s, out, out_len);
}

int phi_redact(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
               const phi_redact_opts *opts, uint8_t **out, size_t *out_len)
{
    const phi_entity *e;
    size_t n;
    if (!out || !out_len) return PHI_EINVAL;
    *out = NULL;
    *out_len = 0;
    int rc = phi_scan_view(d, s, text, len, &e, &n);
    if (rc) return rc;
    rc = build(d, s, text ? text : (const uint8_t *)"", len, e, n, opts);
    if (rc) return rc;
    return finish_alloc(s, out, out_len);
}

int phi_redact_into(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                    const phi_redact_opts *opts, uint8_t *buf, size_t cap, size_t *out_len)
{
    const phi_entity *e;
    size_t n;
    if (!out_len || (cap && !buf)) return PHI_EINVAL;
    *out_len = 0;
    int rc = phi_scan_view(d, s, text, len, &e, &n);
    if (rc) return rc;
    rc = build(d, s, text ? text : (const uint8_t *)"", len, e, n, opts);
    if (rc) return rc;
    *out_len = s->out.n;
    if (s->out.n + 1 > cap) return PHI_ENOSPACE;
    memcpy(buf, s->out.p, s->out.n + 1);
    return PHI_OK;
}
