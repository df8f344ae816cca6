/*
 * tzrule: the POSIX TZ rule that ends a TZif file (RFC 8536, section 3.3: the "footer"),
 * for the times after the file's last transition.
 *
 * Debian's zoneinfo files list transitions until 2037; files built "slim" (zic -b slim,
 * the tz project's default) list only the irregular past and leave every regular
 * daylight-saving change to the footer. Without it, local time is wrong after the last
 * listed transition, from the start with slim files.
 *
 * Accepted: std offset [dst [offset] [,start[/time],end[/time]]], names alphabetic (3 or
 * more letters) or quoted in <>, offsets [+-]hh[:mm[:ss]] (west of Greenwich positive,
 * as POSIX has it; at most 24 hours), dates Jn (1-365, February 29 never counted), n
 * (0-365) and Mm.w.d, times [+-]hh[:mm[:ss]] up to 167 hours (the RFC 8536 extension). A dst name without
 * a rule is refused: the TZif footers zic writes always carry one.
 */
#ifndef TZRULE_H
#define TZRULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char kind; /* 'J' (Jn), 'D' (n), 'M' (Mm.w.d) */
    int n;     /* J: 1-365; D: 0-365 */
    int m, w, d;
    int32_t secs; /* local time of day of the change (may be negative or past 24 h) */
} tz_date;

typedef struct {
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    tz_date start, end; /* daylight time starts (in standard time), ends (in daylight time) */
} tz_rule;

/* Parse the rule s (n bytes, no newline). Returns 0, or -1 when it is not a valid rule. */
int tz_rule_parse(const char *s, size_t n, tz_rule *r);
/* Offset east of UTC, in seconds, at t (seconds since the epoch, UTC). */
int32_t tz_rule_offset(const tz_rule *r, int64_t t);

#endif
