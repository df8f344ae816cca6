/*
 * tzrule: POSIX TZ rules (see tzrule.h).
 */
#include "util/tzrule.h"

#include <string.h>

typedef struct {
    const char *p, *e;
} cursor;

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* A zone abbreviation: 3 or more letters, or <...> of letters, digits, '+' and '-'. */
static int parse_name(cursor *c)
{
    const char *s;
    if (c->p < c->e && *c->p == '<') {
        s = ++c->p;
        while (c->p < c->e && *c->p != '>') {
            if (!is_alpha(*c->p) && !is_digit(*c->p) && *c->p != '+' && *c->p != '-') return -1;
            c->p++;
        }
        if (c->p == c->e || c->p - s < 3) return -1;
        c->p++;
        return 0;
    }
    s = c->p;
    while (c->p < c->e && is_alpha(*c->p))
        c->p++;
    return c->p - s >= 3 ? 0 : -1;
}

/* Up to maxd digits, at least one; the value in *v. */
static int parse_num(cursor *c, int maxd, int *v)
{
    int n = 0, d = 0;
    while (c->p < c->e && is_digit(*c->p) && d < maxd) {
        n = n * 10 + (*c->p++ - '0');
        d++;
    }
    if (d == 0 || (c->p < c->e && is_digit(*c->p))) return -1;
    *v = n;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh, in seconds. */
static int parse_hms(cursor *c, int maxh, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (c->p < c->e && (*c->p == '+' || *c->p == '-')) sign = *c->p++ == '-' ? -1 : 1;
    if (parse_num(c, 3, &h) != 0 || h > maxh) return -1;
    if (c->p < c->e && *c->p == ':') {
        c->p++;
        if (parse_num(c, 2, &m) != 0 || m > 59) return -1;
        if (c->p < c->e && *c->p == ':') {
            c->p++;
            if (parse_num(c, 2, &s) != 0 || s > 59) return -1;
        }
    }
    if (h * 3600 + m * 60 + s > maxh * 3600) return -1; /* 24:59 is past 24 hours */
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

static int parse_date(cursor *c, tz_date *d)
{
    memset(d, 0, sizeof *d);
    if (c->p < c->e && *c->p == 'J') {
        c->p++;
        d->kind = 'J';
        if (parse_num(c, 3, &d->n) != 0 || d->n < 1 || d->n > 365) return -1;
    } else if (c->p < c->e && *c->p == 'M') {
        c->p++;
        d->kind = 'M';
        if (parse_num(c, 2, &d->m) != 0 || d->m < 1 || d->m > 12) return -1;
        if (c->p == c->e || *c->p++ != '.') return -1;
        if (parse_num(c, 1, &d->w) != 0 || d->w < 1 || d->w > 5) return -1;
        if (c->p == c->e || *c->p++ != '.') return -1;
        if (parse_num(c, 1, &d->d) != 0 || d->d > 6) return -1;
    } else {
        d->kind = 'D';
        if (parse_num(c, 3, &d->n) != 0 || d->n > 365) return -1;
    }
    d->secs = 2 * 3600;
    if (c->p < c->e && *c->p == '/') {
        c->p++;
        if (parse_hms(c, 167, &d->secs) != 0) return -1;
    }
    return 0;
}

int tz_rule_parse(const char *s, size_t n, tz_rule *r)
{
    cursor c = {s, s + n};
    int32_t v;
    memset(r, 0, sizeof *r);
    if (parse_name(&c) != 0 || parse_hms(&c, 24, &v) != 0) return -1;
    r->std_off = -v;
    if (c.p == c.e) return 0;
    if (parse_name(&c) != 0) return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (c.p < c.e && *c.p != ',') {
        if (parse_hms(&c, 24, &v) != 0) return -1;
        r->dst_off = -v;
    }
    if (c.p == c.e || *c.p++ != ',' || parse_date(&c, &r->start) != 0) return -1;
    if (c.p == c.e || *c.p++ != ',' || parse_date(&c, &r->end) != 0) return -1;
    return c.p == c.e ? 0 : -1;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t yy = y - 1; /* whole years before y, counted from year 1 */
    int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400 - 719162; /* 719162: 0001 to 1970 */
    days += before[m - 1] + (m > 2 && is_leap(y)) + d - 1;
    return days;
}

/* The year (proleptic Gregorian) that day `days` since 1970-01-01 falls in. */
static int64_t year_of_days(int64_t days)
{
    int64_t y = 1970 + (days >= 0 ? days : days - 365) / 365; /* close: within a few years */
    while (days_from_civil(y, 1, 1) > days)
        y--;
    while (days_from_civil(y + 1, 1, 1) <= days)
        y++;
    return y;
}

/* Day (since the epoch) on which date d falls in year y. */
static int64_t rule_day(int64_t y, const tz_date *d)
{
    static const int mlen[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t jan1 = days_from_civil(y, 1, 1);
    if (d->kind == 'J') return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
    if (d->kind == 'D') return jan1 + d->n;
    int64_t first = days_from_civil(y, d->m, 1);
    int wday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (d->d - wday + 7) % 7 + 7 * (d->w - 1);
    int len = mlen[d->m - 1] + (d->m == 2 && is_leap(y));
    while (day >= first + len)
        day -= 7; /* "week 5" is the last such weekday of the month */
    return day;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int32_t tz_rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->has_dst) return r->std_off;
    int64_t y = year_of_days(floor_div(t + r->std_off, 86400));
    int64_t start = rule_day(y, &r->start) * 86400 + r->start.secs - r->std_off;
    int64_t end = rule_day(y, &r->end) * 86400 + r->end.secs - r->dst_off;
    if (start <= end) return t >= start && t < end ? r->dst_off : r->std_off;
    return t >= end && t < start ? r->std_off : r->dst_off; /* southern hemisphere */
}
