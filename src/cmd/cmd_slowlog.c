/*
 * SLOWLOG: the commands that held the event loop longest (Redis's SLOWLOG GET, LEN, RESET,
 * HELP, with its entry layout), kept in memory only.
 *
 * Unlike Redis, an entry never holds a command's arguments: they are key names and values,
 * which are PHI. It holds the command's name as sent (and the subcommand of a container
 * such as CONFIG SET), then one placeholder that says how many arguments followed. The
 * client's address and name are kept, as in Redis.
 *
 * The duration is the one INFO commandstats adds up (cmd_call: the handler on the event
 * loop). A command that hands its work to a worker thread (AUTH, ACL SETUSER with a
 * password, PHI.SCAN of a large text) is timed for its part on the loop only, which is what
 * other clients waited for. EXEC is not logged itself (CMD_SKIP_SLOWLOG); the commands it
 * ran are, one by one, as in Redis.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "util/mem.h"
#include "util/strutil.h"

typedef struct {
    unsigned long long id; /* Redis's entry id: one counter for the server's life */
    long long ts;          /* unix time (s) when it was logged */
    long long us;          /* how long it ran */
    char name[48];         /* the command's name as sent (matched a command: no PHI) */
    char sub[48];          /* its subcommand ("" when it has none) */
    int more;              /* arguments after those, not recorded */
    char addr[64];         /* client "ip:port" */
    char *cname;           /* CLIENT SETNAME (NULL: none) */
} slow_entry;

struct slowlog {
    slow_entry *e; /* ring of cap entries, the oldest at start */
    size_t cap, start, len;
    unsigned long long next_id;
};

static slow_entry *nth(struct slowlog *l, size_t i) /* 0: the oldest */
{
    return &l->e[(l->start + i) % l->cap];
}

static void drop_oldest(struct slowlog *l)
{
    slow_entry *o = nth(l, 0);
    mem_free(o->cname);
    o->cname = NULL;
    l->start = (l->start + 1) % l->cap;
    l->len--;
}

/* Room for one more entry: a full ring doubles (up to max entries), copied oldest first. */
static void make_room(struct slowlog *l, size_t max)
{
    if (l->len < l->cap) return;
    size_t ncap = l->cap ? l->cap * 2 : 16;
    if (ncap > max) ncap = max; /* > cap: the caller keeps len below max */
    slow_entry *n = mem_calloc(ncap * sizeof *n);
    for (size_t i = 0; i < l->len; i++)
        n[i] = *nth(l, i);
    mem_free(l->e);
    l->e = n;
    l->cap = ncap;
    l->start = 0;
}

static void copy_word(char *dst, size_t cap, const arg *a)
{
    size_t n = a->len < cap - 1 ? a->len : cap - 1;
    memcpy(dst, a->p, n);
    dst[n] = '\0';
}

static void add_entry(client *c, const cmd_def *d, long long us, unsigned long long id)
{
    srv *s = c->s;
    struct slowlog *l = s->slowlog;
    slow_entry *e = &l->e[(l->start + l->len) % l->cap];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->ts = (clock_mono_us() + s->real_minus_mono_us) / 1000000;
    e->us = us;
    int named = 0;
    if (c->argc > 0) {
        copy_word(e->name, sizeof e->name, &c->argv[0]);
        named = 1;
    }
    if (s->catalog[d->id].parent >= 0 && c->argc > 1) {
        copy_word(e->sub, sizeof e->sub, &c->argv[1]);
        named = 2;
    }
    e->more = c->argc - named;
    snprintf(e->addr, sizeof e->addr, "%s", c->addr);
    e->cname = c->name ? mem_strdup(c->name) : NULL;
    l->len++;
}

void slowlog_push(client *c, const cmd_def *d, long long us)
{
    srv *s = c->s;
    long long max = s->cfg->slowlog_max_len;
    if (us >= s->cfg->slowlog_slower_than) {
        if (!s->slowlog) s->slowlog = mem_calloc(sizeof *s->slowlog);
        struct slowlog *l = s->slowlog;
        unsigned long long id = l->next_id++; /* spent even when max-len is 0, as in Redis */
        if (max > 0) {
            while ((long long)l->len >= max)
                drop_oldest(l);
            make_room(l, (size_t)max);
            add_entry(c, d, us, id);
        }
    }
    /* As Redis does after every command: a lowered slowlog-max-len takes effect. */
    struct slowlog *l = s->slowlog;
    while (l && l->len > 0 && (long long)l->len > max)
        drop_oldest(l);
}

void slowlog_free(srv *s)
{
    struct slowlog *l = s->slowlog;
    if (!l) return;
    while (l->len)
        drop_oldest(l);
    mem_free(l->e);
    mem_free(l);
    s->slowlog = NULL;
}

void slowlog_get_cmd(client *c)
{
    long long count = 10;
    if (c->argc > 3) { /* Redis's own words for it */
        rep_errf(c,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                 "SLOWLOG HELP.",
                 (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), (const char *)c->argv[1].p);
        return;
    }
    if (c->argc == 3 && (str_to_ll(c->argv[2].p, c->argv[2].len, &count) != 0 || count < -1)) {
        rep_err(c, "ERR count should be greater than or equal to -1");
        return;
    }
    struct slowlog *l = c->s->slowlog;
    size_t have = l ? l->len : 0;
    size_t n = count < 0 || (unsigned long long)count > have ? have : (size_t)count;
    rep_array(c, n);
    for (size_t i = 0; i < n; i++) {
        const slow_entry *e = nth(l, have - 1 - i); /* newest first */
        rep_array(c, 6);
        rep_int(c, (long long)e->id);
        rep_int(c, e->ts);
        rep_int(c, e->us);
        rep_array(c, (size_t)(1 + (e->sub[0] != '\0') + (e->more > 0)));
        rep_cstr(c, e->name);
        if (e->sub[0]) rep_cstr(c, e->sub);
        if (e->more > 0) {
            char m[80];
            snprintf(m, sizeof m, "... (%d more argument%s, not recorded)", e->more,
                     e->more == 1 ? "" : "s");
            rep_cstr(c, m);
        }
        rep_cstr(c, e->addr);
        rep_cstr(c, e->cname ? e->cname : "");
    }
}

void slowlog_len_cmd(client *c)
{
    rep_int(c, c->s->slowlog ? (long long)c->s->slowlog->len : 0);
}

void slowlog_reset_cmd(client *c)
{
    struct slowlog *l = c->s->slowlog;
    while (l && l->len)
        drop_oldest(l);
    rep_ok(c);
}

void slowlog_help_cmd(client *c)
{
    static const char *const lines[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "    (phidb records the command and subcommand names only, never keys or values)",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
