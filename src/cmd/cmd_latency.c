/*
 * LATENCY: the latency monitor (LATEST, HISTORY, RESET, DOCTOR, HELP) and per-command latency
 * histograms (HISTOGRAM), with Redis 7.0's replies.
 *
 * Monitor: with latency-monitor-threshold N > 0 (milliseconds), a command that held the event
 * loop N ms or more adds a sample to the event "command" ("fast-command" for commands flagged
 * fast), as Redis does. An event keeps its last 160 samples (one a second: a second sample in
 * the same second keeps the larger latency) and its largest latency since the last reset.
 *
 * Histograms: with latency-tracking yes (the default), every command's duration (the time
 * INFO commandstats adds up) falls into a power-of-two bucket of microseconds; HISTOGRAM
 * gives the cumulative counts of the non-empty buckets, keyed by their upper bound (1, 2, 4
 * ... 2^30 us; longer: the last). CONFIG RESETSTAT clears them, as in Redis. Redis keys its
 * buckets by HdrHistogram's bounds (1, 2, 4, 8, 16, 33, 66 ...): the counts are comparable,
 * the keys past 16 us differ slightly.
 *
 * Nothing here holds a key, a value or an argument: event names, times, durations and
 * command names only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "util/mem.h"
#include "util/strutil.h"

#define LAT_SAMPLES 160

typedef struct {
    long long ts; /* unix seconds */
    long long ms; /* latency */
} lat_sample;

typedef struct {
    const char *name;
    lat_sample s[LAT_SAMPLES]; /* ring, next write at idx */
    int idx, n;
    long long max;
} lat_event;

static const char *const event_names[] = {"command", "fast-command"};
#define NEVENTS ((int)(sizeof event_names / sizeof event_names[0]))

struct latency {
    lat_event ev[NEVENTS];
};

static lat_event *event_find(srv *s, const uint8_t *p, size_t n)
{
    if (!s->latency) return NULL;
    for (int i = 0; i < NEVENTS; i++)
        if (strlen(event_names[i]) == n && str_eq_nocase(p, n, event_names[i]))
            return &s->latency->ev[i];
    return NULL;
}

void latency_command(srv *s, const cmd_def *d, long long us)
{
    cmd_stat *cs = &s->cmdstats[d->id];
    if (s->cfg->latency_tracking) {
        int b = 0;
        while (b < LATENCY_BUCKETS - 1 && (1LL << b) < us)
            b++;
        cs->hist[b]++;
    }
    long long thr = s->cfg->latency_monitor_threshold, ms = us / 1000;
    if (thr <= 0 || ms < thr) return;
    if (!s->latency) {
        s->latency = mem_calloc(sizeof *s->latency);
        for (int i = 0; i < NEVENTS; i++)
            s->latency->ev[i].name = event_names[i];
    }
    lat_event *e = &s->latency->ev[(d->flags & CMD_FAST) ? 1 : 0];
    long long now = clock_ms() / 1000;
    int last = (e->idx + LAT_SAMPLES - 1) % LAT_SAMPLES;
    if (e->n > 0 && e->s[last].ts == now) {
        if (ms > e->s[last].ms) e->s[last].ms = ms;
    } else {
        e->s[e->idx].ts = now;
        e->s[e->idx].ms = ms;
        e->idx = (e->idx + 1) % LAT_SAMPLES;
        if (e->n < LAT_SAMPLES) e->n++;
    }
    if (ms > e->max) e->max = ms;
}

void latency_free(srv *s)
{
    mem_free(s->latency);
    s->latency = NULL;
}

static const lat_sample *latest(const lat_event *e)
{
    return &e->s[(e->idx + LAT_SAMPLES - 1) % LAT_SAMPLES];
}

/* LATENCY LATEST: [event, time of the latest sample, its latency, the largest] per event
 * with samples. */
void latency_latest_cmd(client *c)
{
    struct latency *l = c->s->latency;
    int n = 0;
    for (int i = 0; l && i < NEVENTS; i++)
        n += l->ev[i].n > 0;
    rep_array(c, (size_t)n);
    for (int i = 0; l && i < NEVENTS; i++) {
        const lat_event *e = &l->ev[i];
        if (!e->n) continue;
        rep_array(c, 4);
        rep_cstr(c, e->name);
        rep_int(c, latest(e)->ts);
        rep_int(c, latest(e)->ms);
        rep_int(c, e->max);
    }
}

/* LATENCY HISTORY event: its samples, oldest first, as [time, latency]. */
void latency_history_cmd(client *c)
{
    const lat_event *e = event_find(c->s, c->argv[2].p, c->argv[2].len);
    int n = e ? e->n : 0;
    rep_array(c, (size_t)n);
    for (int i = 0; i < n; i++) {
        const lat_sample *x = &e->s[(e->idx + LAT_SAMPLES - n + i) % LAT_SAMPLES];
        rep_array(c, 2);
        rep_int(c, x->ts);
        rep_int(c, x->ms);
    }
}

/* LATENCY RESET [event ...]: how many events with samples were cleared. */
void latency_reset_cmd(client *c)
{
    struct latency *l = c->s->latency;
    long long reset = 0;
    for (int i = 0; l && i < NEVENTS; i++) {
        lat_event *e = &l->ev[i];
        int named = c->argc == 2;
        for (int j = 2; j < c->argc && !named; j++)
            named = strlen(e->name) == c->argv[j].len &&
                    str_eq_nocase(c->argv[j].p, c->argv[j].len, e->name);
        if (!named || !e->n) continue;
        e->n = e->idx = 0;
        e->max = 0;
        reset++;
    }
    rep_int(c, reset);
}

/* LATENCY DOCTOR: a short report in phidb's words (Redis writes a longer analysis). */
void latency_doctor_cmd(client *c)
{
    srv *s = c->s;
    buf b = {0};
    int off = s->cfg->latency_monitor_threshold <= 0;
    if (off)
        buf_puts(&b, "The latency monitor is off (latency-monitor-threshold is 0). Turn it on "
                     "with CONFIG SET latency-monitor-threshold <milliseconds>: commands that "
                     "hold the event loop that long or longer are then recorded.\n");
    int any = 0;
    for (int i = 0; s->latency && i < NEVENTS; i++) {
        const lat_event *e = &s->latency->ev[i];
        if (!e->n) continue;
        if (!any && off) buf_puts(&b, "Recorded while it was on:\n");
        long long sum = 0;
        for (int j = 0; j < e->n; j++)
            sum += e->s[j].ms;
        buf_printf(&b,
                   "%d. %s: %d latency spike%s (average %lld ms, largest %lld ms), the latest "
                   "%lld ms at unix time %lld.\n",
                   ++any, e->name, e->n, e->n == 1 ? "" : "s", sum / e->n, e->max, latest(e)->ms,
                   latest(e)->ts);
    }
    if (any)
        buf_puts(&b, "SLOWLOG GET names the slow commands; INFO commandstats and LATENCY "
                     "HISTOGRAM show each command's times.\n");
    else if (!off)
        buf_printf(&b,
                   "No command has held the event loop %lld ms or more since the monitor was "
                   "last reset.\n",
                   s->cfg->latency_monitor_threshold);
    rep_verbatim(c, (const char *)b.p, b.len);
    buf_free(&b);
}

/* Runs counted in a command's histogram (latency-tracking may have been off for others). */
static unsigned long long hist_total(const cmd_stat *cs)
{
    unsigned long long t = 0;
    for (int b = 0; b < LATENCY_BUCKETS; b++)
        t += cs->hist[b];
    return t;
}

/* Does the argument a name catalog entry `name`: the command itself or, for a container
 * ("config"), each of its subcommands ("config|get"), as Redis expands it. */
static int names(const arg *a, const char *name)
{
    size_t n = strlen(name);
    const char *bar = strchr(name, '|');
    if (n == a->len && str_eq_nocase(a->p, a->len, name)) return 1;
    return bar && (size_t)(bar - name) == a->len &&
           strncasecmp((const char *)a->p, name, a->len) == 0;
}

static void hist_entry(client *c, const char *name, const cmd_stat *cs)
{
    rep_cstr(c, name);
    rep_map(c, 2);
    rep_cstr(c, "calls");
    rep_int(c, (long long)hist_total(cs));
    rep_cstr(c, "histogram_usec");
    int used = 0;
    for (int b = 0; b < LATENCY_BUCKETS; b++)
        used += cs->hist[b] > 0;
    rep_map(c, (size_t)used);
    unsigned long long cum = 0;
    for (int b = 0; b < LATENCY_BUCKETS; b++) {
        if (!cs->hist[b]) continue;
        cum += cs->hist[b];
        rep_int(c, 1LL << b);
        rep_int(c, (long long)cum);
    }
}

/* The upper bound of the bucket holding the p-th percentile of a histogram of t runs. */
static double percentile(const cmd_stat *cs, unsigned long long t, double p)
{
    unsigned long long want = (unsigned long long)(p / 100.0 * (double)t + 0.999999), cum = 0;
    if (want == 0) want = 1;
    for (int b = 0; b < LATENCY_BUCKETS; b++) {
        cum += cs->hist[b];
        if (cum >= want) return (double)(1LL << b);
    }
    return (double)(1LL << (LATENCY_BUCKETS - 1));
}

void latency_info(srv *s, buf *out)
{
    buf_puts(out, "# Latencystats\r\n");
    for (size_t i = 0; i < s->ncatalog; i++) {
        const cmd_stat *cs = &s->cmdstats[i];
        unsigned long long t = hist_total(cs);
        if (!t) continue;
        buf_printf(out, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n",
                   s->catalog[i].name, percentile(cs, t, 50), percentile(cs, t, 99),
                   percentile(cs, t, 99.9));
    }
    buf_puts(out, "\r\n");
}

/* LATENCY HISTOGRAM [command ...]: for each command with runs in its histogram, the runs
 * ("calls") and the cumulative counts of its non-empty buckets. Named commands come in the
 * order named (a container brings its subcommands; a name given twice comes twice), as in
 * Redis. */
void latency_histogram_cmd(client *c)
{
    srv *s = c->s;
    size_t n = 0;
    int all = c->argc == 2;
    for (int j = all ? 1 : 2; j < c->argc; j++)
        for (size_t i = 0; i < s->ncatalog; i++)
            n += hist_total(&s->cmdstats[i]) > 0 && (all || names(&c->argv[j], s->catalog[i].name));
    rep_map(c, n);
    for (int j = all ? 1 : 2; j < c->argc; j++)
        for (size_t i = 0; i < s->ncatalog; i++)
            if (hist_total(&s->cmdstats[i]) > 0 && (all || names(&c->argv[j], s->catalog[i].name)))
                hist_entry(c, s->catalog[i].name, &s->cmdstats[i]);
}

void latency_help_cmd(client *c)
{
    static const char *const lines[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the "
        "specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
