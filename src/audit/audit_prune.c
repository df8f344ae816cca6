/*
 * audit_prune: removal of segments after the retention period, recorded in the trail.
 *
 * Only whole segments go, oldest first, and only while every record of the segment is
 * older than the retention period: a segment's records all lie on its UTC day (segments
 * rotate at midnight UTC), so the day in its name decides. The newest segment is never
 * removed. Before removing anything the segment after the last one removed is read to
 * learn the chain position (its header: first seq and the hash before it), which goes
 * into the prune record as "through_seq" and "head"; `audit verify` then accepts a trail
 * that starts there, and only there.
 *
 * Offline (`phidb audit prune`, server stopped) the record goes into a trail opened for
 * it; online (PHI.AUDIT PRUNE) into the running server's trail, and the segments are
 * removed once the writer has written it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_seg.h"
#include "util/mem.h"

/* Remove the segments past retention from o->dir, after recording the prune in live (the
 * running server's trail) or, when live is NULL, in a trail opened for the purpose. who
 * gives the user, role, address and session of the record. Under the readers' lock. */
static int prune_locked(const audit_opts *o, keyring *kr, audit *live, int64_t now_us,
                        const audit_rec *who, int *removed, char *err, size_t errlen)
{
    uint64_t *ids;
    char **names;
    int n = audit_seg_list(o->dir, &ids, &names);
    if (n < 0) {
        snprintf(err, errlen, "cannot read audit-dir %s: %s", o->dir, strerror(errno));
        return -1;
    }
    int64_t cutoff_day = now_us / 1000000 / 86400 - o->retention_days;
    int k = 0; /* segments [0, k) go */
    while (k < n - 1) {
        const char *d = names[k] + 17; /* YYYYMMDD */
        char iso[11] = {d[0], d[1], d[2], d[3], '-', d[4], d[5], '-', d[6], d[7], 0};
        int64_t t;
        if (audit_parse_ts(iso, &t) != 0 || t / 1000000 / 86400 >= cutoff_day) break;
        k++;
    }
    int rc = 0;
    if (k > 0) {
        /* The chain position after the removed ones: the header of segment k. Segments
         * before the newest are complete: a running writer only writes the newest. */
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", o->dir, names[k]);
        uint8_t hb[AUDIT_SEG_HEADER];
        audit_seg_header h;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || pread(fd, hb, sizeof hb, 0) != (ssize_t)sizeof hb ||
            audit_seg_header_decode(hb, &h) != 0) {
            snprintf(err, errlen, "cannot read the header of %s", path);
            if (fd >= 0) close(fd);
            audit_seg_list_free(ids, names, n);
            return -1;
        }
        close(fd);
        /* Record first (a trail whose prune is not recorded would look tampered with). */
        audit *a = live ? live : audit_open(o, kr, err, errlen);
        if (!a) {
            audit_seg_list_free(ids, names, n);
            return -1;
        }
        char head[65], detail[512];
        audit_hex(h.prev, 32, head);
        snprintf(detail, sizeof detail,
                 "{\"removed\":%d,\"first_segment\":%llu,\"last_segment\":%llu,"
                 "\"through_seq\":%llu,\"head\":\"%s\",\"retention_days\":%d}",
                 k, (unsigned long long)ids[0], (unsigned long long)ids[k - 1],
                 (unsigned long long)(h.first_seq - 1), head, o->retention_days);
        audit_rec r = *who;
        r.type = AUDIT_EV_PRUNE;
        r.result = AUDIT_GRANTED;
        r.cmd = live ? "phi.audit" : "audit prune";
        r.action = live ? "prune" : NULL;
        r.detail = detail;
        r.ts_us = 0;
        if (audit_append(a, &r) != 0 || audit_flush(a, live ? 5000 : 30000) != 0) {
            snprintf(err, errlen, "cannot record the prune: %s", audit_error(a));
            if (!live) audit_close(a);
            audit_seg_list_free(ids, names, n);
            return -1;
        }
        if (!live) audit_close(a);
        for (int i = 0; i < k; i++) {
            snprintf(path, sizeof path, "%s/%s", o->dir, names[i]);
            if (unlink(path) != 0) {
                snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
                rc = -1;
                break;
            }
            (*removed)++;
        }
    }
    audit_seg_list_free(ids, names, n);
    return rc;
}

/* prune_locked, once no reader of the trail is running (it does not wait for one). */
static int prune(const audit_opts *o, keyring *kr, audit *live, int64_t now_us,
                 const audit_rec *who, int *removed, char *err, size_t errlen)
{
    *removed = 0;
    /* Readers (verify, reports, export, tail) hold the lock shared for a whole pass. */
    int lk = audit_dir_lock(o->dir, 1);
    if (lk < 0) {
        if (lk == -2)
            snprintf(err, errlen,
                     "a reader of the trail (phidb audit verify, report, export, tail, "
                     "accounting or breach-report) is running: try again when it has finished");
        else
            snprintf(err, errlen, "cannot lock %s/audit.lock: %s", o->dir, strerror(errno));
        return -1;
    }
    int rc = prune_locked(o, kr, live, now_us, who, removed, err, errlen);
    close(lk);
    return rc;
}

int audit_prune_dir(const audit_opts *o, keyring *kr, int64_t now_us, const char *user,
                    int *removed, char *err, size_t errlen)
{
    audit_rec who = {.user = user};
    return prune(o, kr, NULL, now_us, &who, removed, err, errlen);
}

int audit_prune_live(audit *a, const audit_opts *o, int64_t now_us, const audit_rec *who,
                     int *removed, char *err, size_t errlen)
{
    return prune(o, NULL, a, now_us, who, removed, err, errlen);
}
