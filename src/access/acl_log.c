/*
 * acl_log: ACL LOG, the recent refusals (see acl.h): one entry per reason, context, object
 * and user, counted again when the same refusal comes within 60 seconds, as Redis does.
 */
#include "acl_int.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"
#include "util/strutil.h"

static void log_entry_free(acl_log_entry *e)
{
    mem_free(e->object);
    mem_free(e->user);
    mem_free(e->client);
    memset(e, 0, sizeof *e);
}

void acl_log_add(acl *a, const char *reason, const char *context, const uint8_t *object,
                 size_t olen, const char *user, const char *client_info)
{
    long long now = clock_ms();
    if (olen > 128) olen = 128;
    /* Same event within 60 s: count it on the existing entry, as Redis does. */
    for (size_t i = 0; i < a->log_len; i++) {
        acl_log_entry *e = &a->log[i];
        if (now - e->updated < 60000 && strcmp(e->reason, reason) == 0 &&
            strcmp(e->context, context) == 0 && strlen(e->object) == olen &&
            memcmp(e->object, object, olen) == 0 && strcmp(e->user, user) == 0) {
            e->count++;
            e->updated = now;
            mem_free(e->client);
            e->client = mem_strdup(client_info);
            /* Move it to the front (newest). */
            acl_log_entry keep = *e;
            memmove(&a->log[1], &a->log[0], sizeof(acl_log_entry) * i);
            a->log[0] = keep;
            return;
        }
    }
    if (a->log_len == ACL_LOG_MAX) log_entry_free(&a->log[--a->log_len]);
    memmove(&a->log[1], &a->log[0], sizeof(acl_log_entry) * a->log_len);
    acl_log_entry *e = &a->log[0];
    memset(e, 0, sizeof *e);
    e->count = 1;
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    snprintf(e->context, sizeof e->context, "%s", context);
    e->object = mem_strndup((const char *)object, olen);
    e->user = mem_strdup(user);
    e->client = mem_strdup(client_info);
    e->created = e->updated = now;
    a->log_len++;
}

size_t acl_log_len(const acl *a)
{
    return a->log_len;
}

int acl_log_get(const acl *a, size_t i, acl_log_view *v)
{
    if (i >= a->log_len) return -1;
    const acl_log_entry *e = &a->log[i];
    v->count = e->count;
    v->reason = e->reason;
    v->context = e->context;
    v->object = e->object;
    v->user = e->user;
    v->client = e->client;
    v->created_ms = e->created;
    return 0;
}

void acl_log_reset(acl *a)
{
    for (size_t i = 0; i < a->log_len; i++)
        log_entry_free(&a->log[i]);
    a->log_len = 0;
}
