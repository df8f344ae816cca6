/*
 * breach: `phidb breach-report`, the impact of a security incident from the audit trail
 * (45 CFR 164.404-410).
 *
 *   phidb breach-report DIR --incident ID --start T --end T [--user U] [--key PATTERN]
 *                       [--discovered T] [--policy FILE] [--states FILE] [--format text|json]
 *
 * Counted: granted accesses and exports in [start, end] (by U, on keys matching PATTERN).
 * Affected individuals are the distinct subjects of those records. Field groups and PHI
 * kinds come from the policy file (--policy, else the config's policy-file directive when
 * it has one): audit records carry field names, the policy says what they hold. Deadlines:
 * individuals within 60 days of discovery (--discovered, default now); HHS at the same time
 * when 500 or more are affected; media when more than 500 residents of one state are.
 * Audit records hold no values, so residence comes from --states, a CSV of "subject,state"
 * lines exported from the record system; without it media notice is "undetermined" above
 * 500 affected. A malformed --states line, or --end before --start, is refused rather than
 * reported on: a report of fewer people than were affected is worse than none.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "access/policy.h"
#include "audit_tool.h"
#include "tools.h"
#include "toolutil.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: phidb breach-report DIR --incident ID --start T --end T [--user U]\n"
                 "                           [--key PATTERN] [--discovered T] [--policy FILE]\n"
                 "                           [--states FILE] [--format text|json]\n");
}

/* Trim spaces and tabs, then (quotes) one pair of surrounding double quotes, as CSV
 * exporters write. */
static char *trim_field(char *p, int quotes)
{
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    if (quotes && e - p >= 2 && *p == '"' && e[-1] == '"') {
        e[-1] = '\0';
        p++;
    }
    return p;
}

/* Check one field: non-empty, printable ASCII (no control bytes, quotes or commas);
 * is_state: letters, spaces, '.' and '-' only (a code such as CA or a name). */
static const char *field_problem(const char *f, int is_state)
{
    if (!*f) return "is empty";
    if (strlen(f) > (is_state ? 64 : 256)) return "is too long";
    for (const unsigned char *p = (const unsigned char *)f; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == ',')
            return "holds a character that is not allowed";
        if (is_state && !isalpha(*p) && *p != ' ' && *p != '.' && *p != '-')
            return "is not a state (letters, spaces, '.' and '-' only)";
    }
    return NULL;
}

/* Read a --states file: "subject,state" lines (a header line "subject,state" and blank lines
 * are skipped; states are compared in upper case). Any other line is refused, naming the
 * file and the line number (never its content: subjects identify patients). Returns the map
 * or NULL (message printed). */
static json_t *load_states(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "phidb breach-report: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    json_t *m = json_object();
    char line[512];
    const char *why = NULL;
    int n = 0, seen = 0;
    while (!why && fgets(line, sizeof line, f)) {
        n++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            why = "is too long";
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *t = trim_field(line, 0);
        if (!*t) continue;
        if (!seen++ && strcasecmp(t, "subject,state") == 0) continue;
        char *comma = strchr(t, ',');
        if (!comma) {
            why = "has no comma (expected subject,state)";
            break;
        }
        *comma = '\0';
        if (strchr(comma + 1, ',')) {
            why = "has more than two fields (expected subject,state)";
            break;
        }
        char *subj = trim_field(t, 1), *state = trim_field(comma + 1, 1);
        const char *bad = field_problem(subj, 0);
        if (bad) {
            why =
                strcmp(bad, "is empty") == 0 ? "has no subject" : "has a subject that is not valid";
            break;
        }
        if ((bad = field_problem(state, 1))) {
            why = strcmp(bad, "is empty") == 0 ? "has no state" : "has a state that is not valid";
            break;
        }
        for (char *p = state; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        const char *had = json_string_value(json_object_get(m, subj));
        if (had && strcmp(had, state) != 0) {
            why = "gives a second, different state for a subject listed before";
            break;
        }
        json_object_set_new(m, subj, json_string(state));
    }
    if (!why && ferror(f)) why = "cannot be read";
    fclose(f);
    if (why) {
        fprintf(stderr, "phidb breach-report: %s line %d %s; nothing was reported\n", path, n, why);
        json_decref(m);
        return NULL;
    }
    return m;
}

/* "title: a (1) b (2)" then end (a newline, or ")" and a newline inside parentheses). */
static void print_counts(const char *title, json_t *o, const char *end)
{
    printf("%s:", title);
    if (!json_object_size(o)) printf(" none");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) printf(" %s (%lld)", k, (long long)json_integer_value(v));
    printf("%s", end);
}

static void print_text(json_t *r)
{
#define S(k)                                                                                       \
    (json_string_value(json_object_get(r, k)) ? json_string_value(json_object_get(r, k)) : "-")
#define I(k) ((long long)json_integer_value(json_object_get(r, k)))
    printf("Breach report for incident %s\n", S("incident"));
    printf("Window: %s .. %s%s%s%s%s\n", S("from"), S("to"),
           json_object_get(r, "user") ? ", user " : "", json_object_get(r, "user") ? S("user") : "",
           json_object_get(r, "key_pattern") ? ", keys " : "",
           json_object_get(r, "key_pattern") ? S("key_pattern") : "");
    printf("Discovered: %s\n\n", S("discovered"));
    printf("Records counted (granted accesses and exports): %lld\n", I("records"));
    printf("Affected individuals (distinct subjects): %lld\n", I("affected_count"));
    printf("Keys without a subject: %lld\n", I("keys_without_subject"));
    print_counts("Field groups exposed", json_object_get(r, "field_groups"), "\n");
    print_counts("PHI kinds exposed", json_object_get(r, "phi_kinds"), "\n");
    print_counts("Fields exposed", json_object_get(r, "fields"), "\n");
    print_counts("Accesses per user", json_object_get(r, "users"), "\n");
    if (!json_is_true(json_object_get(r, "policy_used")))
        printf("(no policy file: field groups and PHI kinds unknown, field names listed)\n");
    printf("\nNotify individuals by: %s (60 days after discovery)\n", S("notification_deadline"));
    printf("HHS: %s\n", json_is_true(json_object_get(r, "hhs_immediate"))
                            ? "notify now, together with the individuals (500 or more affected)"
                            : "log it; report within 60 days after the end of the calendar "
                              "year (fewer than 500 affected)");
    printf("Media notice: %s", S("media_notice"));
    if (json_object_get(r, "residents_by_state"))
        print_counts(" (residents by state", json_object_get(r, "residents_by_state"), ")\n");
    else
        printf(" (no --states mapping: state of residence unknown)\n");
    printf("\nAffected subjects:\n");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "affected_subjects"), i, v)
        printf("  %s\n", json_string_value(v));
#undef S
#undef I
}

int breach_cli_main(int argc, char **argv)
{
    if (tool_asks_help(argc, argv, 1)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    audit_query q = {0};
    const char *incident = NULL, *states_file = NULL, *policy_file = NULL;
    int json_out = 0, have_start = 0, have_end = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t discovered = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    for (int i = 2; i < argc; i += 2) { /* options and their values */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--incident") == 0)
            incident = v;
        else if (strcmp(a, "--start") == 0) {
            if (audit_tool_time(v, 0, &q.from_us) != 0) return 2;
            have_start = 1;
        } else if (strcmp(a, "--end") == 0) {
            if (audit_tool_time(v, 1, &q.to_us) != 0) return 2;
            have_end = 1;
        } else if (strcmp(a, "--discovered") == 0) {
            if (audit_tool_time(v, 0, &discovered) != 0) return 2;
        } else if (strcmp(a, "--user") == 0)
            q.user = v;
        else if (strcmp(a, "--key") == 0)
            q.key_pattern = v;
        else if (strcmp(a, "--states") == 0)
            states_file = v;
        else if (strcmp(a, "--policy") == 0)
            policy_file = v;
        else if (strcmp(a, "--format") == 0 && (!strcmp(v, "json") || !strcmp(v, "text")))
            json_out = strcmp(v, "json") == 0;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!incident || !have_start || !have_end) {
        usage(stderr);
        return 2;
    }
    if (q.to_us < q.from_us) { /* an empty window would report 0 records, as if all clear */
        fprintf(stderr, "phidb breach-report: --end is before --start; give the window in "
                        "order\n");
        return 2;
    }
    audit_tool t;
    if (audit_tool_open(argv[1], &t, NULL) != 0) return 1;
    int rc = 0;
    policy *pol = NULL;
    json_t *states = NULL;
    buf pf = {0};
    if (!policy_file) {
        int d = config_find("policy-file");
        if (d >= 0) {
            config_get(t.conf, (size_t)d, &pf);
            if (pf.len) policy_file = buf_cstr(&pf);
        }
    }
    char err[1024];
    if (policy_file && policy_load_file(policy_file, &pol, err, sizeof err) != 0) {
        fprintf(stderr, "phidb breach-report: %s\n", err);
        rc = 1;
        goto out;
    }
    if (states_file && !(states = load_states(states_file))) {
        rc = 1;
        goto out;
    }
    json_t *r = NULL;
    char warn[1024] = "";
    int vr =
        audit_breach_build(&t.src, &q, incident, discovered, pol, states, &r, warn, sizeof warn);
    if (vr != 0) {
        fprintf(stderr, "phidb breach-report: WARNING: %s\n", warn);
        rc = 1;
    }
    if (json_out) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
    } else {
        print_text(r);
    }
    json_decref(r);
out:
    json_decref(states);
    policy_unref(pol);
    buf_free(&pf);
    audit_tool_close(&t);
    return rc;
}
