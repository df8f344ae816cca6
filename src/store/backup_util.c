/*
 * backup_util: the pieces the backup writer and reader share: the record cipher
 * (AES-256-GCM, nonce = sequence number under a per-file key), the file key's wrapping,
 * Ed25519 signatures, counting key states, the audit hook, and the empty-directory check.
 */
#include "backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store/db.h"
#include "util/secmem.h"

backup_audit_fn *backup_audit_hook;

void backup_audit(const char *action, const char *path, const char *who, int ok, const char *why)
{
    /* AUDIT HOOK: the audit module sets backup_audit_hook at start-up (one line in
     * server.c); every backup, verify, restore and drill already calls this. */
    if (backup_audit_hook) backup_audit_hook(action, path, who ? who : "", ok, why ? why : "");
}

void backup_default_name(long long ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%dT%H%M%S", &tm);
    snprintf(out, len, "phidb-%s%03dZ.phib", when, (int)(ms % 1000));
}

void bk_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

EVP_CIPHER_CTX *bk_record_ctx(const uint8_t *key)
{
    secmem_begin(); /* the expanded backup key: in the secure heap */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, -1) == 1;
    secmem_end();
    if (!ctx) return NULL;
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int bk_record_crypt(EVP_CIPHER_CTX *ctx, int enc, const uint8_t id[16], uint64_t seq, uint8_t kind,
                    const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[16])
{
    uint8_t nonce[12] = {0}, aad[25];
    bk_put64(nonce + 4, seq);
    memcpy(aad, id, 16);
    bk_put64(aad + 16, seq);
    aad[24] = kind;
    int l = 0;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, enc) != 1) return -1;
    if (EVP_CipherUpdate(ctx, NULL, &l, aad, sizeof aad) != 1) return -1;
    size_t off = 0;
    while (off < n) { /* int lengths: feed in pieces */
        int piece = n - off > (1u << 30) ? (1 << 30) : (int)(n - off);
        if (EVP_CipherUpdate(ctx, out + off, &l, in + off, piece) != 1) return -1;
        off += (size_t)piece;
    }
    if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) return -1;
    if (EVP_CipherFinal_ex(ctx, out + n, &l) != 1) return -1;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) return -1;
    return 0;
}

int bk_wrap_key(int enc, const uint8_t *bkey, const uint8_t *hdr, uint8_t *filekey,
                uint8_t wrap[60])
{
    EVP_CIPHER_CTX *ctx = bk_record_ctx(bkey);
    if (!ctx) return -1;
    int l = 0, ok = 1;
    if (enc) ok = RAND_bytes(wrap, 12) == 1; /* a random nonce: one wrap per file */
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, NULL, wrap, enc) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &l, hdr, BK_WRAP_AAD_LEN) == 1;
    if (enc)
        ok = ok && EVP_CipherUpdate(ctx, wrap + 12, &l, filekey, 32) == 1;
    else
        ok = ok && EVP_CipherUpdate(ctx, filekey, &l, wrap + 12, 32) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, wrap + 44) == 1;
    uint8_t scratch[16];
    ok = ok && EVP_CipherFinal_ex(ctx, scratch, &l) == 1;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, wrap + 44) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok && !enc) OPENSSL_cleanse(filekey, 32);
    return ok ? 0 : -1;
}

static const char sig_context[] = "phidb-backup-v1|";

static int sig_msg(const uint8_t hash[32], uint8_t *msg)
{
    size_t n = sizeof sig_context - 1;
    memcpy(msg, sig_context, n);
    memcpy(msg + n, hash, 32);
    return (int)(n + 32);
}

static EVP_PKEY *sign_key(const uint8_t seed[32], uint8_t pub[32])
{
    secmem_begin();
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    secmem_end();
    if (pk && pub) {
        size_t n = 32;
        if (EVP_PKEY_get_raw_public_key(pk, pub, &n) != 1) {
            EVP_PKEY_free(pk);
            return NULL;
        }
    }
    return pk;
}

int bk_sign(const uint8_t seed[32], const uint8_t hash[32], uint8_t sig[64], uint8_t pub[32])
{
    uint8_t msg[64];
    int mlen = sig_msg(hash, msg);
    EVP_PKEY *pk = sign_key(seed, pub);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t slen = 64;
    int ok = pk && md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestSign(md, sig, &slen, msg, (size_t)mlen) == 1 && slen == 64;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

int bk_sign_pub(const uint8_t seed[32], uint8_t pub[32])
{
    EVP_PKEY *pk = sign_key(seed, pub);
    EVP_PKEY_free(pk);
    return pk ? 0 : -1;
}

int bk_verify_sig(const uint8_t seed[32], const uint8_t hash[32], const uint8_t sig[64],
                  uint8_t pub[32])
{
    uint8_t msg[64];
    int mlen = sig_msg(hash, msg);
    EVP_PKEY *pk = sign_key(seed, pub);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = pk && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestVerify(md, sig, 64, msg, (size_t)mlen) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

static int count_op(void *ud, const db_op_view *op)
{
    bk_counter *k = ud;
    switch (op->op) {
    case 4: /* delete: a key's state follows */ k->pending = 1; return 0;
    case 1: /* string */
        if (!k->pending) return 1;
        k->pending = 0;
        k->c->keys++;
        k->c->strings++;
        if (op->expire != DB_NO_EXPIRE) k->c->expires++;
        return 0;
    case 2: /* hash field */
        if (k->pending) {
            k->pending = 0;
            k->c->keys++;
            k->c->hashes++;
        }
        k->c->fields++;
        return 0;
    case 5: /* expiry of the hash just written */
        if (op->expire != DB_NO_EXPIRE) k->c->expires++;
        return 0;
    default: /* field deletes and flushes are not part of a key's state */ return 1;
    }
}

int bk_count_frame(bk_counter *k, const uint8_t *ops, size_t len, char *err, size_t errlen)
{
    int rc = db_frame_foreach(ops, len, count_op, k, err, errlen);
    if (rc > 0) {
        snprintf(err, errlen, "the keyspace stream holds an operation that is not a key's state");
        return -1;
    }
    if (rc != 0) return -1;
    k->c->frames++;
    return 0;
}

int backup_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* ---- schedules ---- */

long long backup_schedule_next(const char *spec, long long now)
{
    int hh, mm, n, end = 0;
    char unit;
    if (!spec || !*spec) return 0;
    /* Whole-string forms only (%n: nothing may follow); at most 6 digits, so no overflow. */
    if (sscanf(spec, "daily %2d:%2d%n", &hh, &mm, &end) == 2 && !spec[end] && hh >= 0 && hh < 24 &&
        mm >= 0 && mm < 60) {
        long long day = now / 86400000LL * 86400000LL;
        long long t = day + (hh * 3600LL + mm * 60LL) * 1000;
        return t > now ? t : t + 86400000LL;
    }
    end = 0;
    if (sscanf(spec, "every %6d%c%n", &n, &unit, &end) == 2 && !spec[end] && n > 0 &&
        (unit == 'h' || unit == 'm' || unit == 's')) {
        long long step = (unit == 'h' ? 3600000LL : unit == 'm' ? 60000LL : 1000LL) * n;
        return now + step;
    }
    return -1;
}
