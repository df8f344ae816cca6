/* Unit tests for acl: rules, permission checks, logins, lockout, cache, files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/acl.h"
#include "../../fuzz/acl_catalog.h"
#include "unit.h"
#include "util/buf.h"

static acl *new_acl(void)
{
    acl_opts o;
    acl_opts_default(&o);
    o.argon2_memory_kib = 64;
    o.argon2_time = 1;
    return acl_new(&o, catalog, NCAT);
}

static int setuser(acl *a, const char *name, const char *rules, char *err, size_t errlen)
{
    const uint8_t *r[16];
    size_t l[16];
    int n = 0;
    char *copy = strdup(rules);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        r[n] = (const uint8_t *)t;
        l[n] = strlen(t);
        n++;
    }
    acl_op *op;
    int rc = acl_op_parse(a, (const uint8_t *)name, strlen(name), r, l, n, &op, err, errlen);
    if (rc == 0) {
        if (acl_op_needs_work(op)) acl_op_work(op);
        rc = acl_op_check(a, op, err, errlen);
        if (rc == 0) rc = acl_op_apply(a, op, err, errlen);
        acl_op_free(op);
    }
    free(copy);
    return rc;
}

static int login(acl *a, const char *user, const char *pass, enum acl_auth_why *why)
{
    acl_auth *job;
    int rc = acl_auth_begin(a, (const uint8_t *)user, strlen(user), (const uint8_t *)pass,
                            strlen(pass), "10.0.0.1:5000", &job);
    *why = ACL_WHY_NONE;
    if (rc == ACL_AUTH_OK) return ACL_AUTH_OK;
    acl_auth_work(job);
    int locked;
    rc = acl_auth_finish(a, job, why, &locked);
    acl_auth_free(job);
    return rc;
}

TEST(rules_and_checks)
{
    acl *a = new_acl();
    char err[256];
    CHECK_INT(setuser(a, "alice", "on >correct-horse-battery ~patient:* %R~ref:* +@read -keys", err,
                      sizeof err),
              0);
    acl_user *u = acl_find(a, (const uint8_t *)"alice", 5);
    CHECK(u != NULL);
    CHECK(acl_can_run(u, 0));  /* get via @read */
    CHECK(!acl_can_run(u, 1)); /* set */
    CHECK(!acl_can_run(u, 5)); /* keys: by name only */
    CHECK(acl_can_key(u, (const uint8_t *)"patient:1", 9, ACL_KEY_READ | ACL_KEY_WRITE));
    CHECK(acl_can_key(u, (const uint8_t *)"ref:1", 5, ACL_KEY_READ));
    CHECK(!acl_can_key(u, (const uint8_t *)"ref:1", 5, ACL_KEY_WRITE));
    CHECK(acl_can_key(u, (const uint8_t *)"ref:1", 5, 0)); /* existence checks: any pattern */
    CHECK(!acl_can_key(u, (const uint8_t *)"other", 5, 0));
    /* +@all does not grant by-name-only commands; +keys does. */
    CHECK_INT(setuser(a, "bob", "on >correct-horse-battery allkeys +@all", err, sizeof err), 0);
    acl_user *b = acl_find(a, (const uint8_t *)"bob", 3);
    CHECK(!acl_can_run(b, 5));
    CHECK(acl_can_run(b, 3));
    CHECK_INT(setuser(a, "bob", "+keys -config", err, sizeof err), 0);
    CHECK(acl_can_run(b, 5));
    CHECK(!acl_can_run(b, 3) && !acl_can_run(b, 4)); /* container rule covers subcommands */
    CHECK_INT(setuser(a, "bob", "+config|get", err, sizeof err), 0);
    CHECK(acl_can_run(b, 3) && !acl_can_run(b, 4));
    buf d = {0};
    acl_describe(a, b, &d, 0);
    CHECK(strstr(buf_cstr(&d), "#<hidden>") != NULL);
    CHECK(strstr(buf_cstr(&d), "$argon2id") == NULL);
    CHECK(strstr(buf_cstr(&d), "+@all +keys -config +config|get") != NULL);
    buf_free(&d);
    acl_free(a);
}

TEST(rule_errors)
{
    acl *a = new_acl();
    char err[256];
    CHECK(setuser(a, "x", "nopass", err, sizeof err) != 0);
    CHECK(strstr(err, "nopass") != NULL);
    CHECK(setuser(a, "x", ">short", err, sizeof err) != 0);
    CHECK(strstr(err, "12") != NULL);
    CHECK(strstr(err, "short") == NULL); /* the password is never echoed */
    CHECK(setuser(a, "x", "+nosuchcommand", err, sizeof err) != 0);
    CHECK(setuser(a, "x", "+@nosuchcat", err, sizeof err) != 0);
    CHECK(setuser(a, "x", "%X~foo", err, sizeof err) != 0);
    CHECK(setuser(a, "x", "#notahash", err, sizeof err) != 0);
    CHECK(setuser(a, "bad name", "on", err, sizeof err) != 0);
    CHECK(acl_find(a, (const uint8_t *)"x", 1) == NULL); /* nothing applied */
    acl_free(a);
}

/* Key patterns as Redis 7 reads them: one pattern must grant all the access a key needs;
 * a pattern added after allkeys (or ~*) is refused until resetkeys. */
TEST(key_pattern_semantics)
{
    acl *a = new_acl();
    char err[512];
    CHECK_INT(setuser(a, "w", "on >correct-horse-battery %W~* %R~x", err, sizeof err), 0);
    acl_user *u = acl_find(a, (const uint8_t *)"w", 1);
    CHECK(u != NULL);
    if (!u) goto out;
    CHECK(acl_can_key(u, (const uint8_t *)"x", 1, ACL_KEY_READ));
    CHECK(acl_can_key(u, (const uint8_t *)"x", 1, ACL_KEY_WRITE));
    /* R from one pattern and W from another: not both (INCR x is refused, as in Redis). */
    CHECK(!acl_can_key(u, (const uint8_t *)"x", 1, ACL_KEY_READ | ACL_KEY_WRITE));
    CHECK(acl_can_key(u, (const uint8_t *)"y", 1, 0)); /* HLEN, STRLEN: any pattern */
    CHECK(!acl_can_key(u, (const uint8_t *)"y", 1, ACL_KEY_READ));
    CHECK_INT(setuser(a, "w", "%RW~x", err, sizeof err), 0); /* now one pattern grants both */
    CHECK(acl_can_key(u, (const uint8_t *)"x", 1, ACL_KEY_READ | ACL_KEY_WRITE));
    /* After allkeys or ~*, another pattern is an error, and nothing of the rules applies. */
    CHECK(setuser(a, "k", "on >correct-horse-battery ~* %R~a", err, sizeof err) != 0);
    CHECK(strstr(err, "modifier '%R~a'") && strstr(err, "Adding a pattern after the * pattern"));
    CHECK(acl_find(a, (const uint8_t *)"k", 1) == NULL);
    CHECK(setuser(a, "k", "on >correct-horse-battery allkeys ~a", err, sizeof err) != 0);
    CHECK_INT(setuser(a, "k", "on >correct-horse-battery allkeys resetkeys ~a ~*", err, sizeof err),
              0);
    CHECK(setuser(a, "k", "~b", err, sizeof err) != 0); /* the user has allkeys already */
    CHECK_INT(setuser(a, "k", "~*", err, sizeof err), 0);
    CHECK_INT(setuser(a, "k", "reset ~b", err, sizeof err), 0);
    CHECK(setuser(a, "k", "allchannels &news", err, sizeof err) != 0);
    CHECK(strstr(err, "'allchannels'") != NULL);
    CHECK(setuser(a, "k", "&* &news", err, sizeof err) != 0);
    /* %RW~* is a pattern like any other (it does not set allkeys), and is shown so when
     * other patterns follow, so that the users file reads back the same. */
    CHECK_INT(setuser(a, "p", "on >correct-horse-battery %RW~* ~a", err, sizeof err), 0);
    acl_user *p = acl_find(a, (const uint8_t *)"p", 1);
    buf d = {0};
    if (p) acl_describe_keys(p, &d);
    CHECK_STR(buf_cstr(&d), "%RW~* ~a");
    buf_free(&d);
out:
    acl_free(a);
}

/* One rule, given whole (it may hold spaces). */
static int setuser1(acl *a, const char *name, const char *rule, size_t rlen, char *err,
                    size_t errlen)
{
    const uint8_t *r[1] = {(const uint8_t *)rule};
    size_t l[1] = {rlen};
    acl_op *op;
    int rc = acl_op_parse(a, (const uint8_t *)name, strlen(name), r, l, 1, &op, err, errlen);
    if (rc == 0) {
        rc = acl_op_apply(a, op, err, errlen);
        acl_op_free(op);
    }
    return rc;
}

/* What the users file cannot hold unquoted is refused or quoted (found by fuzz_acl: the
 * server wrote files it could not read back, so it would not start again). */
TEST(file_safe_rules)
{
    acl *a = new_acl();
    char err[256];
    static const char *bad[] = {"~a b", "~a\nuser evil on +@all", "%R~a\tb", "&ch an", "~a\rb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(setuser1(a, "x", bad[i], strlen(bad[i]), err, sizeof err) != 0);
        CHECK(strstr(err, "Syntax error") != NULL);
    }
    CHECK(setuser1(a, "x", "~a\0b", 4, err, sizeof err) != 0); /* a NUL byte */
    CHECK(acl_find(a, (const uint8_t *)"x", 1) == NULL);
    /* Quotes inside a pattern and a name that opens with one go through the file. */
    CHECK_INT(setuser1(a, "'q\"\\", "~a\"b'", 5, err, sizeof err), 0);
    CHECK_INT(setuser1(a, "\"d", "&'c", 3, err, sizeof err), 0);
    char dir[] = "/tmp/phidb-acl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/users.acl", dir);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    acl *b = new_acl();
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    acl_user *u = acl_find(b, (const uint8_t *)"'q\"\\", 4);
    CHECK(u && acl_can_key(u, (const uint8_t *)"a\"b'", 4, ACL_KEY_READ));
    CHECK(acl_find(b, (const uint8_t *)"\"d", 2) != NULL);
    buf d = {0};
    acl_describe(b, u, &d, 0);
    CHECK(strncmp(buf_cstr(&d), "user 'q\"\\ ", 10) == 0); /* ACL LIST: the name as is */
    buf_free(&d);
    unlink(path);
    rmdir(dir);
    acl_free(a);
    acl_free(b);
}

TEST(login_lockout_cache)
{
    acl *a = new_acl();
    char err[256];
    enum acl_auth_why why;
    CHECK_INT(setuser(a, "carol", "on >correct-horse-battery allkeys +@all", err, sizeof err), 0);
    CHECK_INT(login(a, "carol", "correct-horse-battery", &why), ACL_AUTH_OK);
    /* The second login is answered from the cache (no work step). */
    acl_auth *job = NULL;
    CHECK_INT(acl_auth_begin(a, (const uint8_t *)"carol", 5,
                             (const uint8_t *)"correct-horse-battery", 21, "10.0.0.1:1", &job),
              ACL_AUTH_OK);
    CHECK(job == NULL);
    CHECK_INT(login(a, "nobody", "correct-horse-battery", &why), ACL_AUTH_FAIL);
    CHECK_INT(why, ACL_WHY_NOUSER);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(login(a, "carol", "wrong-password-xx", &why), ACL_AUTH_FAIL);
        CHECK_INT(why, ACL_WHY_BADPASS);
    }
    /* Locked: the right password does not open it, and the cache does not either. */
    CHECK_INT(login(a, "carol", "correct-horse-battery", &why), ACL_AUTH_FAIL);
    CHECK_INT(why, ACL_WHY_LOCKED);
    CHECK(acl_auth_delay_ms(a, "10.0.0.1:9") > 0); /* the address is throttled */
    CHECK(acl_unlock(a, (const uint8_t *)"carol", 5));
    CHECK_INT(login(a, "carol", "correct-horse-battery", &why), ACL_AUTH_OK);
    /* Changing the password drops cached logins. */
    CHECK_INT(setuser(a, "carol", "resetpass >another-long-password", err, sizeof err), 0);
    CHECK_INT(login(a, "carol", "correct-horse-battery", &why), ACL_AUTH_FAIL);
    CHECK_INT(login(a, "carol", "another-long-password", &why), ACL_AUTH_OK);
    /* <pass removes a password by its plaintext. */
    CHECK_INT(setuser(a, "carol", ">second-long-password <another-long-password", err, sizeof err),
              0);
    CHECK_INT(login(a, "carol", "another-long-password", &why), ACL_AUTH_FAIL);
    CHECK_INT(login(a, "carol", "second-long-password", &why), ACL_AUTH_OK);
    /* Disabled users cannot log in. */
    CHECK_INT(setuser(a, "carol", "off", err, sizeof err), 0);
    CHECK_INT(login(a, "carol", "second-long-password", &why), ACL_AUTH_FAIL);
    CHECK_INT(why, ACL_WHY_DISABLED);
    acl_free(a);
}

TEST(file_roundtrip)
{
    acl *a = new_acl();
    char err[256];
    char dir[] = "/tmp/phidb-acl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/users.acl", dir);
    CHECK_INT(
        setuser(a, "dave", "on >correct-horse-battery ~a:* %R~b:* &chan +get", err, sizeof err), 0);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    acl *b = new_acl();
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    acl_user *u = acl_find(b, (const uint8_t *)"dave", 4);
    CHECK(u && acl_can_run(u, 0) && !acl_can_run(u, 1));
    CHECK(acl_can_key(u, (const uint8_t *)"b:1", 3, ACL_KEY_READ));
    CHECK(!acl_can_key(u, (const uint8_t *)"b:1", 3, ACL_KEY_WRITE));
    enum acl_auth_why why;
    CHECK_INT(login(b, "dave", "correct-horse-battery", &why), ACL_AUTH_OK);
    /* A bad file changes nothing and names the line. */
    FILE *f = fopen(path, "a");
    fputs("user eve on +nosuch\n", f);
    fclose(f);
    CHECK(acl_load_file(b, path, err, sizeof err) != 0);
    CHECK(strstr(err, ":2:") != NULL);
    CHECK(acl_find(b, (const uint8_t *)"dave", 4) != NULL);
    /* A users file written before ACL SETUSER refused patterns after ~* still loads. */
    f = fopen(path, "w");
    fputs("user old on >correct-horse-battery ~* %R~x &* &news +@all\n", f);
    fclose(f);
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    u = acl_find(b, (const uint8_t *)"old", 3);
    CHECK(u && acl_can_key(u, (const uint8_t *)"y", 1, ACL_KEY_READ | ACL_KEY_WRITE));
    /* Group-readable files are refused. */
    chmod(path, 0640);
    CHECK(acl_load_file(b, path, err, sizeof err) != 0);
    unlink(path);
    rmdir(dir);
    acl_free(a);
    acl_free(b);
}

TEST(attributes)
{
    acl *a = new_acl();
    char err[256];
    CHECK_INT(setuser(a, "doc",
                      "on >correct-horse-battery ~patient:* +@all role=physician "
                      "mfa=TOTP cert=svc-lab.example subject=p-001",
                      err, sizeof err),
              0);
    acl_user *u = acl_find(a, (const uint8_t *)"doc", 3);
    CHECK_STR(acl_user_role(u), "physician");
    CHECK_STR(acl_user_subject(u), "p-001");
    CHECK_STR(acl_user_cert(u), "svc-lab.example");
    CHECK_INT(acl_user_mfa(u), ACL_MFA_TOTP);
    CHECK_STR(acl_user_attr(u, ACL_ATTR_MFA), "totp"); /* normalised */
    CHECK(acl_user_totp_secret(u) == NULL);            /* not enrolled yet */
    buf d = {0};
    acl_describe(a, u, &d, 0);
    CHECK(strstr(buf_cstr(&d), " role=physician subject=p-001 mfa=totp cert=svc-lab.example") !=
          NULL);
    buf_free(&d);
    /* A sealed secret: shown in the file form only. */
    char hex[200];
    for (int i = 0; i < 104; i++)
        hex[i] = "0123456789abcdef"[i % 16];
    hex[104] = '\0';
    char rule[256];
    snprintf(rule, sizeof rule, "totp-secret=%s", hex);
    CHECK_INT(setuser(a, "doc", rule, err, sizeof err), 0);
    CHECK_STR(acl_user_totp_secret(u), hex);
    acl_describe(a, u, &d, 0);
    CHECK(strstr(buf_cstr(&d), "totp-secret") == NULL && strstr(buf_cstr(&d), hex) == NULL);
    d.len = 0;
    acl_describe(a, u, &d, 1);
    CHECK(strstr(buf_cstr(&d), rule) != NULL);
    buf_free(&d);
    /* Clearing: empty values; mfa=none also forgets the secret. */
    CHECK_INT(setuser(a, "doc", "role= cert=", err, sizeof err), 0);
    CHECK(acl_user_role(u) == NULL && acl_user_cert(u) == NULL);
    CHECK_STR(acl_user_subject(u), "p-001");
    CHECK_INT(setuser(a, "doc", "mfa=none", err, sizeof err), 0);
    CHECK_INT(acl_user_mfa(u), ACL_MFA_NONE);
    CHECK(acl_user_totp_secret(u) == NULL);
    /* reset clears every attribute. */
    CHECK_INT(setuser(a, "doc", "role=nurse mfa=totp", err, sizeof err), 0);
    CHECK_INT(setuser(a, "doc", "reset", err, sizeof err), 0);
    CHECK(acl_user_role(u) == NULL && acl_user_subject(u) == NULL && acl_user_mfa(u) == 0);
    /* Replay protection state only moves forward. */
    acl_user_set_totp_step(u, 100);
    acl_user_set_totp_step(u, 99);
    CHECK_INT(acl_user_totp_step(u), 100);
    acl_free(a);
}

TEST(attribute_errors)
{
    acl *a = new_acl();
    char err[256];
    CHECK(setuser(a, "x", "role=a/b", err, sizeof err) != 0);
    CHECK(strstr(err, "role=") != NULL && strstr(err, "role names") != NULL);
    CHECK(setuser(a, "x", "mfa=sms", err, sizeof err) != 0);
    CHECK(strstr(err, "'totp' or 'none'") != NULL);
    CHECK(setuser(a, "x", "mfa=", err, sizeof err) != 0);
    CHECK(setuser(a, "x", "totp-secret=abc", err, sizeof err) != 0);
    CHECK(setuser(a, "x",
                  "totp-secret=zz00000000000000000000000000000000000000000000000000000000000000",
                  err, sizeof err) != 0);
    CHECK(strstr(err, "phidb user mfa") != NULL);
    CHECK(setuser(a, "x", "subject=a\"b", err, sizeof err) != 0);
    CHECK(setuser(a, "x", "colour=blue", err, sizeof err) != 0);
    CHECK(strstr(err, "Syntax error") != NULL);
    char big[200];
    memset(big, 'a', sizeof big);
    memcpy(big, "subject=", 8);
    big[199] = '\0';
    CHECK(setuser(a, "x", big, err, sizeof err) != 0);
    CHECK(acl_find(a, (const uint8_t *)"x", 1) == NULL); /* nothing applied */
    acl_free(a);
}

TEST(attributes_in_file)
{
    acl *a = new_acl();
    char err[256];
    char dir[] = "/tmp/phidb-acl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/users.acl", dir);
    char hex[105];
    for (int i = 0; i < 104; i++)
        hex[i] = "0123456789abcdef"[(i * 7) % 16];
    hex[104] = '\0';
    char rules[400];
    snprintf(rules, sizeof rules,
             "on >correct-horse-battery ~* +@all role=patient subject=p-9 "
             "mfa=totp totp-secret=%s",
             hex);
    CHECK_INT(setuser(a, "pat", rules, err, sizeof err), 0);
    CHECK_INT(setuser(a, "svc", "on >correct-horse-battery ~* +get cert=lab-feed", err, sizeof err),
              0);
    acl_user_set_totp_step(acl_find(a, (const uint8_t *)"pat", 3), 12345);
    CHECK_INT(acl_save_file(a, path, err, sizeof err), 0);
    acl *b = new_acl();
    CHECK_INT(acl_load_file(b, path, err, sizeof err), 0);
    acl_user *u = acl_find(b, (const uint8_t *)"pat", 3);
    CHECK(u && acl_user_role(u) && strcmp(acl_user_role(u), "patient") == 0);
    CHECK_STR(acl_user_subject(u), "p-9");
    CHECK_INT(acl_user_mfa(u), ACL_MFA_TOTP);
    CHECK_STR(acl_user_totp_secret(u), hex);
    CHECK_STR(acl_user_cert(acl_find(b, (const uint8_t *)"svc", 3)), "lab-feed");
    /* Reloading the same ACL keeps the last accepted TOTP step (no replay after ACL LOAD). */
    CHECK_INT(acl_load_file(a, path, err, sizeof err), 0);
    CHECK_INT(acl_user_totp_step(acl_find(a, (const uint8_t *)"pat", 3)), 12345);
    CHECK_INT(acl_user_totp_step(u), 0);
    /* Failures of the second factor count toward lockout. */
    acl_user *p = acl_find(a, (const uint8_t *)"pat", 3);
    long long now = 1000000;
    CHECK_INT(acl_mfa_failure(a, p, now), 0);
    acl_mfa_success(a, p);
    CHECK_INT(acl_mfa_failure(a, p, now), 0);
    CHECK_INT(acl_mfa_failure(a, p, now), 0);
    CHECK_INT(acl_mfa_failure(a, p, now), 1); /* the third consecutive one locks */
    CHECK(acl_user_locked(p, now + 1));
    unlink(path);
    rmdir(dir);
    acl_free(a);
    acl_free(b);
}

UNIT_MAIN(T(rules_and_checks), T(rule_errors), T(key_pattern_semantics), T(file_safe_rules),
          T(login_lockout_cache), T(file_roundtrip), T(attributes), T(attribute_errors),
          T(attributes_in_file))
