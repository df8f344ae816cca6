/*
 * phi_ids: identifiers. A plain loop finds id-shaped tokens (letters and
 * digits joined by - / . with at least three digits), faster than any regex
 * and they are frequent; the validator types them by the nearest label
 * before them (MRN, account, member, licence, serial, plate, NPI, DEA,
 * routing) or, unlabelled, keeps only long digit runs and letter+digit codes.
 */
#include <string.h>

#include "phi_internal.h"

static void kill(phi_cand *c)
{
    c->dead = 1;
}

/* Labelled or long identifiers. */
void phi_validate_id(const phi_detector *d, phi_scratch *s, phi_cand *c)
{
    const uint8_t *t = s->text;
    size_t len = s->len;
    /* Decimal numbers and glued values are not ids. */
    if (c->start > 0 &&
        (t[c->start - 1] == '.' || t[c->start - 1] == '/' || t[c->start - 1] == '$'))
        return kill(c);
    while (c->end > c->start && (t[c->end - 1] == '.' || t[c->end - 1] == '-'))
        c->end--;
    /* One pass: digits (and their values, for the checksums), letters, dots and slashes. */
    int nd = 0, nl = 0;
    bool dotted = false;
    uint8_t dg[40];
    size_t ndg = 0;
    for (size_t i = c->start; i < c->end; i++) {
        uint8_t ch = t[i], ct = phi_ctype[ch];
        if (ct & PHI_CT_DIGIT) {
            nd++;
            if (ndg < sizeof dg) dg[ndg++] = (uint8_t)(ch - '0');
        } else if (ct & PHI_CT_ALPHA)
            nl++;
        else if (ch == '.' || ch == '/')
            dotted = true;
    }
    size_t L = c->end - c->start;
    if (nd == 0) return kill(c);
    /* Decimals, dates, fractions (below), decided before the context is read:
     * only a 9-digit number after an SSN label escapes this rule. */
    if (dotted && nl == 0 && nd != 9) return kill(c);
    uint8_t seen[16]; /* classes of the labels before, nearest first */
    size_t nseen;
    uint32_t before = phi_ctx_before_list(d, s, c->start, 40, seen, sizeof seen, &nseen);
    bool unit = phi_next_is_unit(d, t, len, c->end); /* false when no word follows */
    if (before & CB(PHI_C_SSN) && nd == 9) {
        if (phi_ssn_ok(t + c->start, L)) {
            c->type = PHI_SSN, c->score = 0.95f;
            return;
        }
        return kill(c);
    }
    if (dotted && nl == 0) return kill(c); /* decimals, dates, fractions */
    if ((before & CB(PHI_C_NPI)) && ndg == 10) {
        c->type = PHI_ID, c->score = phi_npi_ok(dg, ndg) ? 0.95f : 0.8f;
        return;
    }
    if ((before & CB(PHI_C_ROUTING)) && ndg == 9 && nl == 0) {
        c->type = PHI_ACCOUNT, c->score = phi_aba_ok(dg, ndg) ? 0.95f : 0.7f;
        return;
    }
    if (before & CB(PHI_C_DEA) && L == 9) {
        c->type = PHI_ID, c->score = phi_dea_ok(t + c->start, L) ? 0.95f : 0.75f;
        return;
    }
    /* "0700-1900": a shift, not an id. */
    if (L == 9 && nl == 0 && t[c->start + 4] == '-') {
        int h1 = (t[c->start] - '0') * 10 + (t[c->start + 1] - '0');
        int m1 = (t[c->start + 2] - '0') * 10 + (t[c->start + 3] - '0');
        int h2 = (t[c->start + 5] - '0') * 10 + (t[c->start + 6] - '0');
        int m2 = (t[c->start + 7] - '0') * 10 + (t[c->start + 8] - '0');
        if (h1 <= 24 && h2 <= 24 && m1 < 60 && m2 < 60) return kill(c);
    }
    if ((before & CB(PHI_C_PAGER)) && nl == 0 && nd >= 4 && nd <= 7) {
        c->type = PHI_PHONE, c->score = 0.85f;
        return;
    }
    bool sizable = L >= 4 && nd >= 3 && !unit;
    static const struct {
        uint8_t ctx, type;
        float score;
    } map[] = {{PHI_C_MRN, PHI_MRN, 0.95f},         {PHI_C_ACCOUNT, PHI_ACCOUNT, 0.9f},
               {PHI_C_PLAN, PHI_HEALTH_PLAN, 0.9f}, {PHI_C_LICENSE, PHI_LICENSE, 0.9f},
               {PHI_C_VEHICLE, PHI_VEHICLE, 0.85f}, {PHI_C_DEVICE, PHI_DEVICE, 0.85f},
               {PHI_C_CARD, PHI_CARD, 0.8f},        {PHI_C_ID, PHI_ID, 0.8f}};
    /* Several labels before the value ("License plate"): the nearest decides. */
    uint32_t generic = CB(PHI_C_ID) | CB(PHI_C_PHONE) | CB(PHI_C_FAX) | CB(PHI_C_DATE) |
                       CB(PHI_C_NODATE) | CB(PHI_C_PAGER);
    uint32_t mask = before & ~generic, near = 0;
    if (nseen > sizeof seen) /* more labels than kept: look again */
        near = phi_ctx_nearest(d, s, c->start, 40, mask);
    for (size_t i = 0; i < nseen && i < sizeof seen && !near; i++)
        if (mask & CB(seen[i])) near = CB(seen[i]);
    if (near) before = near | (before & generic);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!(before & CB(map[i].ctx))) continue;
        if (!sizable) break;
        if (map[i].ctx == PHI_C_VEHICLE && nl == 0 && nd < 5) break;
        if (map[i].ctx == PHI_C_DEVICE && L < 5) break;
        if (map[i].ctx == PHI_C_CARD && (ndg < 12 || ndg > 19)) break;
        c->type = map[i].type, c->score = map[i].score;
        return;
    }
    if ((before & CB(PHI_C_ZIP)) && nd == 5 && L == 5) {
        c->type = PHI_ZIP, c->score = 0.9f;
        return;
    }
    if (before & (CB(PHI_C_PHONE) | CB(PHI_C_FAX))) return kill(c);
    /* Unlabelled: long digit runs and letter+digit codes are identifiers. */
    if (unit) return kill(c);
    if (ndg >= 12 && ndg <= 19 && phi_luhn_ok(dg, ndg) && nl == 0) {
        c->type = PHI_CARD, c->score = 0.8f;
        return;
    }
    if (nd >= 7 || (nl >= 1 && nd >= 5 && L >= 7)) {
        /* An SSN shape that failed the SSA rules is not an id either. */
        if (L == 11 && t[c->start + 3] == '-' && t[c->start + 6] == '-') return kill(c);
        c->type = PHI_ID, c->score = 0.55f;
        return;
    }
    kill(c);
}

/* Id-shaped tokens: runs of letters and digits joined by single - / . that
 * hold at least three digits ("4471823", "XJH449210", "PM-448812-A"). A
 * plain loop finds them faster than any regex, and they are frequent.
 *
 * The loop resumes where it stopped (s->ids_pos, with its keyword cursor
 * s->ids_kc): the scan calls it only for the words that hold a digit
 * (phi_ids_word), since a token without digits is never kept. Between two
 * tokens the loop carries no state but its position, so it may also start
 * afresh after any byte that no token and no skipped non-ASCII run can hold
 * (not a letter, digit, byte >= 0x80, '-', '/' or '.'). */
static int ids_scan(const phi_detector *d, phi_scratch *s, size_t i, size_t to)
{
    uint16_t pat = d->idscan_pat;
    const uint8_t *t = s->text;
    const phi_kw *kw = s->kws.p;
    size_t len = s->len, kc = s->ids_kc;
    while (i < to) {
        if (!phi_is_alnum(t[i])) {
            i++;
            continue;
        }
        if (i > 0 && t[i - 1] >= 0x80) { /* glued to a non-ASCII word */
            while (i < len && (phi_is_alnum(t[i]) || t[i] >= 0x80))
                i++;
            continue;
        }
        size_t a = i;
        int nd = 0;
        while (i < len) {
            if (phi_is_digit(t[i]))
                nd++, i++;
            else if (phi_is_alpha(t[i]))
                i++;
            else if ((t[i] == '-' || t[i] == '/' || t[i] == '.') && i + 1 < len &&
                     phi_is_alnum(t[i + 1]) && i > a)
                i++;
            else
                break;
        }
        if (i < len && t[i] >= 0x80) continue;
        /* Short numbers matter only after an id label (checked cheaply here:
         * a keyword that ends within 40 bytes before, found by a moving cursor;
         * every keyword ending at or before a is known by now, since each
         * starts before it ends). */
        bool keep = nd >= 7 || (nd >= 4 && i - a > (size_t)nd);
        if (!keep && nd >= 3) {
            while (kc < s->kws.n && kw[kc].end <= a)
                kc++;
            keep = kc > 0 && kw[kc - 1].end + 40 >= a;
        }
        if (keep && i - a <= 40) {
            phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
            if (!c) return PHI_ENOMEM;
            c->start = (uint32_t)a, c->end = (uint32_t)i, c->pat = pat;
            c->type = PHI_ID, c->dead = 0, c->score = 0.5f;
        }
    }
    s->ids_pos = i, s->ids_kc = kc;
    return PHI_OK;
}

void phi_ids_reset(phi_scratch *s)
{
    s->ids_pos = 0, s->ids_kc = 0;
}

int phi_ids_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e)
{
    const uint8_t *t = s->text;
    if (e <= s->ids_pos) return PHI_OK; /* inside a token already scanned */
    /* Fewer than three digits, and the byte after the word ends every token (not '-',
     * '/', '.' or >= 0x80): the word's token holds no more digits than the word, unless
     * an earlier word of it has some, whose scan took this word in already. No token
     * to keep; and the loop would start afresh after that byte anyway. */
    if (e == s->len || (t[e] < 0x80 && t[e] != '-' && t[e] != '/' && t[e] != '.')) {
        int nd = 0;
        for (size_t q = i; q < e && nd < 3; q++)
            nd += phi_is_digit(t[q]);
        if (nd < 3) return PHI_OK;
    }
    /* Back to a byte after which the loop starts afresh (or to where it stopped). */
    size_t from = i;
    while (from > s->ids_pos && (phi_is_alnum(t[from - 1]) || t[from - 1] >= 0x80 ||
                                 t[from - 1] == '-' || t[from - 1] == '/' || t[from - 1] == '.'))
        from--;
    if (from < s->ids_pos) from = s->ids_pos;
    return ids_scan(d, s, from, e);
}

int phi_ids_run(const phi_detector *d, phi_scratch *s)
{
    phi_ids_reset(s);
    return ids_scan(d, s, 0, s->len);
}
