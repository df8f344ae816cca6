/*
 * phi_validate: checksums and small parsers that turn a regex candidate into
 * a finding (or reject it). Each check is the published rule, written from
 * its definition:
 *   - Luhn (ISO/IEC 7812) for payment cards; NPI is Luhn over "80840" + the
 *     ten digits (CMS NPI check digit rule);
 *   - SSN: SSA never issues area 000, 666 or 900-999, group 00, serial 0000;
 *   - ABA routing: 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) = 0 mod 10;
 *   - DEA: (d1+d3+d5) + 2*(d2+d4+d6) = last digit mod 10;
 *   - VIN: ISO 3779 transliteration and weights, check digit at position 9;
 *   - IBAN: ISO 13616 mod 97 = 1;
 *   - IPv4/IPv6: inet_pton (libc), so no address parser is written here.
 */
#include <arpa/inet.h>
#include <string.h>

#include "phi_internal.h"

bool phi_luhn_ok(const uint8_t *dg, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = dg[n - 1 - i];
        if (i & 1) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return n > 1 && sum % 10 == 0;
}

bool phi_npi_ok(const uint8_t *dg, size_t n)
{
    if (n != 10 || (dg[0] != 1 && dg[0] != 2)) return false;
    uint8_t all[15] = {8, 0, 8, 4, 0};
    memcpy(all + 5, dg, 10);
    return phi_luhn_ok(all, 15);
}

bool phi_aba_ok(const uint8_t *d, size_t n)
{
    if (n != 9) return false;
    unsigned s = 3u * (d[0] + d[3] + d[6]) + 7u * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
    unsigned prefix = d[0] * 10u + d[1];
    /* Federal Reserve routing symbols: 00-12, 21-32, 61-72, 80. */
    bool pfx = prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) ||
               prefix == 80;
    return s % 10 == 0 && pfx && !(d[0] == 0 && d[1] == 0 && d[2] == 0);
}

bool phi_ssn_ok(const uint8_t *p, size_t len)
{
    uint8_t d[9];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (phi_is_digit(p[i])) {
            if (n == 9) return false;
            d[n++] = (uint8_t)(p[i] - '0');
        } else if (p[i] != '-' && p[i] != ' ') {
            return false;
        }
    }
    if (n != 9) return false;
    unsigned area = d[0] * 100u + d[1] * 10u + d[2];
    unsigned group = d[3] * 10u + d[4];
    unsigned serial = d[5] * 1000u + d[6] * 100u + d[7] * 10u + d[8];
    if (area == 0 || area == 666 || area >= 900) return false;
    if (group == 0 || serial == 0) return false;
    /* Numbers the SSA has published as invalid / advertising samples. */
    if (area == 78 && group == 5 && serial == 1120) return false; /* 078-05-1120 */
    if (area == 219 && group == 9 && serial == 9999) return false;
    return true;
}

bool phi_dea_ok(const uint8_t *p, size_t len)
{
    if (len != 9) return false;
    uint8_t a = (uint8_t)(p[0] & ~32), b = (uint8_t)(p[1] & ~32);
    /* First letter: registrant type (A, B, F, G, M, P, R, X ...); second: a
     * letter (surname initial) or 9 for business names. */
    if (!(a >= 'A' && a <= 'Z')) return false;
    if (!((b >= 'A' && b <= 'Z') || p[1] == '9')) return false;
    for (size_t i = 2; i < 9; i++)
        if (!phi_is_digit(p[i])) return false;
    unsigned d[7];
    for (int i = 0; i < 7; i++)
        d[i] = p[2 + i] - '0';
    unsigned s = (d[0] + d[2] + d[4]) + 2u * (d[1] + d[3] + d[5]);
    return s % 10 == d[6];
}

static int vin_value(uint8_t c)
{
    if (phi_is_digit(c)) return c - '0';
    c = (uint8_t)(c & ~32);
    static const char *letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    static const int vals[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *q = strchr(letters, c);
    if (!q || c == 0) return -1; /* I, O, Q are not used */
    return vals[q - letters];
}

bool phi_vin_ok(const uint8_t *p, size_t len)
{
    static const int w[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
    if (len != 17) return false;
    int sum = 0, digits = 0, letters = 0;
    for (int i = 0; i < 17; i++) {
        int v = vin_value(p[i]);
        if (v < 0) return false;
        if (phi_is_digit(p[i]))
            digits++;
        else
            letters++;
        sum += v * w[i];
    }
    if (digits < 4 || letters < 2) return false; /* not a VIN-shaped code */
    int r = sum % 11;
    uint8_t check = (uint8_t)(p[8] & ~32);
    return r == 10 ? check == 'X' : p[8] == '0' + r;
}

bool phi_iban_ok(const uint8_t *p, size_t len)
{
    if (len < 15 || len > 34) return false;
    if (!phi_is_alpha(p[0]) || !phi_is_alpha(p[1]) || !phi_is_digit(p[2]) || !phi_is_digit(p[3]))
        return false;
    unsigned rem = 0;
    for (size_t k = 0; k < len; k++) {
        uint8_t c = p[(k + 4) % len];
        if (phi_is_digit(c)) {
            rem = (rem * 10 + (c - '0')) % 97;
        } else if (phi_is_alpha(c)) {
            unsigned v = (unsigned)(phi_lower(c) - 'a' + 10);
            rem = (rem * 100 + v) % 97;
        } else {
            return false;
        }
    }
    return rem == 1;
}

bool phi_ipv4_ok(const uint8_t *p, size_t len)
{
    char buf[16];
    struct in_addr a;
    if (len < 7 || len > 15) return false;
    memcpy(buf, p, len);
    buf[len] = 0;
    /* Reject leading zeros ("01.02.03.04" is a date or a version, not an address). */
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] == '0' && (i == 0 || buf[i - 1] == '.') && phi_is_digit((uint8_t)buf[i + 1]))
            return false;
    return inet_pton(AF_INET, buf, &a) == 1;
}

bool phi_ipv6_ok(const uint8_t *p, size_t len)
{
    char buf[64];
    struct in6_addr a;
    if (len < 3 || len > 45) return false;
    memcpy(buf, p, len);
    buf[len] = 0;
    int colons = 0;
    for (size_t i = 0; i < len; i++)
        colons += buf[i] == ':';
    if (colons < 2) return false;
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* ---- dates ---- */

static const char *const month_full[12] = {"january",   "february", "march",    "april",
                                           "may",       "june",     "july",     "august",
                                           "september", "october",  "november", "december"};
/* Their lengths (test_phi_validate checks every name and every prefix). */
static const uint8_t month_len[12] = {7, 8, 5, 5, 3, 4, 4, 6, 9, 7, 8, 8};

int phi_month_name(const uint8_t *p, size_t len, size_t *used)
{
    size_t n = 0;
    while (n < len && phi_is_alpha(p[n]))
        n++;
    if (n < 3) return 0;
    for (int m = 0; m < 12; m++) {
        size_t fl = month_len[m];
        bool ok = true;
        if (n > fl) continue;
        for (size_t i = 0; i < n && ok; i++)
            ok = phi_lower(p[i]) == month_full[m][i];
        if (!ok) continue;
        /* Full name, or a 3-letter abbreviation, or "Sept". */
        if (n == fl || n == 3 || (m == 8 && n == 4)) {
            if (used) *used = n;
            return m + 1;
        }
    }
    return 0;
}

/* Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms). */
long phi_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void phi_civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

/* One element of a date as written. */
typedef struct part {
    int kind;      /* 1 number, 2 month name */
    int v;         /* value */
    int nd;        /* digits (numbers), letters (names) */
    int ord;       /* st/nd/rd/th followed */
    int apos;      /* '21 */
    int upper;     /* name in capitals */
    char sepafter; /* separator after it */
} part;

int phi_date_parse(const uint8_t *p, size_t len, phi_date *o)
{
    part pt[3];
    int np = 0;
    size_t i = 0;
    memset(o, 0, sizeof *o);
    while (i < len && np < 3) {
        uint8_t c = p[i];
        if (phi_is_digit(c)) {
            int v = 0, nd = 0;
            while (i < len && phi_is_digit(p[i]) && nd < 5)
                v = v * 10 + (p[i++] - '0'), nd++;
            if (i < len && phi_is_digit(p[i])) return PHI_EPARSE;
            part *q = &pt[np++];
            memset(q, 0, sizeof *q);
            q->kind = 1, q->v = v, q->nd = nd;
            q->apos = i > (size_t)nd && p[i - (size_t)nd - 1] == '\'';
            if (i + 1 < len && phi_is_alpha(p[i]) && phi_is_alpha(p[i + 1])) {
                uint8_t a = phi_lower(p[i]), b = phi_lower(p[i + 1]);
                if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
                    (a == 't' && b == 'h'))
                    q->ord = 1, i += 2;
            }
            if (i < len && p[i] == ':') break; /* a time follows: the date is over */
            q->sepafter = (char)(i < len ? p[i] : 0);
        } else if (phi_is_alpha(c)) {
            size_t used = 0;
            int m = phi_month_name(p + i, len - i, &used);
            size_t n = 0;
            while (i + n < len && phi_is_alpha(p[i + n]))
                n++;
            if (m) {
                part *q = &pt[np++];
                memset(q, 0, sizeof *q);
                q->kind = 2, q->v = m, q->nd = (int)used;
                q->upper =
                    c >= 'A' && c <= 'Z' && i + 1 < len && p[i + 1] >= 'A' && p[i + 1] <= 'Z';
                q->sepafter = (char)(i + n < len ? p[i + n] : 0);
            } else if (n == 1 && (c == 'T' || c == 't') && np == 3) {
                break;
            }
            i += n;
        } else {
            i++;
        }
    }
    if (np == 0) return PHI_EPARSE;
    int y = 0, m = 0, d = 0;
    o->sep = '/';
    for (int k = 0; k < np; k++)
        if (pt[k].kind == 2) {
            o->mstyle = pt[k].nd > 3 && !(pt[k].v == 9 && pt[k].nd == 4) ? 2 : 1;
            o->upper = (uint8_t)pt[k].upper;
        }
    if (np >= 1) {
        o->ordinal = 0;
        for (int k = 0; k < np; k++)
            if (pt[k].ord) o->ordinal = 1;
    }
#define YEAR(q) ((q).nd == 4 ? (q).v : ((q).v < 50 ? 2000 + (q).v : 1900 + (q).v))
    if (np == 3 && pt[0].kind == 1 && pt[1].kind == 1 && pt[2].kind == 1) {
        o->sep = pt[0].sepafter;
        if (pt[0].nd == 4) {
            y = pt[0].v, m = pt[1].v, d = pt[2].v, o->order = PHI_DO_YMD, o->yd = 4;
        } else if (pt[0].v > 12 && pt[1].v <= 12) {
            d = pt[0].v, m = pt[1].v, y = YEAR(pt[2]), o->order = PHI_DO_DMY,
            o->yd = (uint8_t)pt[2].nd;
        } else {
            m = pt[0].v, d = pt[1].v, y = YEAR(pt[2]), o->order = PHI_DO_MDY,
            o->yd = (uint8_t)pt[2].nd;
        }
        o->pad = (pt[0].nd == 2 && pt[0].v < 10) || (pt[1].nd == 2 && pt[1].v < 10);
        if (o->order == PHI_DO_YMD)
            o->pad = (pt[1].nd == 2 && pt[1].v < 10) || (pt[2].nd == 2 && pt[2].v < 10);
        if ((o->order != PHI_DO_YMD && pt[2].nd != 2 && pt[2].nd != 4)) return PHI_EPARSE;
    } else if (np >= 2 && pt[0].kind == 1 && pt[1].kind == 1) {
        o->sep = pt[0].sepafter;
        if (pt[1].nd == 4) {
            m = pt[0].v, y = pt[1].v, o->order = PHI_DO_MY, o->yd = 4;
        } else if (pt[0].nd == 4) {
            y = pt[0].v, m = pt[1].v, o->order = PHI_DO_YMD, o->yd = 4;
        } else {
            m = pt[0].v, d = pt[1].v, o->order = PHI_DO_MD;
        }
        o->pad = pt[0].nd == 2 && pt[0].v < 10;
    } else if (pt[0].kind == 2) {
        m = pt[0].v;
        if (np >= 2 && pt[1].kind == 1) {
            if (pt[1].nd == 4 || pt[1].apos) {
                y = YEAR(pt[1]), o->order = PHI_DO_MY, o->yd = (uint8_t)pt[1].nd;
            } else {
                d = pt[1].v, o->order = PHI_DO_MD;
                if (np == 3 && pt[2].kind == 1) {
                    y = YEAR(pt[2]), o->order = PHI_DO_MDY, o->yd = (uint8_t)pt[2].nd;
                    o->comma = pt[1].sepafter == ',';
                }
            }
        } else {
            o->order = PHI_DO_MY; /* month alone */
        }
    } else if (pt[0].kind == 1 && np >= 2 && pt[1].kind == 2) {
        d = pt[0].v, m = pt[1].v, o->order = PHI_DO_DM;
        o->sep = pt[0].sepafter == '-' ? '-' : ' ';
        if (np == 3 && pt[2].kind == 1)
            y = YEAR(pt[2]), o->order = PHI_DO_DMY, o->yd = (uint8_t)pt[2].nd;
    } else if (pt[0].kind == 1 && np == 1) {
        if (pt[0].nd == 4)
            y = pt[0].v, o->yd = 4;
        else if (pt[0].ord)
            d = pt[0].v;
        else
            return PHI_EPARSE;
        o->order = PHI_DO_MD;
    } else {
        return PHI_EPARSE;
    }
#undef YEAR
    if (m < 0 || m > 12 || d < 0 || d > 31) return PHI_EPARSE;
    if (y && (y < 1000 || y > 2999)) return PHI_EPARSE;
    if (m && d) {
        static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (d > mdays[m - 1]) return PHI_EPARSE;
    }
    if (o->order != PHI_DO_MD && o->order != PHI_DO_MY && !m) return PHI_EPARSE;
    if (!m && !d && !y) return PHI_EPARSE;
    o->y = y, o->m = m, o->d = d;
    return PHI_OK;
}
