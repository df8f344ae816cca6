/*
 * audit_conf: the audit-* and alert-* directives as module options (see audit_conf.h).
 * Kept apart from config.c so the directive table does not depend on the audit module.
 */
#include "audit/audit_conf.h"

void audit_opts_from_config(const config *c, audit_opts *o)
{
    audit_opts_default(o);
    o->dir = c->audit_dir;
    o->fsync_always = c->audit_fsync == 1;
    o->segment_max_bytes = c->audit_segment_max;
    o->checkpoint_records = c->audit_ckpt_records;
    o->checkpoint_ms = c->audit_ckpt_secs * 1000;
    o->retention_days = c->audit_retention_days;
    if (c->audit_syslog_host && *c->audit_syslog_host) {
        o->syslog.host = c->audit_syslog_host;
        o->syslog.port = c->audit_syslog_port;
        o->syslog.ca = c->audit_syslog_ca;
        o->syslog.cert =
            c->audit_syslog_cert && *c->audit_syslog_cert ? c->audit_syslog_cert : NULL;
        o->syslog.key = c->audit_syslog_key && *c->audit_syslog_key ? c->audit_syslog_key : NULL;
        o->syslog.records = c->audit_syslog_records;
    }
    /* Also without a host: audit_open refuses a required sink that is not configured. */
    o->syslog.required = c->audit_required_sinks == 1;
}

void alert_opts_from_config(const config *c, alert_opts *o)
{
    alert_opts_default(o);
    o->denials_per_hour = c->alert_denials;
    o->hours = c->alert_hours;
    o->timezone = c->alert_timezone;
    o->subjects_count = c->alert_subjects_count;
    o->subjects_minutes = c->alert_subjects_minutes;
}
