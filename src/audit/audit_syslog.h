/*
 * audit_syslog: the SIEM sink. Audit lines (all, without key and subject, or only
 * the signed checkpoints) are sent as RFC 5424 messages over TLS with RFC 5425
 * octet-counting framing ("LEN SP MSG"), from a thread of their own, through a
 * bounded queue. The server certificate must chain to the configured CA and
 * match the host name; a client certificate is sent when configured. A lost
 * connection is re-established with exponential backoff (100 ms to 30 s).
 */
#ifndef AUDIT_SYSLOG_H
#define AUDIT_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

typedef struct audit_sink audit_sink;

/* Start the sink thread. state(ud, up) is called from the sink thread whenever the
 * connection goes up or down. Returns NULL with err (bad CA or certificate files). */
audit_sink *audit_sink_new(const audit_syslog_opts *o, void (*state)(void *ud, int up), void *ud,
                           char *err, size_t errlen);
/* Queue a record line (without '\n'); ckpt marks a checkpoint. Never blocks: when the
 * queue is full the line is dropped and counted. */
void audit_sink_push(audit_sink *s, const char *line, size_t n, int ckpt);
/* 1 while connected. */
int audit_sink_up(audit_sink *s);
/* Sent and dropped message counts. */
void audit_sink_counts(audit_sink *s, uint64_t *sent, uint64_t *dropped);
/* Try to send what is queued (up to timeout_ms), stop the thread, free. */
void audit_sink_free(audit_sink *s, int timeout_ms);

#endif
