/*
 * audit_tool: what the audit tools (tools/audit_cli.c, tools/breach.c) share: opening a
 * data directory's config, keyring, audit sealer and checkpoint public key.
 */
#ifndef AUDIT_TOOL_H
#define AUDIT_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "audit/audit.h"
#include "audit/audit_report.h"
#include "config.h"

typedef struct {
    config *conf;     /* the data directory's phidb.conf */
    keyring *kr;      /* its keyring (read only) */
    sealer *s;        /* audit-key sealer */
    audit_pubset pub; /* checkpoint public keys */
    audit_opts opts;  /* from the config (strings owned by conf) */
    audit_source src; /* for audit_scan and the reports */
} audit_tool;
/* Open DIR (a directory with phidb.conf, or a config file); pubfile overrides audit.pub.
 * Returns 0, or -1 after printing why. */
int audit_tool_open(const char *dir, audit_tool *t, const char *pubfile);
/* Close and open again (dir as for audit_tool_open, the default audit.pub): under the data
 * directory lock, to write with the keyring as it is then, not as it was read before. */
int audit_tool_reopen(audit_tool *t, const char *dir);
/* Release everything. */
void audit_tool_close(audit_tool *t);
/* Parse a UTC time argument (end_of_day: a bare date means its last microsecond). Prints
 * the error; returns 0 or -1. */
int audit_tool_time(const char *s, int end_of_day, int64_t *out);
/* Write s as a CSV field (quoted when needed). */
void audit_tool_csv_field(FILE *out, const char *s);

#endif
