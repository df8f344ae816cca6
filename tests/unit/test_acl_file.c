/* Unit tests for the users file's sealed subjects (acl_file.c, acl_set_sealer): a subject is a
 * patient identifier and never reaches the file in plaintext once a sealer is set. */
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

static const acl_cmd catalog[] = {{"get", -1, ACL_CAT(READ), 0}};

static char dir[] = "/tmp/phidb-aclfile-XXXXXX";
static char path[128];

static keyring *open_kr(void)
{
    char kf[128], krp[128], err[512];
    snprintf(kf, sizeof kf, "%s/mk", dir);
    FILE *f = fopen(kf, "w");
    if (!f) return NULL;
    fprintf(f, "%s\n", unit_hex_key(0));
    fclose(f);
    chmod(kf, 0600);
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    keyring_kek_source src = {kf, NULL, NULL};
    return keyring_open(krp, &src, 1, err, sizeof err);
}

static acl *new_acl(sealer *s)
{
    acl_opts o;
    acl_opts_default(&o);
    acl *a = acl_new(&o, catalog, 1);
    acl_set_sealer(a, s);
    return a;
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
    chmod(path, 0600);
}

static char *read_file(void)
{
    static char b[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
    if (f) fclose(f);
    b[n] = '\0';
    return b;
}

/* The hex after "subject-sealed=" in the file, written into out. */
static int sealed_hex(const char *text, char *out, size_t cap)
{
    const char *p = strstr(text, "subject-sealed=");
    if (!p) return -1;
    p += strlen("subject-sealed=");
    size_t n = strspn(p, "0123456789abcdef");
    if (n + 1 > cap) return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

TEST(subjects_sealed_in_the_file)
{
    keyring *kr = open_kr();
    CHECK(kr != NULL);
    if (!kr) return;
    sealer *s = seal_new(kr, KR_VALUES);
    char err[512];
    /* A hand-written file: a plaintext subject loads and is counted. */
    write_file("user carol on ~patient:* +get role=patient subject=MRN-00424242\n"
               "user drjones on resetkeys -@all role=physician\n");
    acl *a = new_acl(s);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_plain_subjects(a), 1);
    acl_user *u = acl_find(a, K("carol"));
    CHECK(u && strcmp(acl_user_subject(u), "MRN-00424242") == 0);
    if (!u) return;
    CHECK_INT(acl_user_subject_version(u), 0);
    /* Saved: sealed, nothing of the subject left in the clear; the count is cleared. */
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_plain_subjects(a), 0);
    char *text = read_file();
    CHECK(strstr(text, "MRN-00424242") == NULL);
    CHECK(strstr(text, "subject=") == NULL);
    CHECK(strstr(text, "subject-sealed=") != NULL);
    CHECK(strstr(text, "role=patient") != NULL);
    CHECK_INT(acl_user_subject_version(u), keyring_current(kr, KR_VALUES));
    /* Read back: the same subject, sealed under the current version, nothing plaintext. */
    acl *b = new_acl(s);
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    CHECK_INT(acl_plain_subjects(b), 0);
    acl_user *v = acl_find(b, K("carol"));
    CHECK(v && strcmp(acl_user_subject(v), "MRN-00424242") == 0);
    if (!v) return;
    CHECK_INT(acl_user_subject_version(v), keyring_current(kr, KR_VALUES));
    CHECK(acl_user_subject(acl_find(b, K("drjones"))) == NULL);
    /* ACL LIST's form shows the subject to an administrator, as given. */
    buf d = {0};
    acl_describe(b, v, &d, 0);
    CHECK(strstr(buf_cstr(&d), "subject=MRN-00424242") != NULL);
    buf_free(&d);
    acl_free(b);
    acl_free(a);
    seal_free(s);
    keyring_close(kr);
}

/* A sealed subject moved to another user, altered, or read without the key: the whole file
 * is refused with the line, and the users already loaded stay. */
TEST(sealed_subject_refused_when_moved_or_altered)
{
    keyring *kr = open_kr();
    CHECK(kr != NULL);
    if (!kr) return;
    sealer *s = seal_new(kr, KR_VALUES);
    char err[512], hex[1024], line[2048];
    write_file("user carol on resetkeys -@all subject=MRN-7\n");
    acl *a = new_acl(s);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    CHECK_INT(sealed_hex(read_file(), hex, sizeof hex), 0);
    /* Moved to mallory. */
    snprintf(line, sizeof line, "user mallory on resetkeys -@all subject-sealed=%s\n", hex);
    write_file(line);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), -1);
    CHECK(strstr(err, ":1:") && strstr(err, "does not open"));
    CHECK(acl_find(a, K("carol")) != NULL); /* the old users stay */
    /* Altered. */
    char was = hex[40];
    hex[40] = was == '0' ? '1' : '0';
    snprintf(line, sizeof line, "user carol on resetkeys -@all subject-sealed=%s\n", hex);
    write_file(line);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), -1);
    CHECK(strstr(err, "does not open") != NULL);
    /* Not hex, odd length, too short. */
    const char *bad[] = {"zz", "abc", "00"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(line, sizeof line, "user carol on subject-sealed=%s\n", bad[i]);
        write_file(line);
        CHECK_INT(acl_load_file(a, path, err, sizeof err), -1);
        CHECK(strstr(err, "not in the form phidb writes") != NULL);
    }
    /* No sealer: refused, not taken as a subject. */
    hex[40] = was;
    snprintf(line, sizeof line, "user carol on resetkeys -@all subject-sealed=%s\n", hex);
    write_file(line);
    acl *n = new_acl(NULL);
    CHECK_INT(acl_load_file(n, path, err, sizeof err), -1);
    CHECK(strstr(err, "no values key") != NULL);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0); /* the restored line opens */
    CHECK(strcmp(acl_user_subject(acl_find(a, K("carol"))), "MRN-7") == 0);
    /* ACL SETUSER does not take the file form. */
    const char *form = strstr(line, "subject-sealed=");
    const uint8_t *r[] = {(const uint8_t *)form};
    size_t l[] = {strlen(form) - 1}; /* without the newline */
    acl_op *op;
    CHECK_INT(acl_op_parse(a, K("carol"), r, l, 1, &op, err, sizeof err), -1);
    CHECK(strstr(err, "Syntax error") != NULL);
    acl_free(n);
    acl_free(a);
    seal_free(s);
    keyring_close(kr);
}

/* After a values key rotation, saving seals under the new version (what the rotation's
 * re-seal relies on); the old version still opens what it sealed. */
TEST(subjects_follow_the_current_version)
{
    keyring *kr = open_kr();
    CHECK(kr != NULL);
    if (!kr) return;
    sealer *s = seal_new(kr, KR_VALUES);
    char err[512];
    write_file("user carol on resetkeys -@all subject=MRN-9\n");
    acl *a = new_acl(s);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    uint32_t v1 = keyring_current(kr, KR_VALUES);
    uint32_t v2 = keyring_rotate(kr, KR_VALUES, err, sizeof err);
    CHECK_INT(v2, keyring_current(kr, KR_VALUES));
    CHECK(v2 != v1);
    acl *b = new_acl(s);
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    CHECK_INT(acl_user_subject_version(acl_find(b, K("carol"))), v1);
    CHECK_INT(acl_save_file(b, path, err, sizeof err), 0);
    acl *c = new_acl(s);
    CHECK_INT(acl_load_file(c, path, err, sizeof err), 0);
    CHECK_INT(acl_user_subject_version(acl_find(c, K("carol"))), v2);
    CHECK(strcmp(acl_user_subject(acl_find(c, K("carol"))), "MRN-9") == 0);
    acl_free(c);
    acl_free(b);
    acl_free(a);
    seal_free(s);
    keyring_close(kr);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -p %s %s", from, to);
    if (system(cmd) != 0) fprintf(stderr, "cannot copy %s\n", from);
}

/* A keyring file older than the users file (copied back): loading the file notes the nonces
 * of its sealed subject and TOTP secret, and committing them raises the counter above them,
 * so no later seal repeats one. */
TEST(nonces_of_the_file_noted)
{
    char krp[160], old[160], err[512];
    snprintf(krp, sizeof krp, "%s/keyring", dir);
    snprintf(old, sizeof old, "%s/keyring.old", dir);
    keyring *kr = open_kr();
    CHECK(kr != NULL);
    if (!kr) return;
    keyring_close(kr);
    copy_file(krp, old);
    kr = open_kr(); /* resumes at the end of the reserved block: its nonces are newer */
    sealer *s = seal_new(kr, KR_VALUES);
    uint8_t secret[20] = {1, 2, 3};
    buf hex = {0};
    CHECK_INT(policy_totp_seal(s, "carol", secret, sizeof secret, &hex), 0);
    char line[1024];
    snprintf(line, sizeof line,
             "user carol on resetkeys -@all subject=MRN-5 mfa=totp "
             "totp-secret=%s\n",
             buf_cstr(&hex));
    buf_free(&hex);
    write_file(line);
    acl *a = new_acl(s);
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    acl_free(a);
    seal_free(s);
    keyring_close(kr);
    for (int which = 0; which < 2; which++) {
        /* Once with both, once with the TOTP secret alone. */
        if (which == 1) {
            char *t = read_file(), *p = strstr(t, " subject-sealed=");
            CHECK(p != NULL);
            if (!p) break;
            char *e = strchr(p + 1, ' ');
            memmove(p, e ? e : p + strlen(p), strlen(e ? e : p + strlen(p)) + 1);
            write_file(t);
        }
        copy_file(old, krp);
        kr = open_kr();
        CHECK(kr != NULL);
        if (!kr) return;
        s = seal_new(kr, KR_VALUES);
        a = new_acl(s);
        CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
        CHECK_INT(seal_nonces_commit(s, err, sizeof err), 1);
        CHECK(strstr(err, "values key version") != NULL);
        CHECK_INT(seal_nonces_commit(s, err, sizeof err), 0); /* noted once */
        acl_free(a);
        seal_free(s);
        keyring_close(kr);
    }
}

static int setup(void)
{
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/users.acl", dir);
    return 0;
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    static const unit_test tests[] = {
        T(subjects_sealed_in_the_file), T(sealed_subject_refused_when_moved_or_altered),
        T(subjects_follow_the_current_version), T(nonces_of_the_file_noted)};
    if (setup() != 0) return 1;
    int rc = unit_run(tests, sizeof tests / sizeof tests[0], argc, argv);
    teardown();
    return rc;
}
