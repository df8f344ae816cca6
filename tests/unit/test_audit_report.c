/*
 * test_audit_report: the activity report, the accounting of disclosures and the breach
 * report over a generated activity script whose counts the test knows exactly.
 */
#include "access/policy.h"
#include "audit/audit_report.h"
#include "audit_test.h"

static audit *A;
static int n_events, n_granted, n_denied, n_logins, n_failed, n_exports, n_emergency;

static void rec(int type, int result, const char *user, const char *role, int subj, const char *f1,
                const char *f2, const char *purpose, const char *emergency, const char *action)
{
    char key[32], s[16];
    const char *fields[2] = {f1, f2};
    size_t lens[2] = {f1 ? strlen(f1) : 0, f2 ? strlen(f2) : 0};
    snprintf(key, sizeof key, "patient:%d", subj);
    snprintf(s, sizeof s, "%d", subj);
    audit_rec r = {.type = type,
                   .result = result,
                   .user = user,
                   .role = role,
                   .addr = "10.0.0.1:4000",
                   .cmd = type == AUDIT_EV_ACCESS ? "hmget" : NULL,
                   .key = subj ? key : NULL,
                   .keylen = subj ? strlen(key) : 0,
                   .subject = subj ? s : NULL,
                   .subjectlen = subj ? strlen(s) : 0,
                   .fields = fields,
                   .fieldlens = lens,
                   .nfields = f2   ? 2
                              : f1 ? 1
                                   : 0,
                   .purpose = purpose,
                   .emergency = emergency,
                   .action = action};
    CHECK_INT(audit_append(A, &r), 0);
    n_events++;
    if (result == AUDIT_GRANTED) n_granted++;
    if (result == AUDIT_DENIED) n_denied++;
    if (type == AUDIT_EV_AUTH) result == AUDIT_GRANTED ? n_logins++ : n_failed++;
    if (type == AUDIT_EV_EXPORT) n_exports++;
    if (emergency || type == AUDIT_EV_BREAKGLASS) n_emergency++;
}

static void script(void)
{
    rec(AUDIT_EV_AUTH, AUDIT_GRANTED, "alice", "nurse", 0, 0, 0, 0, 0, 0);
    rec(AUDIT_EV_AUTH, AUDIT_GRANTED, "bob", "physician", 0, 0, 0, 0, 0, 0);
    rec(AUDIT_EV_AUTH, AUDIT_DENIED, "mallory", NULL, 0, 0, 0, 0, 0, 0);
    rec(AUDIT_EV_AUTH, AUDIT_DENIED, "mallory", NULL, 0, 0, 0, 0, 0, 0);
    rec(AUDIT_EV_AUTH, AUDIT_GRANTED, "mallory", "billing", 0, 0, 0, 0, 0, 0);
    for (int i = 1; i <= 10; i++)
        rec(AUDIT_EV_ACCESS, AUDIT_GRANTED, "alice", "nurse", i, "name", "dob", "treatment", 0, 0);
    for (int i = 5; i <= 14; i++)
        rec(AUDIT_EV_ACCESS, AUDIT_GRANTED, "bob", "physician", i, "diagnosis", 0, "treatment", 0,
            0);
    rec(AUDIT_EV_ACCESS, AUDIT_GRANTED, "bob", "physician", 3, "name", 0, "research", 0, 0);
    for (int i = 1; i <= 3; i++)
        rec(AUDIT_EV_ACCESS, AUDIT_DENIED, "mallory", "billing", i, "diagnosis", 0, "payment", 0,
            0);
    rec(AUDIT_EV_BREAKGLASS, AUDIT_GRANTED, "bob", "physician", 20, 0, 0, 0, "bg-1", "grant");
    rec(AUDIT_EV_ACCESS, AUDIT_GRANTED, "bob", "physician", 20, "diagnosis", "dob", "emergency",
        "bg-1", 0);
    rec(AUDIT_EV_EXPORT, AUDIT_GRANTED, "alice", "nurse", 7, 0, 0, "legal", 0, 0);
}

static json_int_t geti(json_t *o, const char *path)
{
    /* "a.b" */
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *dot = strchr(tmp, '.');
    if (dot) {
        *dot = '\0';
        o = json_object_get(o, tmp);
        return json_integer_value(json_object_get(o, dot + 1));
    }
    return json_integer_value(json_object_get(o, tmp));
}

static json_t *find(json_t *arr, const char *k, const char *v)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i,
                       e) if (json_string_value(json_object_get(e, k)) &&
                              strcmp(json_string_value(json_object_get(e, k)), v) == 0) return e;
    return NULL;
}

static const char pol_text[] = "schema patient:* type=patient subject=id\n"
                               "field patient name group=demographics phi=name\n"
                               "field patient dob group=demographics phi=date\n"
                               "field patient diagnosis group=diagnosis\n"
                               "role nurse read=demographics\n";

TEST(t_reports)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    A = open_trail(&o);
    if (!A) goto out;
    script();
    audit_close(A);
    audit_source src = {adir, asl, &apub};
    audit_query q = {0};
    json_t *r = NULL;
    char warn[512];
    CHECK_INT(audit_report_build(&src, &q, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "totals.events"), n_events);
    CHECK_INT(geti(r, "totals.granted"), n_granted);
    CHECK_INT(geti(r, "totals.denied"), n_denied);
    CHECK_INT(geti(r, "totals.logins"), 3);
    CHECK_INT(geti(r, "totals.failed_logins"), 2);
    CHECK_INT(geti(r, "totals.exports"), 1);
    CHECK_INT(geti(r, "totals.emergency"), 2);
    CHECK_INT(n_logins + n_failed + n_exports + n_emergency, 8);
    json_t *bob = find(json_object_get(r, "users"), "user", "bob");
    CHECK(bob != NULL);
    if (bob) {
        CHECK_INT(geti(bob, "events"), 14);
        CHECK_INT(geti(bob, "subjects"), 12);
        CHECK_INT(geti(bob, "emergency"), 2);
    }
    json_t *s5 = find(json_object_get(r, "subjects"), "subject", "5");
    CHECK(s5 && geti(s5, "accesses") == 2 && geti(s5, "users") == 2);
    json_t *s1 = find(json_object_get(r, "subjects"), "subject", "1");
    CHECK(s1 && geti(s1, "accesses") == 2 && geti(s1, "denied") == 1);
    json_decref(r);
    /* Filtered by user. */
    q.user = "mallory";
    CHECK_INT(audit_report_build(&src, &q, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "totals.events"), 6);
    CHECK_INT(geti(r, "totals.denied"), 5);
    json_decref(r);
    /* A time window that ends before everything: nothing. */
    q.user = NULL;
    q.to_us = 1000000;
    CHECK_INT(audit_report_build(&src, &q, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "totals.events"), 0);
    json_decref(r);

    /* Accounting: treatment, payment, operations are exempt; denials are not disclosures. */
    audit_query qa = {.subject = "3"};
    CHECK_INT(audit_accounting_build(&src, &qa, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "count"), 1);
    json_t *d0 = json_array_get(json_object_get(r, "disclosures"), 0);
    CHECK_STR(json_string_value(json_object_get(d0, "user")), "bob");
    CHECK_STR(json_string_value(json_object_get(d0, "purpose")), "research");
    CHECK_STR(json_string_value(json_object_get(d0, "role")), "physician");
    json_decref(r);
    qa.all_purposes = 1;
    CHECK_INT(audit_accounting_build(&src, &qa, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "count"), 2);
    json_decref(r);
    qa.all_purposes = 0;
    qa.subject = "7";
    CHECK_INT(audit_accounting_build(&src, &qa, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "count"), 1); /* the export for legal purposes */
    json_decref(r);
    qa.subject = "20";
    CHECK_INT(audit_accounting_build(&src, &qa, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "count"), 1); /* the emergency access */
    json_decref(r);

    /* Breach: everything bob touched. */
    policy *pol = NULL;
    char err[256];
    CHECK_INT(policy_parse(pol_text, strlen(pol_text), "test", &pol, err, sizeof err), 0);
    audit_query qb = {.user = "bob"};
    CHECK_INT(audit_breach_build(&src, &qb, "INC-1", 1796515200000000LL, pol, NULL, &r, warn,
                                 sizeof warn),
              0);
    CHECK_INT(geti(r, "affected_count"), 12);
    CHECK_INT(geti(r, "records"), 12); /* 10 + research + emergency (the grant is no access) */
    CHECK_INT(geti(r, "field_groups.diagnosis"), 11);
    CHECK_INT(geti(r, "field_groups.demographics"), 2);
    CHECK_INT(geti(r, "phi_kinds.name"), 1);
    CHECK_INT(geti(r, "phi_kinds.date"), 1);
    CHECK_STR(json_string_value(json_object_get(r, "notification_deadline")), "2027-02-04");
    CHECK(json_is_false(json_object_get(r, "hhs_immediate")));
    CHECK_STR(json_string_value(json_object_get(r, "media_notice")), "not required");
    json_decref(r);
    /* Key pattern. */
    qb.key_pattern = "patient:1?";
    CHECK_INT(audit_breach_build(&src, &qb, "INC-1", 0, pol, NULL, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "affected_count"), 5); /* 10..14 */
    json_decref(r);
    policy_unref(pol);
out:
    teardown();
}

TEST(t_breach_large)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    A = open_trail(&o);
    if (!A) goto out;
    json_t *states = json_object();
    for (int i = 1; i <= 600; i++) {
        rec(AUDIT_EV_ACCESS, AUDIT_GRANTED, "eve", "billing", i, "name", 0, "payment", 0, 0);
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        json_object_set_new(states, s, json_string(i <= 510 ? "CA" : "NV"));
    }
    audit_close(A);
    audit_source src = {adir, asl, &apub};
    audit_query q = {0};
    json_t *r;
    char warn[512];
    CHECK_INT(audit_breach_build(&src, &q, "INC-2", 0, NULL, NULL, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "affected_count"), 600);
    CHECK(json_is_true(json_object_get(r, "hhs_immediate")));
    CHECK_STR(json_string_value(json_object_get(r, "media_notice")), "undetermined");
    CHECK_INT(geti(r, "fields.name"), 600);
    json_decref(r);
    CHECK_INT(audit_breach_build(&src, &q, "INC-2", 0, NULL, states, &r, warn, sizeof warn), 0);
    CHECK_STR(json_string_value(json_object_get(r, "media_notice")), "required");
    CHECK_INT(geti(r, "residents_by_state.CA"), 510);
    json_decref(r);
    /* 499 in one state, 101 in another: no media notice. */
    for (int i = 500; i <= 510; i++) {
        char s[16];
        snprintf(s, sizeof s, "%d", i);
        json_object_set_new(states, s, json_string("NV"));
    }
    CHECK_INT(audit_breach_build(&src, &q, "INC-2", 0, NULL, states, &r, warn, sizeof warn), 0);
    CHECK_STR(json_string_value(json_object_get(r, "media_notice")), "not required");
    json_decref(r);
    json_decref(states);
out:
    teardown();
}

/* Keys and subjects are binary: a NUL byte in one (written as \u0000 in the JSON) must not
 * take the record out of the reports, nor make "P\0X" count as "P". */
TEST(t_nul_bytes)
{
    setup();
    audit_opts o;
    audit_opts_default(&o);
    A = open_trail(&o);
    if (!A) goto out;
    static const char key1[] = "patient:\0x", key2[] = "patient:9";
    static const char *subj[2] = {"P\0X", "P"};
    static const size_t subjlen[2] = {3, 1};
    for (int i = 0; i < 2; i++) {
        audit_rec r = {.type = AUDIT_EV_ACCESS,
                       .result = AUDIT_GRANTED,
                       .user = "eve",
                       .role = "nurse",
                       .cmd = "hgetall",
                       .key = i ? key2 : key1,
                       .keylen = i ? strlen(key2) : sizeof key1 - 1,
                       .subject = subj[i],
                       .subjectlen = subjlen[i],
                       .purpose = "research"};
        CHECK_INT(audit_append(A, &r), 0);
    }
    audit_close(A);
    audit_source src = {adir, asl, &apub};
    audit_query q = {0};
    json_t *r = NULL;
    char warn[512];
    CHECK_INT(audit_report_build(&src, &q, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "totals.events"), 2);
    json_t *a = find(json_object_get(r, "subjects"), "subject", "P\\u0000X");
    json_t *b = find(json_object_get(r, "subjects"), "subject", "P");
    CHECK(a && geti(a, "accesses") == 1);
    CHECK(b && geti(b, "accesses") == 1);
    json_decref(r);
    audit_query qa = {.subject = "P"};
    CHECK_INT(audit_accounting_build(&src, &qa, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "count"), 1);
    json_decref(r);
    policy *pol = NULL;
    char err[256];
    CHECK_INT(policy_parse(pol_text, strlen(pol_text), "test", &pol, err, sizeof err), 0);
    audit_query qb = {.user = "eve", .key_pattern = "patient:*"};
    CHECK_INT(audit_breach_build(&src, &qb, "INC-2", 0, pol, NULL, &r, warn, sizeof warn), 0);
    CHECK_INT(geti(r, "affected_count"), 2);
    CHECK_INT(geti(r, "records"), 2);
    json_decref(r);
    policy_unref(pol);
out:
    teardown();
}

UNIT_MAIN(T(t_reports), T(t_breach_large), T(t_nul_bytes))
