/* Unit tests for policy_totp: RFC 4226 and RFC 6238 (SHA-1) vectors, a cross-check
 * with oathtool, the window and replay protection, base32, the otpauth URI, sealing of
 * the secret, and the whole PHI.MFA check with lockout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/acl.h"
#include "access/policy_totp.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"

#define K(s) (const uint8_t *)(s), strlen(s)
static const char *RFC_SECRET = "12345678901234567890";

TEST(rfc4226_hotp)
{
    static const uint32_t want[] = {755224, 287082, 359152, 969429, 338314,
                                    254676, 287922, 162583, 399871, 520489};
    for (uint64_t c = 0; c < 10; c++) {
        uint32_t code = 0;
        CHECK_INT(policy_hotp(K(RFC_SECRET), c, 6, &code), 0);
        CHECK_INT(code, want[c]);
    }
    uint32_t code;
    CHECK_INT(policy_hotp(K(RFC_SECRET), 0, 5, &code), -1);
    CHECK_INT(policy_hotp(K(RFC_SECRET), 0, 9, &code), -1);
    CHECK_INT(policy_hotp((const uint8_t *)"", 0, 0, 6, &code), -1);
}

TEST(rfc6238_vectors)
{
    /* Appendix B, SHA-1 column (8 digits, T0 = 0, X = 30). */
    static const struct {
        long long t;
        uint32_t code;
    } v[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
             {1234567890, 89005924}, {2000000000, 69279037}, {20000000000LL, 65353130}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t code = 0;
        CHECK_INT(policy_hotp(K(RFC_SECRET), (uint64_t)(v[i].t / 30), 8, &code), 0);
        CHECK_INT(code, v[i].code);
    }
}

TEST(oathtool_cross_check)
{
    if (system("command -v oathtool >/dev/null 2>&1") != 0) {
        printf("  oathtool not installed: cross-check skipped\n");
        return;
    }
    uint8_t secret[POLICY_TOTP_SECRET_LEN];
    char b32[64];
    for (int round = 0; round < 5; round++) {
        CHECK_INT(policy_totp_secret_new(secret, sizeof secret), 0);
        CHECK_INT(policy_base32_encode(secret, sizeof secret, b32, sizeof b32), 32);
        long long t = 1600000000LL + round * 7777777LL;
        char cmd[256], line[64] = "";
        snprintf(cmd, sizeof cmd, "oathtool --totp -b %s -N @%lld", b32, t);
        FILE *f = popen(cmd, "r");
        CHECK(f != NULL);
        if (!f) return;
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        pclose(f);
        uint32_t code;
        CHECK_INT(policy_hotp(secret, sizeof secret, (uint64_t)(t / 30), 6, &code), 0);
        char mine[16];
        snprintf(mine, sizeof mine, "%06u\n", code);
        CHECK_STR(line, mine);
        /* And verify accepts oathtool's code. */
        long long last = 0;
        line[6] = '\0';
        CHECK_INT(policy_totp_verify(secret, sizeof secret, K(line), t, &last), POLICY_TOTP_OK);
        CHECK_INT(last, t / 30);
    }
}

static void code_at(const uint8_t *key, size_t n, long long t, char out[8])
{
    uint32_t c = 0;
    policy_hotp(key, n, (uint64_t)(t / 30), 6, &c);
    snprintf(out, 8, "%06u", c);
}

/* A six-digit code that matches no step of the window around t. */
static void wrong_code(const uint8_t *key, size_t n, long long t, char out[8])
{
    char w[3][8];
    for (int i = 0; i < 3; i++)
        code_at(key, n, t + (i - 1) * 30, w[i]);
    for (int d = 0; d < 10; d++) {
        for (int i = 0; i < 6; i++)
            out[i] = (char)('0' + d);
        out[6] = '\0';
        if (strcmp(out, w[0]) && strcmp(out, w[1]) && strcmp(out, w[2])) return;
    }
}

TEST(window_and_replay)
{
    const uint8_t *key = (const uint8_t *)RFC_SECRET;
    size_t kl = strlen(RFC_SECRET);
    long long t = 1700000000LL; /* step 56666666, 20 s into it */
    char now[8], prev[8], next[8], old[8], late[8];
    code_at(key, kl, t, now);
    code_at(key, kl, t - 30, prev);
    code_at(key, kl, t + 30, next);
    code_at(key, kl, t - 60, old);
    code_at(key, kl, t + 60, late);
    long long last = 0;
    CHECK_INT(policy_totp_verify(key, kl, K(old), t, &last), POLICY_TOTP_BAD);
    CHECK_INT(policy_totp_verify(key, kl, K(late), t, &last), POLICY_TOTP_BAD);
    CHECK_INT(last, 0);
    CHECK_INT(policy_totp_verify(key, kl, K(prev), t, &last), POLICY_TOTP_OK);
    CHECK_INT(last, t / 30 - 1);
    CHECK_INT(policy_totp_verify(key, kl, K(prev), t, &last), POLICY_TOTP_REPLAY);
    CHECK_INT(policy_totp_verify(key, kl, K(now), t, &last), POLICY_TOTP_OK);
    CHECK_INT(policy_totp_verify(key, kl, K(now), t, &last), POLICY_TOTP_REPLAY);
    CHECK_INT(policy_totp_verify(key, kl, K(now), t + 30, &last), POLICY_TOTP_REPLAY);
    /* After the current step was used, the previous step's code is a replay too. */
    CHECK_INT(policy_totp_verify(key, kl, K(prev), t, &last), POLICY_TOTP_REPLAY);
    CHECK_INT(policy_totp_verify(key, kl, K(next), t, &last), POLICY_TOTP_OK);
    CHECK_INT(last, t / 30 + 1);
    /* Shapes: spaces ignored; anything but six digits is bad. */
    long long fresh = 0;
    char spaced[16];
    snprintf(spaced, sizeof spaced, "%.3s %.3s", now, now + 3);
    CHECK_INT(policy_totp_verify(key, kl, K(spaced), t, &fresh), POLICY_TOTP_OK);
    fresh = 0;
    CHECK_INT(policy_totp_verify(key, kl, K("12345"), t, &fresh), POLICY_TOTP_BAD);
    CHECK_INT(policy_totp_verify(key, kl, K("1234567"), t, &fresh), POLICY_TOTP_BAD);
    CHECK_INT(policy_totp_verify(key, kl, K("12345a"), t, &fresh), POLICY_TOTP_BAD);
    CHECK_INT(policy_totp_verify(key, kl, K(""), t, &fresh), POLICY_TOTP_BAD);
    CHECK_INT(policy_totp_verify(key, kl, K(now), -5, &fresh), POLICY_TOTP_BAD);
}

TEST(base32_and_uri)
{
    char out[64];
    CHECK_INT(policy_base32_encode(K(RFC_SECRET), out, sizeof out), 32);
    CHECK_STR(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* RFC 4648 section 10 vectors (without padding). */
    CHECK_INT(policy_base32_encode(K("f"), out, sizeof out), 2);
    CHECK_STR(out, "MY");
    CHECK_INT(policy_base32_encode(K("fooba"), out, sizeof out), 8);
    CHECK_STR(out, "MZXW6YTB");
    CHECK_INT(policy_base32_encode(K("foobar"), out, sizeof out), 10);
    CHECK_STR(out, "MZXW6YTBOI");
    CHECK_INT(policy_base32_encode(K("foobar"), out, 10), 0); /* no room for the NUL */
    uint8_t dec[64];
    size_t n;
    CHECK_INT(policy_base32_decode("mzxw 6ytb-oi======", strlen("mzxw 6ytb-oi======"), dec,
                                   sizeof dec, &n),
              0);
    CHECK_MEM(dec, n, "foobar");
    CHECK_INT(policy_base32_decode("MZXW1", strlen("MZXW1"), dec, sizeof dec, &n), -1);
    CHECK_INT(policy_base32_decode("MZXW6YTBOI", strlen("MZXW6YTBOI"), dec, 3, &n), -1);
    buf b = {0};
    policy_totp_uri("phidb clinic", "dr.jones@clinic", (const uint8_t *)RFC_SECRET, 20, &b);
    CHECK_STR(buf_cstr(&b), "otpauth://totp/phidb%20clinic:dr.jones%40clinic?secret="
                            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=phidb%20clinic"
                            "&algorithm=SHA1&digits=6&period=30");
    buf_wipe_free(&b);
}

static const acl_cmd catalog[] = {{"get", -1, ACL_CAT(READ), 0}};

TEST(sealed_secret_and_mfa_check)
{
    char dir[] = "/tmp/phidb-totp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char kf[128], krp[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", dir);
    FILE *f = fopen(kf, "w");
    fprintf(f, "%s\n", unit_hex_key(0));
    fclose(f);
    chmod(kf, 0600);
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    keyring *kr = keyring_open(krp, &src, 1, err, sizeof err);
    CHECK(kr != NULL);
    if (!kr) return;
    sealer *s = seal_new(kr, KR_VALUES);
    uint8_t secret[POLICY_TOTP_SECRET_LEN], back[POLICY_TOTP_SECRET_MAX];
    CHECK_INT(policy_totp_secret_new(secret, sizeof secret), 0);
    buf hex = {0};
    CHECK_INT(policy_totp_seal(s, "drjones", secret, sizeof secret, &hex), 0);
    CHECK_INT(hex.len, 2 * (sizeof secret + SEAL_OVERHEAD));
    size_t n = 0;
    CHECK_INT(policy_totp_unseal(s, "drjones", buf_cstr(&hex), back, sizeof back, &n), 0);
    CHECK_INT(n, sizeof secret);
    CHECK(memcmp(back, secret, n) == 0);
    /* Bound to the user: another user's name does not open it; nor does an altered byte. */
    CHECK_INT(policy_totp_unseal(s, "mallory", buf_cstr(&hex), back, sizeof back, &n), -1);
    char *alt = strdup(buf_cstr(&hex));
    alt[40] = alt[40] == '0' ? '1' : '0';
    CHECK_INT(policy_totp_unseal(s, "drjones", alt, back, sizeof back, &n), -1);
    free(alt);
    CHECK_INT(policy_totp_unseal(s, "drjones", "abc", back, sizeof back, &n), -1);
    CHECK_INT(policy_totp_unseal(s, "drjones", NULL, back, sizeof back, &n), -1);
    CHECK_INT(policy_totp_unseal(s, "drjones", buf_cstr(&hex), back, 4, &n), -1);

    /* The whole check through the ACL user. */
    acl_opts o;
    acl_opts_default(&o);
    o.argon2_memory_kib = 64;
    o.argon2_time = 1;
    acl *a = acl_new(&o, catalog, 1);
    char rule[512];
    snprintf(rule, sizeof rule, "totp-secret=%s", buf_cstr(&hex));
    const uint8_t *rules[] = {(const uint8_t *)"on", (const uint8_t *)">correct-horse-battery",
                              (const uint8_t *)"mfa=totp", (const uint8_t *)rule};
    size_t lens[] = {2, 22, 8, strlen(rule)};
    acl_op *op;
    CHECK_INT(acl_op_parse(a, K("drjones"), rules, lens, 4, &op, err, sizeof err), 0);
    acl_op_work(op);
    CHECK_INT(acl_op_apply(a, op, err, sizeof err), 0);
    acl_op_free(op);
    acl_user *u = acl_find(a, K("drjones"));
    long long now = 1700000000000LL;
    char code[8];
    code_at(secret, sizeof secret, now / 1000, code);
    int locked = 0;
    CHECK_INT(policy_mfa_verify(a, u, s, K(code), now, 0, &locked), POLICY_TOTP_OK);
    CHECK_INT(policy_mfa_verify(a, u, s, K(code), now, 0, &locked), POLICY_TOTP_REPLAY);
    CHECK(!locked);
    CHECK(!acl_user_locked(u, now));
    /* The replay counted; two wrong codes make three consecutive failures: locked. */
    char wrong[8];
    wrong_code(secret, sizeof secret, now / 1000 + 30, wrong);
    CHECK_INT(policy_mfa_verify(a, u, s, K(wrong), now + 30000, 0, &locked), POLICY_TOTP_BAD);
    CHECK(!locked);
    CHECK_INT(policy_mfa_verify(a, u, s, K(wrong), now + 30000, 0, &locked), POLICY_TOTP_BAD);
    CHECK(locked);
    CHECK(acl_user_locked(u, now + 30000));
    code_at(secret, sizeof secret, now / 1000 + 60, code);
    CHECK_INT(policy_mfa_verify(a, u, s, K(code), now + 60000, 0, &locked), POLICY_TOTP_LOCKED);
    CHECK(acl_unlock(a, K("drjones")));
    /* The floor from before a restart: a code of a step up to it counts as used. */
    long long step60 = (now + 60000) / 1000 / POLICY_TOTP_STEP;
    CHECK_INT(policy_mfa_verify(a, u, s, K(code), now + 60000, step60, &locked),
              POLICY_TOTP_REPLAY);
    CHECK(acl_unlock(a, K("drjones")));
    CHECK_INT(policy_mfa_verify(a, u, s, K(code), now + 60000, step60 - 1, &locked),
              POLICY_TOTP_OK);
    /* mfa=totp without a secret: not enrolled, and not counted as a failure. */
    const uint8_t *r2[] = {(const uint8_t *)"totp-secret="};
    size_t l2[] = {12};
    CHECK_INT(acl_op_parse(a, K("drjones"), r2, l2, 1, &op, err, sizeof err), 0);
    CHECK_INT(acl_op_apply(a, op, err, sizeof err), 0);
    acl_op_free(op);
    for (int i = 0; i < 5; i++)
        CHECK_INT(policy_mfa_verify(a, u, s, K(code), now + 90000, 0, &locked),
                  POLICY_TOTP_NOT_ENROLLED);
    CHECK(!acl_user_locked(u, now + 90000));
    acl_free(a);
    buf_wipe_free(&hex);
    seal_free(s);
    keyring_close(kr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

/* The floor file: absent (0), saved and loaded back, unreadable (the current step plus the
 * window). */
TEST(replay_floor_file)
{
    char dir[] = "/tmp/phidb-totp-floor-XXXXXX", path[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/totp.floor", dir);
    long long f = -5;
    CHECK_INT(policy_totp_floor_load(path, 1700000000, &f), 0);
    CHECK_INT(f, 0);
    CHECK_INT(policy_totp_floor_save(path, 56666667), 0);
    CHECK_INT(policy_totp_floor_load(path, 1700000000, &f), 0);
    CHECK_INT(f, 56666667);
    FILE *w = fopen(path, "w");
    CHECK(w != NULL);
    if (w) fputs("12x\n", w), fclose(w);
    CHECK_INT(policy_totp_floor_load(path, 1700000000, &f), -1);
    CHECK_INT(f, 1700000000 / POLICY_TOTP_STEP + POLICY_TOTP_WINDOW);
    unlink(path);
    rmdir(dir);
}

UNIT_MAIN(T(rfc4226_hotp), T(rfc6238_vectors), T(oathtool_cross_check), T(window_and_replay),
          T(base32_and_uri), T(sealed_secret_and_mfa_check), T(replay_floor_file))
