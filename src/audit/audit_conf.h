/*
 * audit_conf: phidb.conf directives (audit-*, alert-*) to audit_opts and alert_opts.
 * The options point into the config's strings: keep the config alive while they are used.
 */
#ifndef AUDIT_CONF_H
#define AUDIT_CONF_H

#include "audit/alert.h"
#include "audit/audit.h"
#include "config.h"

/* Fill o from c (defaults first, then the directives). */
void audit_opts_from_config(const config *c, audit_opts *o);
/* Fill o from c. */
void alert_opts_from_config(const config *c, alert_opts *o);

#endif
