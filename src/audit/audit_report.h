/*
 * audit_report: what compliance officers ask of the audit trail, computed over a
 * verified read of the segments (audit_verify_dir), each record parsed with jansson:
 *  - the activity report (totals, per user, per subject);
 *  - the accounting of disclosures for one subject (45 CFR 164.528);
 *  - the breach report for an incident (45 CFR 164.404-408).
 * Results are jansson objects (docs/audit.md lists their members); the tools print them
 * as text, JSON or CSV. A damaged trail still gives a result up to the first bad spot,
 * with that spot in *warn, and the return value 1.
 */
#ifndef AUDIT_REPORT_H
#define AUDIT_REPORT_H

#include <stdint.h>

#include <jansson.h>

#include "audit/audit_seg.h"
#include "store/seal.h"

struct policy;

typedef struct audit_query {
    int64_t from_us, to_us;  /* time range [from, to] (0: open end) */
    const char *user;        /* only this user (NULL: all) */
    const char *subject;     /* only this subject (NULL: all) */
    const char *key_pattern; /* only keys matching this glob (NULL: all) */
    int all_purposes;        /* accounting: include treatment, payment, operations */
} audit_query;

/* Where the trail is and how to read it. */
typedef struct audit_source {
    const char *dir;    /* audit-dir */
    sealer *s;          /* audit-key sealer */
    const audit_pubset *pub; /* signing public keys (NULL: signatures not checked) */
} audit_source;

/* Call fn for every record (parsed) in the query's time range and user/subject filters, in
 * order. fn returns non-zero to stop. Returns 0 (intact), 1 (damaged: warn says where; the
 * records before the bad spot were seen), -1 (unreadable, warn says why). */
int audit_scan(const audit_source *src, const audit_query *q,
               int (*fn)(void *ud, json_t *rec, const char *line, size_t n), void *ud, char *warn,
               size_t wlen);

/* Activity report: {"from","to","totals":{"events","granted","denied","logins",
 * "failed_logins","exports","emergency"},"users":[{"user","events","granted","denied",
 * "emergency","subjects"}...],"subjects":[{"subject","accesses","users"}...]}. */
int audit_report_build(const audit_source *src, const audit_query *q, json_t **out, char *warn,
                       size_t wlen);

/* Accounting of disclosures of q->subject (q->from_us 0: six years before q->to_us or now):
 * {"subject","from","to","excluded_purposes":[...],"disclosures":[{"date","user","role",
 * "command","fields","purpose","emergency","reason"}...],"count"}. */
int audit_accounting_build(const audit_source *src, const audit_query *q, json_t **out, char *warn,
                           size_t wlen);

/* Breach report of incident `incident` (granted accesses and exports in [from, to], user
 * and key filters from q). pol (may be NULL) maps field names to groups and PHI kinds;
 * states (a JSON object subject -> state, may be NULL) decides media notice;
 * discovered_us is the discovery time (deadline = +60 days). See docs/audit.md. */
int audit_breach_build(const audit_source *src, const audit_query *q, const char *incident,
                       int64_t discovered_us, const struct policy *pol, json_t *states,
                       json_t **out, char *warn, size_t wlen);

#endif
