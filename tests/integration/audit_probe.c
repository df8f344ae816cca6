/*
 * audit_probe: drives the audit module from a data directory's phidb.conf, for the
 * integration tests (test_audit.py), without a server: opens the trail with the config's
 * audit-* directives (syslog sink included), appends N access records, waits until they
 * are written and (with a sink) sent, prints one JSON line with what happened, closes.
 *
 *   audit_probe CONF N [WAIT_MS]
 *
 * Output: {"healthy":0|1,"accepted":A,"last_seq":S,"durable_seq":D,"connected":0|1,
 *          "sent":X,"dropped":Y,"error":"..."}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_conf.h"
#include "config.h"
#include "store/keyring.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: audit_probe CONF N [WAIT_MS]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    int wait_ms = argc > 3 ? atoi(argv[3]) : 10000;
    char err[1024], krp[4200];
    config *c = config_new();
    if (config_load(c, argv[1], 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "audit_probe: %s\n", err);
        return 1;
    }
    keyring_kek_source src = {c->master_key_file, NULL, NULL};
    snprintf(krp, sizeof krp, "%s/keyring", c->dir);
    keyring *kr = keyring_open(krp, &src, 1, err, sizeof err); /* as the server would */
    if (!kr) {
        fprintf(stderr, "audit_probe: %s\n", err);
        return 1;
    }
    audit_opts o;
    audit_opts_from_config(c, &o);
    audit *a = audit_open(&o, kr, err, sizeof err);
    if (!a) {
        fprintf(stderr, "audit_probe: %s\n", err);
        return 1;
    }
    /* A required sink needs a moment to connect. */
    for (int i = 0; i < wait_ms / 20 && !audit_healthy(a); i++)
        usleep(20000);
    static const char *const fields[] = {"name", "dob"};
    static const size_t lens[] = {4, 3};
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        char key[32], subj[16];
        snprintf(key, sizeof key, "patient:%d", i);
        snprintf(subj, sizeof subj, "%d", i);
        audit_rec r = {.type = AUDIT_EV_ACCESS,
                       .result = AUDIT_GRANTED,
                       .user = "probe",
                       .role = "nurse",
                       .addr = "127.0.0.1:1",
                       .session = 1,
                       .cmd = "hmget",
                       .key = key,
                       .keylen = strlen(key),
                       .subject = subj,
                       .subjectlen = strlen(subj),
                       .fields = fields,
                       .fieldlens = lens,
                       .nfields = 2,
                       .purpose = "treatment"};
        if (audit_append(a, &r) == 0) accepted++;
    }
    audit_flush(a, wait_ms);
    int connected;
    uint64_t sent, dropped;
    for (int i = 0; i < wait_ms / 20; i++) {
        audit_sink_stats(a, &connected, &sent, &dropped);
        if (!o.syslog.host || sent + dropped >= audit_last_seq(a)) break;
        usleep(20000);
    }
    json_t *j =
        json_pack("{s:i,s:i,s:I,s:I,s:i,s:I,s:I,s:s}", "healthy", audit_healthy(a), "accepted",
                  accepted, "last_seq", (json_int_t)audit_last_seq(a), "durable_seq",
                  (json_int_t)audit_durable_seq(a), "connected", connected, "sent",
                  (json_int_t)sent, "dropped", (json_int_t)dropped, "error", audit_error(a));
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(j);
    audit_close(a);
    keyring_close(kr);
    config_free(c);
    return 0;
}
