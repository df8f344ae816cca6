/*
 * tool_audit: audit records of the offline tools (see tool_audit.h).
 */
#include "tool_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit_tool.h"
#include "store/backup.h"
#include "toolutil.h"
#include "util/mem.h"

static char *g_dir;
static int g_failed; /* the last action could not be recorded */

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* "alice (phidb restore)": the operating-system user and the tool. */
static void who_text(const char *tool, char *out, size_t cap)
{
    const struct passwd *pw = getpwuid(getuid());
    snprintf(out, cap, "%s (%s)", pw && pw->pw_name ? pw->pw_name : "?", tool);
}

/* The inbox file the running server picks up. */
static int to_inbox(const char *audit_dir, const char *action, const char *path, const char *who,
                    int ok, const char *why)
{
    char dir[4200], tmp[4400], final[4400];
    snprintf(dir, sizeof dir, "%s/inbox", audit_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
    json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I}", "action", action, "path", path, "who",
                          who, "ok", ok, "why", why ? why : "", "ts_us", (json_int_t)now_us());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) return -1;
    snprintf(tmp, sizeof tmp, "%s/.%lld-%d.tmp", dir, (long long)now_us(), (int)getpid());
    snprintf(final, sizeof final, "%s/%lld-%d.json", dir, (long long)now_us(), (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        size_t n = strlen(text);
        rc = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
        close(fd);
        if (rc == 0) rc = rename(tmp, final);
        if (rc != 0) unlink(tmp);
    }
    free(text);
    return rc;
}

static int type_of(const char *action)
{
    if (strcmp(action, "restore") == 0 || strcmp(action, "drill") == 0) return AUDIT_EV_RESTORE;
    if (strcmp(action, "export") == 0) return AUDIT_EV_EXPORT;
    return AUDIT_EV_BACKUP;
}

static void hook(const char *action, const char *path, const char *tool, int ok, const char *why)
{
    if (!g_dir) return;
    g_failed = 1; /* until recorded */
    char who[300];
    who_text(tool, who, sizeof who);
    audit_tool t;
    if (audit_tool_open(g_dir, &t, NULL) != 0) {
        fprintf(stderr, "phidb: the %s was not recorded in the audit trail of %s\n", action, g_dir);
        return;
    }
    int lock = tool_lock_dir("phidb", t.conf->dir);
    int done = -1;
    if (lock == -2) {
        done = to_inbox(t.opts.dir, action, path, who, ok, why);
    } else if (lock >= 0 && audit_tool_reopen(&t, g_dir) != 0) {
        close(lock); /* said why */
    } else if (lock >= 0) {
        /* Reopened under the lock: the keyring read before it may predate a server's last
         * nonce reservations, and writing the record reserves (and writes the file). */
        char err[512];
        /* A tool never changes the segments it finds: a torn last block (a server that
         * crashed) is the server's to cut when it starts; the record waits in the inbox,
         * which that start drains. */
        int torn = 0;
        t.opts.keep_torn = &torn;
        audit *a = audit_open(&t.opts, t.kr, err, sizeof err);
        if (!a && torn) {
            fprintf(stderr, "phidb: audit trail: %s\n", err);
            done = to_inbox(t.opts.dir, action, path, who, ok, why);
            if (done == 0)
                fprintf(stderr, "phidb: the %s is recorded when the server next starts\n", action);
        } else if (a) {
            char detail[4400];
            json_t *j = json_pack("{s:s}", "path", path);
            char *dt = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            snprintf(detail, sizeof detail, "%s", dt ? dt : "{}");
            free(dt);
            audit_rec r = {0};
            r.type = type_of(action);
            r.result = ok ? AUDIT_GRANTED : AUDIT_FAILED;
            r.user = who;
            r.action = action;
            r.reason = ok ? NULL : why;
            r.detail = detail;
            /* Taken while a required sink is still connecting (the module is unhealthy until
             * it is); the flush then waits for it to be written. */
            r.keep = 1;
            done = audit_append(a, &r) == 0 && audit_flush(a, 10000) == 0 ? 0 : -1;
            audit_close(a);
        } else {
            fprintf(stderr, "phidb: audit trail: %s\n", err);
        }
        close(lock);
    }
    g_failed = done != 0;
    if (done != 0)
        fprintf(stderr, "phidb: the %s could not be recorded in the audit trail of %s\n", action,
                g_dir);
    audit_tool_close(&t);
}

int tool_audit_failed(void)
{
    return g_failed;
}

void tool_audit_for(const char *dir_arg)
{
    free(g_dir);
    g_dir = dir_arg ? strdup(dir_arg) : NULL;
    backup_audit_hook = g_dir ? hook : NULL;
}
