/*
 * phi_deid: Safe Harbor de-identification of structured field values
 * (45 CFR 164.514(b)(2)), for the server's de-identified view.
 *
 *   date  -> its year ("2021"); only the year of a date may be kept.
 *   age   -> the number when 0..89, "90+" from 90 on (ages over 89 are
 *            aggregated into one category).
 *   zip   -> the first three digits, or "000" when that three-digit area has
 *            20,000 people or fewer (the caller may pass the current Census
 *            list; the default is the 17 prefixes HHS lists for 2000 data).
 *   text  -> redacted with type tags.
 *   any other declared kind (name, ssn, phone, ...) -> its "[TYPE]" tag.
 *
 * Unparseable input is never passed through: the strict functions return
 * PHI_EPARSE and phi_deid_field withholds the value behind its tag.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "phi_internal.h"

static const uint16_t default_zip3[] = {36,  59,  63,  102, 203, 556, 692, 790, 821,
                                        823, 830, 831, 878, 879, 884, 890, 893};

static int put(char *out, size_t cap, size_t *out_len, const char *s)
{
    size_t n = strlen(s);
    if (out_len) *out_len = n;
    if (!out || cap < n + 1) return PHI_ENOSPACE;
    memcpy(out, s, n + 1);
    return PHI_OK;
}

/* Trim spaces at both ends. */
static void trim(const uint8_t **p, size_t *len)
{
    while (*len && ((*p)[0] == ' ' || (*p)[0] == '\t' || (*p)[0] == '\n' || (*p)[0] == '\r'))
        (*p)++, (*len)--;
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t' || (*p)[*len - 1] == '\n' ||
                    (*p)[*len - 1] == '\r'))
        (*len)--;
}

int phi_deid_date(const uint8_t *p, size_t len, char *out, size_t cap, size_t *out_len)
{
    if ((!p && len) || !out_len) return PHI_EINVAL;
    *out_len = 0;
    trim(&p, &len);
    if (len == 0 || len > 64) return PHI_EPARSE;
    phi_date dt;
    int y = 0;
    if (phi_date_parse(p, len, &dt) == PHI_OK && dt.y) {
        y = dt.y;
        if (dt.yd == 2) {
            /* "03/14/35": the latest year it can be that is not in the future (1935, not
             * 2035), so a birth year over 89 years ago is seen as one. */
            time_t t = time(NULL);
            struct tm tmv;
            gmtime_r(&t, &tmv);
            y = 2000 + y % 100;
            if (y > tmv.tm_year + 1900) y -= 100;
        }
    } else {
        /* A plain year, or a date with a time (ISO 8601 "2021-07-22T10:00Z"). */
        if (len >= 4 && phi_is_digit(p[0]) && phi_is_digit(p[1]) && phi_is_digit(p[2]) &&
            phi_is_digit(p[3]) && (len == 4 || !phi_is_digit(p[4])))
            y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
        if (len != 4 && y) {
            /* Only "YYYY" alone or "YYYY-MM-DD..." shapes. */
            if (phi_date_parse(p, len < 10 ? len : 10, &dt) != PHI_OK) y = 0;
        }
    }
    if (y < 1000 || y > 2999) return PHI_EPARSE;
    char b[16];
    snprintf(b, sizeof b, "%04d", y);
    return put(out, cap, out_len, b);
}

int phi_deid_age(const uint8_t *p, size_t len, char *out, size_t cap, size_t *out_len)
{
    if ((!p && len) || !out_len) return PHI_EINVAL;
    *out_len = 0;
    trim(&p, &len);
    size_t i = 0;
    int v = 0;
    while (i < len && phi_is_digit(p[i]) && i < 4)
        v = v * 10 + (p[i++] - '0');
    if (i == 0 || (i < len && phi_is_digit(p[i]))) return PHI_EPARSE;
    /* Allowed suffixes: spaces then y, yo, y/o, yr(s), year(s) [old]. */
    size_t j = i;
    while (j < len && p[j] == ' ')
        j++;
    if (j < len) {
        static const char *const suf[] = {"y",         "yo",       "y/o",     "y.o.",
                                          "yr",        "yrs",      "year",    "years",
                                          "years old", "year old", "yrs old", NULL};
        bool ok = false;
        for (const char *const *s = suf; *s && !ok; s++)
            ok = strlen(*s) == len - j && strncasecmp(*s, (const char *)p + j, len - j) == 0;
        if (!ok) return PHI_EPARSE;
    }
    if (v > 150) return PHI_EPARSE;
    char b[16];
    if (v >= 90) return put(out, cap, out_len, "90+");
    snprintf(b, sizeof b, "%d", v);
    return put(out, cap, out_len, b);
}

int phi_deid_zip(const phi_zip_policy *pol, const uint8_t *p, size_t len, char *out, size_t cap,
                 size_t *out_len)
{
    if ((!p && len) || !out_len) return PHI_EINVAL;
    *out_len = 0;
    trim(&p, &len);
    bool ok = len == 5 || (len == 10 && p[5] == '-') || (len == 9);
    for (size_t i = 0; i < len && ok; i++)
        ok = phi_is_digit(p[i]) || (i == 5 && len == 10);
    if (!ok) return PHI_EPARSE;
    unsigned z3 = (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
    const uint16_t *r = pol && pol->restricted ? pol->restricted : default_zip3;
    size_t n = pol && pol->restricted ? pol->n : sizeof default_zip3 / sizeof default_zip3[0];
    for (size_t i = 0; i < n; i++)
        if (r[i] == z3) return put(out, cap, out_len, "000");
    char b[4] = {(char)p[0], (char)p[1], (char)p[2], 0};
    return put(out, cap, out_len, b);
}

static int dup_out(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    uint8_t *r = malloc(n + 1);
    if (!r) return PHI_ENOMEM;
    memcpy(r, s, n);
    r[n] = 0;
    *out = r;
    *out_len = n;
    return PHI_OK;
}

int phi_deid_field(const phi_detector *d, phi_scratch *s, const char *kind, const uint8_t *p,
                   size_t len, const phi_zip_policy *pol, uint8_t **out, size_t *out_len)
{
    if (!kind || !out || !out_len || (!p && len)) return PHI_EINVAL;
    *out = NULL;
    *out_len = 0;
    char b[16];
    size_t n = 0;
    int rc;
    if (strcasecmp(kind, "text") == 0) {
        phi_redact_opts o = {PHI_REDACT_TAG, 0};
        return phi_redact(d, s, p, len, &o, out, out_len);
    }
    if (strcasecmp(kind, "date") == 0) {
        rc = phi_deid_date(p, len, b, sizeof b, &n);
        return rc == PHI_OK ? dup_out(b, n, out, out_len) : dup_out("[DATE]", 6, out, out_len);
    }
    if (strcasecmp(kind, "age") == 0) {
        rc = phi_deid_age(p, len, b, sizeof b, &n);
        return rc == PHI_OK ? dup_out(b, n, out, out_len) : dup_out("[AGE]", 5, out, out_len);
    }
    if (strcasecmp(kind, "zip") == 0) {
        rc = phi_deid_zip(pol, p, len, b, sizeof b, &n);
        return rc == PHI_OK ? dup_out(b, n, out, out_len) : dup_out("[ZIP]", 5, out, out_len);
    }
    int t = phi_type_from_name(kind, strlen(kind));
    if (t < 0) {
        /* Schema spellings that are not type names. */
        if (strcasecmp(kind, "address") == 0 || strcasecmp(kind, "street") == 0)
            t = PHI_ADDRESS;
        else if (strcasecmp(kind, "plan") == 0)
            t = PHI_HEALTH_PLAN;
        else if (strcasecmp(kind, "licence") == 0)
            t = PHI_LICENSE;
        else
            return PHI_EINVAL;
    }
    snprintf(b, sizeof b, "[%s]", phi_type_name((phi_type)t));
    return dup_out(b, strlen(b), out, out_len);
}
