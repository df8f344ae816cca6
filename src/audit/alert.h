/*
 * alert: rules over the stream of audit records, each firing an alert (a JSON object)
 * through a callback; the server publishes it (pub/sub) and records it (AUDIT_EV_ALERT).
 *
 * Rules (each off when its threshold is 0 or its text empty):
 *  - "denials":       one user denied >= denials_per_hour times within an hour;
 *  - "after-hours":   a granted access to PHI (a record with a key, subject or fields)
 *                     outside the working hours (e.g. 07:00-19:00) in an IANA time zone;
 *  - "bulk-subjects": one user reaching more than subjects_count distinct subjects within
 *                     subjects_minutes;
 *  - "breakglass":    every break-glass grant;
 *  - "lockout":       every lockout;
 *  - "audit-failure": the audit trail or a sink failing (alert_health);
 *  - "dlp":           dlp-mode found PHI in a write's key names or undeclared values
 *                     (alert_dlp), with the types found and whether it was refused: at
 *                     most one a user a minute.
 * A rule that fired for a user stays quiet for that user for its window (an hour, or
 * subjects_minutes), so one incident is one alert, not thousands.
 *
 * Memory is bounded: at most max_users users are tracked (the least recently seen one is
 * forgotten first), each with 60 minute counters and at most subjects_count + 1 subject
 * digests (64-bit hashes, never the subject itself). Alerts carry user names, roles,
 * counts and times, never key names, subjects or values.
 *
 * Time zones are read from the system's TZif files (/usr/share/zoneinfo), once, at
 * alert_new: no TZ environment games in a threaded server.
 *
 * Threads: one engine per thread (no locking inside).
 */
#ifndef ALERT_H
#define ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

typedef struct alert_engine alert_engine;

typedef struct alert_opts {
    int denials_per_hour;     /* 0: off */
    const char *hours;        /* working hours "HH:MM-HH:MM" (may wrap midnight); NULL/"": off */
    const char *timezone;     /* IANA name ("Europe/Berlin"); NULL/"" or "UTC": UTC */
    int subjects_count;       /* 0: off */
    int subjects_minutes;     /* window of the subjects rule (default 10) */
    int breakglass;           /* 1: alert on every break-glass grant (default 1) */
    int lockout;              /* 1: alert on every lockout (default 1) */
    int max_users;            /* users tracked at most (default 10000) */
    const char *zoneinfo_dir; /* NULL: /usr/share/zoneinfo */
} alert_opts;

/* The defaults: 10 denials per hour, 07:00-19:00 UTC, 50 subjects in 10 minutes,
 * break-glass and lockouts on. */
void alert_opts_default(alert_opts *o);

/* Make an engine. Returns NULL with err (bad hours text, unknown time zone). */
alert_engine *alert_new(const alert_opts *o, char *err, size_t errlen);
/* Feed one record (time now_us, UTC microseconds); emit(ud, json, len) is called for each
 * alert fired (json is valid while the call runs). */
void alert_observe(alert_engine *e, const audit_rec *r, int64_t now_us,
                   void (*emit)(void *ud, const char *json, size_t len), void *ud);
/* Tell the engine a component's health (component "audit" or "syslog"): an alert fires
 * when it turns bad (reason: no PHI). */
void alert_health(alert_engine *e, const char *component, int ok, const char *reason,
                  int64_t now_us, void (*emit)(void *ud, const char *json, size_t len), void *ud);
/* A dlp finding by r's user (r: who, cmd): in_keys and in_values name the types found
 * ("NAME, DATE"; NULL or "" for none), refused says block. Never the text. */
void alert_dlp(alert_engine *e, const audit_rec *r, const char *in_keys, const char *in_values,
               int refused, int64_t now_us, void (*emit)(void *ud, const char *json, size_t len),
               void *ud);
/* Users currently tracked (for tests of the memory bound). */
size_t alert_tracked_users(const alert_engine *e);
/* UTC offset in seconds of the engine's time zone at t (UTC seconds). */
int alert_utc_offset(const alert_engine *e, int64_t t);
/* Free (NULL is fine). */
void alert_free(alert_engine *e);

#endif
