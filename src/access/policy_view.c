/*
 * policy_view: what a de-identified role sees (45 CFR 164.514(b)(2), Safe
 * Harbor), pseudonyms for key names, and the normalisation and value of blind
 * indexes (see policy.h).
 *
 * The view fails closed: a value of a coarsened kind that cannot be parsed
 * (a "date" that is not a date) is dropped, never passed through, and so is
 * free text when no PHI detector is available or redaction fails.
 *
 * Pseudonyms: "<type>:~" and 16 base32 characters (80 bits) of an HMAC of the
 * key name. 80 bits keeps names short; the chance that two of n keys share a
 * pseudonym is about n^2 / 2^81 (4e-7 for a billion keys), and a pseudonym
 * cannot be reversed or guessed without the key. The pseudonym key is derived
 * from the index key (a purpose separate from the values key), so it is
 * wrapped by the master key and rotates with the index key.
 */
#include "policy_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "phi/phi.h"
#include "store/keyring.h"
#include "store/seal.h"

/* ---- de-identified view ---- */

static int year_now(void)
{
    time_t t = time(NULL);
    struct tm tmv;
    gmtime_r(&t, &tmv);
    return tmv.tm_year + 1900;
}

int policy_view_value(const policy *p, const policy_field *f, const uint8_t *v, size_t n,
                      const policy_view_ctx *ctx, buf *out)
{
    enum policy_view_action act = policy_view_action(f);
    if (act != POLICY_VIEW_TRANSFORM) return (int)act;
    char b[16];
    size_t bl = 0;
    switch (f->kind) {
    case POLICY_KIND_DATE: {
        if (phi_deid_date(v, n, b, sizeof b, &bl) != PHI_OK) return POLICY_VIEW_DROP;
        /* Years that show an age over 89 join one category (164.514(b)(2)(i)(C)). */
        int now = ctx && ctx->now_year ? ctx->now_year : year_now();
        int y = atoi(b);
        if (y <= now - 90)
            buf_printf(out, "<=%04d", now - 90);
        else
            buf_append(out, b, bl);
        return POLICY_VIEW_TRANSFORM;
    }
    case POLICY_KIND_AGE:
        if (phi_deid_age(v, n, b, sizeof b, &bl) != PHI_OK) return POLICY_VIEW_DROP;
        buf_append(out, b, bl);
        return POLICY_VIEW_TRANSFORM;
    case POLICY_KIND_ZIP: {
        phi_zip_policy zp = {p->zip3, p->nzip3};
        static const uint16_t none[1] = {0xffff};
        if (p->nzip3 == 0) { /* an empty list, not the default one */
            zp.restricted = none;
            zp.n = 0;
        }
        if (phi_deid_zip(&zp, v, n, b, sizeof b, &bl) != PHI_OK) return POLICY_VIEW_DROP;
        buf_append(out, b, bl);
        return POLICY_VIEW_TRANSFORM;
    }
    case POLICY_KIND_TEXT: {
        if (!ctx || !ctx->det || !ctx->scratch) return POLICY_VIEW_DROP;
        /* Redaction runs on the caller's thread (the server's event loop): a text longer
         * than the bound is withheld rather than scanned (crafted text can take 1 s a MB). */
        if (ctx->text_max && n > ctx->text_max) return POLICY_VIEW_DROP;
        uint8_t *red = NULL;
        size_t rl = 0;
        phi_redact_opts o = {PHI_REDACT_TAG, 0};
        if (phi_redact(ctx->det, ctx->scratch, v, n, &o, &red, &rl) != PHI_OK) {
            free(red);
            return POLICY_VIEW_DROP;
        }
        buf_append(out, red, rl);
        OPENSSL_cleanse(red, rl);
        free(red);
        return POLICY_VIEW_TRANSFORM;
    }
    default: return POLICY_VIEW_DROP;
    }
}

/* ---- pseudonyms ---- */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int policy_pseudonym_key(struct keyring *k, uint8_t out[32])
{
    static const char label[] = "phidb/pseudonym/v1";
    return seal_blind(k, keyring_current(k, KR_INDEX), (const uint8_t *)label, sizeof label - 1,
                      out);
}

int policy_pseudonym(const policy_type *t, const uint8_t *key, size_t klen, const uint8_t hkey[32],
                     char *out, size_t cap)
{
    size_t need = t->len + 2 + POLICY_PSEUDONYM_CHARS + 1;
    if (cap < need) return -1;
    uint8_t mac[32];
    unsigned int ml = sizeof mac;
    if (!HMAC(EVP_sha256(), hkey, 32, key, klen, mac, &ml)) return -1;
    memcpy(out, t->name, t->len);
    out[t->len] = ':';
    out[t->len + 1] = '~';
    char *o = out + t->len + 2;
    /* 16 characters of 5 bits = the first 10 bytes of the MAC. */
    for (int i = 0; i < POLICY_PSEUDONYM_CHARS; i++) {
        int bit = i * 5, byte = bit / 8, sh = bit % 8;
        unsigned v = ((unsigned)mac[byte] << 8 | mac[byte + 1]) >> (11 - sh);
        o[i] = b32[v & 31];
    }
    o[POLICY_PSEUDONYM_CHARS] = '\0';
    OPENSSL_cleanse(mac, sizeof mac);
    return (int)(need - 1);
}

/* ---- blind index values ---- */

int policy_blind_normalize(enum policy_kind kind, const uint8_t *v, size_t n, buf *out)
{
    size_t start = out->len;
    int digits = kind == POLICY_KIND_SSN || kind == POLICY_KIND_PHONE || kind == POLICY_KIND_FAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = v[i];
        if (digits) {
            if (ch >= '0' && ch <= '9') buf_putc(out, ch);
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f')
            continue;
        if (ch >= 'A' && ch <= 'Z') ch = (uint8_t)(ch - 'A' + 'a');
        buf_putc(out, ch);
    }
    size_t got = out->len - start;
    if ((kind == POLICY_KIND_PHONE || kind == POLICY_KIND_FAX) && got == 11 &&
        out->p[start] == '1') {
        memmove(out->p + start, out->p + start + 1, 10);
        out->p[start + 10] = 0;
        out->len--;
        got--;
    }
    return got ? 0 : -1;
}

int policy_blind_value(struct keyring *k, uint32_t ver, const policy_field *f, const uint8_t *v,
                       size_t n, uint8_t out[32])
{
    buf b = {0};
    buf_append(&b, f->type->name, f->type->len + 1); /* with its NUL */
    buf_append(&b, f->name, f->len + 1);
    size_t head = b.len;
    int rc = -1;
    if (policy_blind_normalize(f->kind, v, n, &b) == 0 && b.len > head)
        rc = seal_blind(k, ver, b.p, b.len, out);
    buf_wipe_free(&b);
    return rc;
}
