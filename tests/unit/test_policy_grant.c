/* Unit tests for policy_grant (break-glass grants: reason rule, lookup, expiry, revoke,
 * sealed persistence, tampering, restart) and the keyed helpers that need a keyring
 * (pseudonym key, blind index values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/policy.h"
#include "access/policy_grant.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "unit.h"

static char dir[64];
static keyring *kr;
static sealer *values;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/phidb-grant-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char kf[128], path[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", dir);
    FILE *f = fopen(kf, "w");
    fprintf(f, "%s\n", unit_hex_key(0));
    fclose(f);
    chmod(kf, 0600);
    snprintf(path, sizeof path, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    kr = keyring_open(path, &src, 1, err, sizeof err);
    if (!kr) {
        fprintf(stderr, "keyring: %s\n", err);
        abort();
    }
    values = seal_new(kr, KR_VALUES);
}

static void teardown(void)
{
    seal_free(values);
    keyring_close(kr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) abort();
}

#define K(s) (const uint8_t *)(s), strlen(s)
static const char *REASON = "cardiac arrest in ED, patient unresponsive";
#define HOUR (3600 * 1000LL)

/* 1 if the file's bytes contain s. */
static int file_has(const char *path, const char *s)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char data[65536];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    return memmem(data, n, s, strlen(s)) != NULL;
}

TEST(grant_rules_and_lookup)
{
    policy_grants *g = policy_grants_new(NULL, NULL);
    char err[256];
    policy_grant out;
    long long now = 1700000000000LL;
    /* The reason is mandatory: at least 20 characters once blanks are cut. */
    CHECK_INT(
        policy_grant_add(g, "drjones", K("p-7"), K("emergency"), HOUR, now, &out, err, sizeof err),
        -1);
    CHECK(strstr(err, "at least 20 characters") != NULL);
    CHECK_INT(policy_grant_add(g, "drjones", K("p-7"), K("      short reason       "), HOUR, now,
                               &out, err, sizeof err),
              -1);
    CHECK_INT(policy_grant_add(g, "drjones", K("p-7"), K("12345678901234567890"), HOUR, now, &out,
                               err, sizeof err),
              0);
    /* Characters, not bytes: ten two-byte letters are ten characters. */
    CHECK_INT(policy_grant_add(g, "drjones", K("p-7"),
                               K("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
                               HOUR, now, &out, err, sizeof err),
              -1);
    CHECK_INT(policy_grant_add(g, "drjones", K("p-7"),
                               K("Patient bewusstlos, Notfallma\xc3\x9fnahme"), HOUR, now, &out,
                               err, sizeof err),
              0);
    /* Not text a reviewer can read: control characters (NUL would also cut the audit
     * record's copy), invalid UTF-8, or mostly spaces (no-break spaces included). */
#define R(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
    static const struct {
        const char *r;
        size_t n;
    } bad[] = {
        R("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
        R("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"),
        R("patient collapsed\r\nin the ER"),
        R("patient collapsed\x1b[2Kin the ER"),
        R("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
        R("\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0"
          "\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0\xc2\xa0"),
        R("a  a  a  a  a  a  a  a  a"),
        /* Characters that show nothing: word joiners, soft hyphens, direction marks, tags,
         * Hangul fillers (20 each). */
        R("\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0"
          "\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0"
          "\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0\xe2\x81\xa0"),
        R("\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad"
          "\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad\xc2\xad"),
        R("\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e"
          "\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e"
          "\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e\xe2\x80\x8e"),
        R("\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81"
          "\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81"
          "\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81"
          "\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81\xf3\xa0\x81\x81"),
        R("\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4"
          "\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4"
          "\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4\xe3\x85\xa4"),
        /* Layout characters: a line separator, a right-to-left override before real text. */
        R("patient collapsed\xe2\x80\xa8in the emergency room"),
        R("\xe2\x80\xaepatient collapsed in the emergency room"),
    };
#undef R
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = policy_grant_add(g, "drjones", K("p-7"), (const uint8_t *)bad[i].r, bad[i].n, HOUR,
                                  now, &out, err, sizeof err);
        if (rc != -1) fprintf(stderr, "bad reason %zu accepted\n", i);
        CHECK_INT(rc, -1);
    }
    CHECK_INT(policy_grant_add(g, "drjones", K(""), K(REASON), HOUR, now, &out, err, sizeof err),
              -1);
    CHECK(strstr(err, "subject id") != NULL);
    char longreason[1100];
    memset(longreason, 'x', sizeof longreason - 1);
    longreason[sizeof longreason - 1] = '\0';
    CHECK_INT(
        policy_grant_add(g, "drjones", K("p-7"), K(longreason), HOUR, now, &out, err, sizeof err),
        -1);
    CHECK_INT(
        policy_grant_add(g, "drjones", K("p-8"), K(REASON), 4 * HOUR, now, &out, err, sizeof err),
        0);
    CHECK_INT(strlen(out.id), POLICY_GRANT_ID_LEN);
    CHECK_INT(out.expires_ms, now + 4 * HOUR);
    CHECK_INT(out.created_ms, now);
    CHECK_STR(out.reason, REASON);
    char id8[POLICY_GRANT_ID_LEN + 1];
    memcpy(id8, out.id, sizeof id8);
    /* Lookup: that user, that subject, while live. */
    CHECK(policy_grant_check(g, "drjones", K("p-8"), now + HOUR, &out));
    CHECK_STR(out.id, id8);
    CHECK(!policy_grant_check(g, "drjones", K("p-80"), now, NULL));
    CHECK(!policy_grant_check(g, "nurse1", K("p-8"), now, NULL)); /* that user only */
    CHECK(policy_grants_user_has(g, "drjones", now));
    CHECK(!policy_grants_user_has(g, "nurse1", now));
    CHECK(!policy_grant_check(g, "drjones", K("p-8"), now + 4 * HOUR, NULL)); /* expired */
    CHECK(policy_grant_check(g, "drjones", K("p-7"), now + HOUR - 1, NULL));
    CHECK(!policy_grant_check(g, "drjones", K("p-7"), now + HOUR, NULL));
    /* List: live grants, oldest first. */
    CHECK_INT(policy_grants_count(g, now), 3);
    CHECK_INT(policy_grants_count(g, now + 2 * HOUR), 1);
    CHECK_INT(policy_grant_at(g, 0, now + 2 * HOUR, &out), 0);
    CHECK_STR(out.id, id8);
    CHECK_INT(policy_grant_at(g, 1, now + 2 * HOUR, &out), -1);
    /* Revoke. */
    CHECK_INT(policy_grant_revoke(g, "0000000000000000", 16, now, err, sizeof err), 0);
    CHECK_INT(policy_grant_revoke(g, id8, 3, now, err, sizeof err), 0);
    CHECK_INT(policy_grant_revoke(g, id8, 16, now, err, sizeof err), 1);
    CHECK(!policy_grant_check(g, "drjones", K("p-8"), now, NULL));
    CHECK_INT(policy_grant_revoke(g, id8, 16, now, err, sizeof err), 0);
    /* Expiry sweep. */
    CHECK_INT(policy_grants_expire(g, now + 2 * HOUR, err, sizeof err), 2);
    CHECK_INT(policy_grants_count(g, now), 0);
    CHECK(!policy_grants_user_has(g, "drjones", now));
    CHECK(!policy_grants_user_has(NULL, "drjones", now));
    policy_grants_free(g);
    policy_grants_free(NULL);
}

TEST(grant_persistence)
{
    setup();
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/breakglass", dir);
    long long now = 1700000000000LL;
    policy_grants *g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), 0); /* no file yet: empty */
    policy_grant out;
    CHECK_INT(policy_grant_add(g, "drjones", K("SUBJ-4711"), K(REASON), 4 * HOUR, now, &out, err,
                               sizeof err),
              0);
    char id1[POLICY_GRANT_ID_LEN + 1];
    memcpy(id1, out.id, sizeof id1);
    CHECK_INT(
        policy_grant_add(g, "nurse1", K("SUBJ-0815"), K(REASON), HOUR, now, &out, err, sizeof err),
        0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    /* Sealed at rest: no subject, user or reason in the file. */
    CHECK(!file_has(path, "SUBJ-4711") && !file_has(path, "drjones") && !file_has(path, "cardiac"));
    CHECK(file_has(path, "PHIDBBG1"));
    /* A restart: the grants come back until they expire. */
    policy_grants *h = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(h, now + 1, err, sizeof err), 0);
    CHECK_INT(policy_grants_count(h, now + 1), 2);
    CHECK(policy_grant_check(h, "drjones", K("SUBJ-4711"), now + 1, &out));
    CHECK_STR(out.id, id1);
    CHECK_STR(out.reason, REASON);
    CHECK_INT(out.created_ms, now);
    policy_grants_free(h);
    /* Restart after the nurse's grant expired: it is gone (and the file rewritten). */
    h = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(h, now + 2 * HOUR, err, sizeof err), 0);
    CHECK_INT(policy_grants_count(h, now + 2 * HOUR), 1);
    CHECK(!policy_grant_check(h, "nurse1", K("SUBJ-0815"), now + 2 * HOUR, NULL));
    /* Revocation is persisted. */
    CHECK_INT(policy_grant_revoke(h, id1, 16, now + 2 * HOUR, err, sizeof err), 1);
    policy_grants_free(h);
    h = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(h, now + 2 * HOUR, err, sizeof err), 0);
    CHECK_INT(policy_grants_count(h, now), 0);
    policy_grants_free(h);
    policy_grants_free(g);
    /* Tampering: one flipped byte and the file is refused. */
    g = policy_grants_new(path, values);
    CHECK_INT(
        policy_grant_add(g, "drjones", K("SUBJ-1"), K(REASON), HOUR, now, &out, err, sizeof err),
        0);
    policy_grants_free(g);
    FILE *f = fopen(path, "r+b");
    fseek(f, 40, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), -1);
    CHECK(strstr(err, "altered") != NULL);
    policy_grants_free(g);
    /* Not a grants file; truncated. */
    f = fopen(path, "wb");
    fputs("hello world, this is not a grants file at all", f);
    fclose(f);
    g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), -1);
    CHECK(strstr(err, "not a break-glass grants file") != NULL);
    policy_grants_free(g);
    f = fopen(path, "wb");
    fputs("PHIDBBG1", f);
    fclose(f);
    g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), -1);
    policy_grants_free(g);
    /* A grant that cannot be persisted is not granted. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/breakglass", dir);
    g = policy_grants_new(bad, values);
    CHECK_INT(
        policy_grant_add(g, "drjones", K("SUBJ-1"), K(REASON), HOUR, now, &out, err, sizeof err),
        -1);
    CHECK(strstr(err, "cannot write") != NULL);
    CHECK_INT(policy_grants_count(g, now), 0);
    policy_grants_free(g);
    teardown();
}

TEST(grant_rotation_reseals)
{
    setup();
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/breakglass", dir);
    long long now = 1700000000000LL;
    policy_grants *g = policy_grants_new(path, values);
    policy_grant out;
    CHECK_INT(
        policy_grant_add(g, "drjones", K("SUBJ-1"), K(REASON), HOUR, now, &out, err, sizeof err),
        0);
    policy_grants_free(g);
    CHECK(keyring_rotate(kr, KR_VALUES, err, sizeof err) == 2);
    /* Loading re-seals the file under the current version, so the old one can be retired. */
    g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), 0);
    policy_grants_free(g);
    CHECK_INT(keyring_retire(kr, KR_VALUES, 1, err, sizeof err), 0);
    g = policy_grants_new(path, values);
    CHECK_INT(policy_grants_load(g, now, err, sizeof err), 0);
    CHECK(policy_grant_check(g, "drjones", K("SUBJ-1"), now, NULL));
    policy_grants_free(g);
    teardown();
}

TEST(keyed_helpers)
{
    setup();
    char err[256];
    policy *p = NULL;
    const char *text = "schema patient:* type=patient subject=id\n"
                       "schema member:* type=member subject=id\n"
                       "field patient ssn group=d phi=ssn index=blind\n"
                       "field member ssn group=d phi=ssn index=blind\n"
                       "field patient name group=d phi=name index=blind\n";
    CHECK_INT(policy_parse(text, strlen(text), "t", &p, err, sizeof err), 0);
    const policy_type *pt = policy_type_find(p, K("patient")),
                      *mt = policy_type_find(p, K("member"));
    const policy_field *ssn = policy_type_field(pt, K("ssn")),
                       *mssn = policy_type_field(mt, K("ssn")),
                       *name = policy_type_field(pt, K("name"));
    uint32_t v = keyring_current(kr, KR_INDEX);
    uint8_t a[32], b[32], c[32];
    CHECK_INT(policy_blind_value(kr, v, ssn, K("123-45-6789"), a), 0);
    CHECK_INT(policy_blind_value(kr, v, ssn, K("123 45 6789"), b), 0);
    CHECK(memcmp(a, b, 32) == 0); /* normalised */
    CHECK_INT(policy_blind_value(kr, v, ssn, K("123-45-6780"), c), 0);
    CHECK(memcmp(a, c, 32) != 0);
    CHECK_INT(policy_blind_value(kr, v, mssn, K("123-45-6789"), c), 0);
    CHECK(memcmp(a, c, 32) != 0); /* another field: another value */
    CHECK_INT(policy_blind_value(kr, v, name, K("John Smith"), a), 0);
    CHECK_INT(policy_blind_value(kr, v, name, K("JOHN  SMITH"), b), 0);
    CHECK(memcmp(a, b, 32) == 0);
    CHECK_INT(policy_blind_value(kr, v, ssn, K("none"), a), -1);       /* nothing to index */
    CHECK_INT(policy_blind_value(kr, 99, ssn, K("123456789"), a), -1); /* no such version */
    /* The pseudonym key: stable for a keyring, different from the raw index key. */
    uint8_t k1[32], k2[32];
    CHECK_INT(policy_pseudonym_key(kr, k1), 0);
    CHECK_INT(policy_pseudonym_key(kr, k2), 0);
    CHECK(memcmp(k1, k2, 32) == 0);
    CHECK(memcmp(k1, keyring_key(kr, KR_INDEX, v), 32) != 0);
    char ps[64];
    CHECK(policy_pseudonym(pt, K("patient:1"), k1, ps, sizeof ps) > 0);
    CHECK(strncmp(ps, "patient:~", 9) == 0);
    policy_unref(p);
    teardown();
}

UNIT_MAIN(T(grant_rules_and_lookup), T(grant_persistence), T(grant_rotation_reseals),
          T(keyed_helpers))
