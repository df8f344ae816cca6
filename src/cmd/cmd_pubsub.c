/*
 * cmd_pubsub: SUBSCRIBE, UNSUBSCRIBE, PUBLISH, PUBSUB and the server's own publishing (alerts on
 * the __phidb:alerts channel). Channel access follows the ACL's & rules (Redis 7: a user
 * needs a matching channel pattern to subscribe or publish).
 *
 * Channels and patterns are tables name -> subscribed clients; each client keeps the list of
 * its names, so closing a connection unsubscribes it. In RESP2 a subscribed client may only
 * run (P)(UN)SUBSCRIBE, PING, QUIT and RESET, as in Redis; in RESP3 messages arrive as push
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

/* A client's subscriptions of one kind: channels (SUBSCRIBE) or patterns (PSUBSCRIBE). Both
 * kinds work alike: a server table name -> clients, and the client's own copies of the
 * names; they differ in the table and in the words of the replies. */
typedef struct {
    dict *d;                 /* srv.channels or srv.patterns */
    arg **list;              /* the client's names (owned copies) */
    int *n;                  /* their count */
    const char *sub, *unsub; /* reply kinds */
} sub_kind;

static sub_kind kind_of(client *c, int pattern)
{
    if (pattern)
        return (sub_kind){&c->s->patterns, &c->psubs, &c->npsubs, "psubscribe", "punsubscribe"};
    return (sub_kind){&c->s->channels, &c->subs, &c->nsubs, "subscribe", "unsubscribe"};
}

static int has_sub(const sub_kind *k, const uint8_t *p, size_t n)
{
    const arg *l = *k->list;
    for (int i = 0; i < *k->n; i++)
        if (l[i].len == n && memcmp(l[i].p, p, n) == 0) return i;
    return -1;
}

/* The count a (un)subscribe reply carries: channels and patterns together, as Redis. */
static void sub_reply(client *c, const char *kind, const uint8_t *p, size_t n)
{
    resp_push(&c->out, 3, c->proto);
    rep_cstr(c, kind);
    if (p)
        rep_bulk(c, p, n);
    else
        rep_null(c);
    rep_int(c, c->nsubs + c->npsubs);
}

static void subscribe_one(client *c, const sub_kind *k, const arg *a)
{
    if (has_sub(k, a->p, a->len) < 0) {
        uint64_t h = dict_hash(a->p, a->len);
        channel *ch = (channel *)dict_find(k->d, a->p, a->len, h);
        if (!ch) {
            ch = mem_calloc(sizeof *ch + a->len);
            ch->len = (uint32_t)a->len;
            memcpy(ch->name, a->p, a->len);
            dict_insert(k->d, &ch->node, h);
        }
        if (ch->n == ch->cap) {
            ch->cap = ch->cap ? ch->cap * 2 : 4;
            ch->cl = mem_realloc(ch->cl, sizeof(client *) * (size_t)ch->cap);
        }
        ch->cl[ch->n++] = c;
        *k->list = mem_realloc(*k->list, sizeof(arg) * (size_t)(*k->n + 1));
        uint8_t *copy = mem_alloc(a->len ? a->len : 1);
        memcpy(copy, a->p, a->len);
        (*k->list)[*k->n].p = copy;
        (*k->list)[*k->n].len = a->len;
        (*k->n)++;
    }
    sub_reply(c, k->sub, a->p, a->len);
}

static void unsubscribe_one(client *c, const sub_kind *k, int idx, int reply)
{
    arg a = (*k->list)[idx];
    uint64_t h = dict_hash(a.p, a.len);
    channel *ch = (channel *)dict_find(k->d, a.p, a.len, h);
    if (ch) {
        for (int i = 0; i < ch->n; i++)
            if (ch->cl[i] == c) {
                ch->cl[i] = ch->cl[--ch->n];
                break;
            }
        if (ch->n == 0) {
            dict_unlink(k->d, a.p, a.len, h);
            mem_free(ch->cl);
            mem_free(ch);
        }
    }
    (*k->list)[idx] = (*k->list)[--(*k->n)];
    if (reply) sub_reply(c, k->unsub, a.p, a.len);
    mem_free((void *)a.p);
}

void pubsub_unsubscribe_all(client *c)
{
    for (int pattern = 0; pattern < 2; pattern++) {
        sub_kind k = kind_of(c, pattern);
        while (*k.n > 0)
            unsubscribe_one(c, &k, *k.n - 1, 0);
        mem_free(*k.list);
        *k.list = NULL;
    }
}

static void subscribe_args(client *c, int pattern)
{
    /* Channel permissions are checked before the command runs (cmd_access_denied). */
    sub_kind k = kind_of(c, pattern);
    for (int i = 1; i < c->argc; i++)
        subscribe_one(c, &k, &c->argv[i]);
}

static void unsubscribe_args(client *c, int pattern)
{
    sub_kind k = kind_of(c, pattern);
    if (c->argc == 1) {
        if (*k.n == 0) sub_reply(c, k.unsub, NULL, 0);
        while (*k.n > 0)
            unsubscribe_one(c, &k, *k.n - 1, 1);
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        int idx = has_sub(&k, c->argv[i].p, c->argv[i].len);
        if (idx >= 0)
            unsubscribe_one(c, &k, idx, 1);
        else
            sub_reply(c, k.unsub, c->argv[i].p, c->argv[i].len);
    }
}

void subscribe_cmd(client *c)
{
    subscribe_args(c, 0);
}

void unsubscribe_cmd(client *c)
{
    unsubscribe_args(c, 0);
}

void psubscribe_cmd(client *c)
{
    subscribe_args(c, 1);
}

void punsubscribe_cmd(client *c)
{
    unsubscribe_args(c, 1);
}

/* Steps one pattern may spend matching one channel name: a pattern such as "*a*a*a*b"
 * against a long name would otherwise cost every PUBLISH up to pattern x name steps. A
 * pattern that needs more does not get that message. */
#define PATTERN_MATCH_BUDGET 1000000ULL

typedef struct {
    const uint8_t *ch, *msg;
    size_t chlen, len;
    size_t n; /* deliveries */
} pmatch_ctx;

static void deliver_pattern(dict_node *n, void *ud)
{
    pmatch_ctx *x = ud;
    const channel *p = (const channel *)n;
    unsigned long long budget = PATTERN_MATCH_BUDGET;
    if (str_glob_budget(p->name, p->len, x->ch, x->chlen, 0, &budget) != 1) return;
    for (int i = 0; i < p->n; i++) {
        client *c = p->cl[i];
        if (!(c->flags & CL_AUTHED)) continue; /* a new login waiting for its TOTP code */
        resp_push(&c->out, 4, c->proto);
        resp_bulk(&c->out, "pmessage", 8);
        resp_bulk(&c->out, p->name, p->len);
        resp_bulk(&c->out, x->ch, x->chlen);
        resp_bulk(&c->out, x->msg, x->len);
        client_want_write(c);
        x->n++;
    }
}

size_t pubsub_publish(srv *s, const uint8_t *ch, size_t chlen, const uint8_t *msg, size_t len)
{
    size_t n = 0;
    channel *x = (channel *)dict_find(&s->channels, ch, chlen, dict_hash(ch, chlen));
    if (x) {
        for (int i = 0; i < x->n; i++) {
            client *c = x->cl[i];
            if (!(c->flags & CL_AUTHED)) continue; /* a new login waiting for its TOTP code */
            resp_push(&c->out, 3, c->proto);
            resp_bulk(&c->out, "message", 7);
            resp_bulk(&c->out, ch, chlen);
            resp_bulk(&c->out, msg, len);
            client_want_write(c);
            n++;
        }
    }
    if (dict_size(&s->patterns) > 0) {
        pmatch_ctx m = {ch, msg, chlen, len, 0};
        dict_foreach(&s->patterns, deliver_pattern, &m);
        n += m.n;
    }
    return n;
}

int pubsub_allowed(const client *c, const acl_user *u)
{
    if (!client_subscribed(c)) return 1;
    if (!u) return 0;
    for (int i = 0; i < c->nsubs; i++)
        if (!acl_can_channel(u, c->subs[i].p, c->subs[i].len)) return 0;
    for (int i = 0; i < c->npsubs; i++)
        if (!acl_can_channel_pattern(u, c->psubs[i].p, c->psubs[i].len)) return 0;
    return 1;
}

/* After a change of user name's rules (NULL: of every user, ACL LOAD): close each of its
 * clients holding a subscription the rules no longer allow, as Redis 7 does; otherwise a
 * user whose & rules were taken back would go on receiving (alerts included). */
size_t pubsub_kill_disallowed(srv *s, const char *name)
{
    size_t killed = 0;
    for (client *c = s->clients; c; c = c->next) {
        if (!c->username || (c->flags & CL_CLOSE_ASAP) || !client_subscribed(c)) continue;
        if (name && strcmp(c->username, name) != 0) continue;
        const acl_user *u = acl_find(s->acl, (const uint8_t *)c->username, strlen(c->username));
        if (!pubsub_allowed(c, u)) {
            client_close_async(c);
            killed++;
        }
    }
    return killed;
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

/* PUBSUB NUMPAT: the number of distinct patterns clients are subscribed to (a count only:
 * no pattern is shown). */
void pubsub_numpat_cmd(client *c)
{
    rep_int(c, (long long)dict_size(&c->s->patterns));
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
