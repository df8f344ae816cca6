/*
 * cmd_pubsub: SUBSCRIBE, UNSUBSCRIBE, PUBLISH, PUBSUB and the server's own publishing (alerts on
 * the __phidb:alerts channel). Channel access follows the ACL's & rules (Redis 7: a user
 * needs a matching channel pattern to subscribe or publish).
 *
 * Channels are a table channel -> subscribed clients; each client keeps the list of its
 * channels, so closing a connection unsubscribes it. In RESP2 a subscribed client may only
 * run (UN)SUBSCRIBE, PING, QUIT and RESET, as in Redis; in RESP3 messages arrive as push
 * replies and every command stays available.
 */
#include "cmd.h"

#include <string.h>

#include "util/mem.h"
#include "util/strutil.h"

typedef struct {
    dict_node node;   /* link in srv.channels */
    client **cl;      /* subscribers */
    int n, cap;       /* their count */
    uint32_t len;     /* channel name length */
    uint8_t name[];   /* channel name */
} channel;

static void channel_keyof(const dict_node *n, const uint8_t **k, size_t *len)
{
    const channel *ch = (const channel *)n;
    *k = ch->name;
    *len = ch->len;
}

const dict_type pubsub_channel_type = {.keyof = channel_keyof};

static int has_sub(const client *c, const uint8_t *p, size_t n)
{
    for (int i = 0; i < c->nsubs; i++)
        if (c->subs[i].len == n && memcmp(c->subs[i].p, p, n) == 0) return i;
    return -1;
}

static void sub_reply(client *c, const char *kind, const uint8_t *p, size_t n, long long count)
{
    resp_push(&c->out, 3, c->proto);
    rep_cstr(c, kind);
    if (p)
        rep_bulk(c, p, n);
    else
        rep_null(c);
    rep_int(c, count);
}

static void subscribe_one(client *c, const arg *a)
{
    srv *s = c->s;
    if (has_sub(c, a->p, a->len) < 0) {
        uint64_t h = dict_hash(a->p, a->len);
        channel *ch = (channel *)dict_find(&s->channels, a->p, a->len, h);
        if (!ch) {
            ch = mem_calloc(sizeof *ch + a->len);
            ch->len = (uint32_t)a->len;
            memcpy(ch->name, a->p, a->len);
            dict_insert(&s->channels, &ch->node, h);
        }
        if (ch->n == ch->cap) {
            ch->cap = ch->cap ? ch->cap * 2 : 4;
            ch->cl = mem_realloc(ch->cl, sizeof(client *) * (size_t)ch->cap);
        }
        ch->cl[ch->n++] = c;
        c->subs = mem_realloc(c->subs, sizeof(arg) * (size_t)(c->nsubs + 1));
        uint8_t *copy = mem_alloc(a->len ? a->len : 1);
        memcpy(copy, a->p, a->len);
        c->subs[c->nsubs].p = copy;
        c->subs[c->nsubs].len = a->len;
        c->nsubs++;
    }
    sub_reply(c, "subscribe", a->p, a->len, c->nsubs);
}

static void unsubscribe_one(client *c, int idx, int reply)
{
    srv *s = c->s;
    arg a = c->subs[idx];
    uint64_t h = dict_hash(a.p, a.len);
    channel *ch = (channel *)dict_find(&s->channels, a.p, a.len, h);
    if (ch) {
        for (int i = 0; i < ch->n; i++)
            if (ch->cl[i] == c) {
                ch->cl[i] = ch->cl[--ch->n];
                break;
            }
        if (ch->n == 0) {
            dict_unlink(&s->channels, a.p, a.len, h);
            mem_free(ch->cl);
            mem_free(ch);
        }
    }
    c->subs[idx] = c->subs[--c->nsubs];
    if (reply) sub_reply(c, "unsubscribe", a.p, a.len, c->nsubs);
    mem_free((void *)a.p);
}

void pubsub_unsubscribe_all(client *c)
{
    while (c->nsubs > 0)
        unsubscribe_one(c, c->nsubs - 1, 0);
    mem_free(c->subs);
    c->subs = NULL;
}

void subscribe_cmd(client *c)
{
    /* Channel permissions are checked before the command runs (cmd_access_denied). */
    for (int i = 1; i < c->argc; i++)
        subscribe_one(c, &c->argv[i]);
}

void unsubscribe_cmd(client *c)
{
    if (c->argc == 1) {
        if (c->nsubs == 0) sub_reply(c, "unsubscribe", NULL, 0, 0);
        while (c->nsubs > 0)
            unsubscribe_one(c, c->nsubs - 1, 1);
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        int idx = has_sub(c, c->argv[i].p, c->argv[i].len);
        if (idx >= 0)
            unsubscribe_one(c, idx, 1);
        else
            sub_reply(c, "unsubscribe", c->argv[i].p, c->argv[i].len, c->nsubs);
    }
}

size_t pubsub_publish(srv *s, const uint8_t *ch, size_t chlen, const uint8_t *msg, size_t len)
{
    channel *x = (channel *)dict_find(&s->channels, ch, chlen, dict_hash(ch, chlen));
    if (!x) return 0;
    for (int i = 0; i < x->n; i++) {
        client *c = x->cl[i];
        resp_push(&c->out, 3, c->proto);
        resp_bulk(&c->out, "message", 7);
        resp_bulk(&c->out, ch, chlen);
        resp_bulk(&c->out, msg, len);
        client_want_write(c);
    }
    return (size_t)x->n;
}

void publish_cmd(client *c)
{
    /* The server's own channels are written by the server only. */
    if (c->argv[1].len >= 8 && memcmp(c->argv[1].p, "__phidb:", 8) == 0) {
        rep_err(c, "ERR channels starting with __phidb: are published by the server only");
        return;
    }
    rep_int(c, (long long)pubsub_publish(c->s, c->argv[1].p, c->argv[1].len, c->argv[2].p,
                                         c->argv[2].len));
}

/* ---- PUBSUB CHANNELS, NUMSUB, NUMPAT, HELP ---- */

typedef struct {
    client *c;
    const arg *pattern;
    unsigned long long left; /* glob budget */
    int spent;
    buf names;
    size_t n;
} chan_list;

static void list_channel(dict_node *n, void *ud)
{
    chan_list *l = ud;
    const channel *ch = (const channel *)n;
    /* The channel rules first: no time or glob budget is spent on hidden names. */
    if (l->spent || !acl_can_channel(l->c->user, ch->name, ch->len)) return;
    if (l->pattern) {
        int m = str_glob_budget(l->pattern->p, l->pattern->len, ch->name, ch->len, 0, &l->left);
        if (m < 0) l->spent = 1;
        if (m <= 0) return;
    }
    resp_bulk(&l->names, ch->name, ch->len);
    l->n++;
}

/* PUBSUB CHANNELS [pattern]: the channels with subscribers, as Redis lists them, but only
 * those the user's channel rules (&) allow: a channel's name can itself identify someone. */
void pubsub_channels_cmd(client *c)
{
    if (c->argc > 3) {
        rep_errf(c,
                 "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB "
                 "HELP.",
                 (int)c->argv[1].len, (const char *)c->argv[1].p);
        return;
    }
    chan_list l = {c, c->argc == 3 ? &c->argv[2] : NULL, STR_GLOB_BUDGET, 0, {0}, 0};
    dict_foreach(&c->s->channels, list_channel, &l);
    rep_listing(c, &l.names, l.n, l.spent);
}

/* PUBSUB NUMSUB [channel ...]: channel, subscriber count, for each channel named; 0 for a
 * channel the user's rules do not allow (CHANNELS does not list it either). */
void pubsub_numsub_cmd(client *c)
{
    rep_array(c, (size_t)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        const arg *a = &c->argv[i];
        const channel *ch =
            (const channel *)dict_find(&c->s->channels, a->p, a->len, dict_hash(a->p, a->len));
        rep_bulk(c, a->p, a->len);
        rep_int(c, ch && acl_can_channel(c->user, a->p, a->len) ? ch->n : 0);
    }
}

/* PUBSUB NUMPAT: phidb has no pattern subscriptions (PSUBSCRIBE), so none are counted. */
void pubsub_numpat_cmd(client *c)
{
    rep_int(c, 0);
}

void pubsub_help_cmd(client *c)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "    (phidb lists only the channels your channel rules allow)",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "HELP",
        "    Prints this help.",
        NULL};
    cmd_help_reply(c, lines);
}
