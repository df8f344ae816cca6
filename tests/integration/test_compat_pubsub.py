"""Differential test: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE and PUBLISH behave like
redis-server 7.0.

Subscription confirmations and messages (RESP2 arrays, RESP3 push replies), the count of
receivers PUBLISH returns, the subscribed-mode restriction of RESP2 (only (UN)SUBSCRIBE,
PING, QUIT, RESET), PING's two-element reply in that mode, UNSUBSCRIBE without arguments,
unknown channels, binary channel names and messages, PUBSUB CHANNELS, NUMSUB, NUMPAT and
their errors (phidb lists only the channels a user's channel rules allow, and has no shard
channels). Pattern subscriptions: pmessage delivery beside channel messages, the shared
subscription count, PUBLISH's receiver count, NUMPAT, the ACL rule a pattern needs (the
pattern itself, not a channel it matches), and the disconnection of a subscriber whose
channel rules are taken back. The server's alert channel
(__phidb:*) is phidb's own and is checked in the phidb-specific tests.
"""

import difftest
from difftest import as_list, integer, scenario, text

BINARY = b"\x00\r\n\xff"


@scenario()
def subscribe_publish(s):
    sub = s.conn("sub")
    pub = s.conn("pub")
    sub.cmd("SUBSCRIBE", "news", "weather")
    sub.read("confirmation of the second channel")
    pub.cmd("PUBLISH", "news", "hello", expect=integer(1))
    sub.read("message on news")
    pub.cmd("PUBLISH", "nobody", "x", expect=integer(0))
    pub.cmd("PUBLISH", "weather", BINARY)
    sub.read("binary message")
    sub.cmd("SUBSCRIBE", "news")  # again: no second subscription
    pub.cmd("PUBLISH", "news", "once", expect=integer(1))
    sub.read("one message, not two")
    sub.cmd("UNSUBSCRIBE", "news")
    pub.cmd("PUBLISH", "news", "gone", expect=integer(0))
    sub.cmd("UNSUBSCRIBE", "nosuch")
    sub.cmd("UNSUBSCRIBE")
    sub.cmd("PING")  # back to normal mode
    sub.cmd("UNSUBSCRIBE")  # nothing to unsubscribe


@scenario(protocols=(2,))
def subscribed_mode_resp2(s):
    sub = s.conn("sub")
    sub.cmd("SUBSCRIBE", BINARY)
    sub.cmd("GET", "k")
    sub.cmd("PING")
    sub.cmd("PING", "hi")
    sub.cmd("UNSUBSCRIBE", BINARY)
    sub.cmd("GET", "k")


@scenario(protocols=(3,))
def commands_while_subscribed_resp3(s):
    sub = s.conn("sub")
    sub.cmd("SUBSCRIBE", "c1")
    sub.cmd("SET", "k", "v")
    sub.cmd("GET", "k")
    s.conn("pub").cmd("PUBLISH", "c1", "push", expect=integer(1))
    sub.read("push message")
    sub.cmd("PING")
    sub.cmd("RESET")


def names_sorted(reply):
    """A list of channel names in any order (Redis lists them in its table's order)."""
    try:
        return (reply[0], tuple(sorted(text(x) for x in as_list(reply))))
    except ValueError:
        return reply


NEWS_PW = "newsonly-password-4711-long-enough"


@scenario()
def pubsub_introspection(s):
    sub = s.conn("sub")
    sub.cmd("SUBSCRIBE", "news", "weather", BINARY)
    sub.read("confirmation of the second channel")
    sub.read("confirmation of the third channel")
    s.conn("sub2").cmd("SUBSCRIBE", "news")
    c = s.conn()
    c.cmd("PUBSUB", "CHANNELS", norm=names_sorted)
    c.cmd("PUBSUB", "CHANNELS", "n*")
    c.cmd("PUBSUB", "CHANNELS", "[wx]eath?r")
    c.cmd("PUBSUB", "CHANNELS", "nomatch*")
    c.cmd("PUBSUB", "CHANNELS", "a", "b")
    c.cmd("PUBSUB", "NUMSUB")
    c.cmd("PUBSUB", "NUMSUB", "news", "weather", BINARY, "none", "news")
    c.cmd("PUBSUB", "NUMPAT")
    c.cmd("PUBSUB", "NUMPAT", "x")
    c.cmd("PUBSUB")
    c.cmd("PUBSUB", "FOO")
    c.cmd("PUBSUB", "HELP", phidb=lambda r: b"channel rules allow" in repr(r).encode())
    c.cmd("ACL", "SETUSER", "newsonly", "on", ">" + NEWS_PW, "resetchannels", "&news", "+@all",
          label="ACL SETUSER newsonly on >... resetchannels &news +@all")
    n = s.conn("n", auth=False)
    n.cmd("AUTH", "newsonly", NEWS_PW, label="AUTH newsonly <password>")
    n.cmd("PUBSUB", "CHANNELS", phidb=("*", (("$", b"news"),)))
    n.cmd("PUBSUB", "NUMSUB", "news")
    n.cmd("PUBSUB", "NUMSUB", "weather", "news", phidb=("*", (("$", b"weather"), (":", 0),
                                                           ("$", b"news"), (":", 2))))
    sub.cmd("UNSUBSCRIBE", "news")
    c.cmd("PUBSUB", "NUMSUB", "news", "weather")
    c.cmd("ACL", "DELUSER", "newsonly")


def pubsub_info(reply):
    """The pubsub_ lines of INFO stats (the rest differs between the servers)."""
    body = reply[-1] if len(reply) > 1 and isinstance(reply[-1], bytes) else b""  # $ or =
    return ("info", tuple(ln for ln in body.split(b"\r\n") if ln.startswith(b"pubsub_")))


@scenario()
def pattern_subscriptions(s):
    sub = s.conn("sub")
    pub = s.conn("pub")
    sub.cmd("PSUBSCRIBE", "news.*", "w?ather")
    sub.read("confirmation of the second pattern")
    sub.cmd("SUBSCRIBE", "news.it")  # the count covers channels and patterns
    s.conn("all").cmd("PSUBSCRIBE", "*")
    pub.cmd("PUBLISH", "news.it", "both", expect=integer(3))
    sub.read("the channel's message first")
    sub.read("then the pattern's")
    s.conn("all").read("pattern * gets it too")
    pub.cmd("PUBLISH", "weather", BINARY, expect=integer(2))
    sub.read("pmessage with a binary payload")
    s.conn("all").read("and on *")
    pub.cmd("PUBLISH", "news", "x", expect=integer(1))
    s.conn("all").read("only * matches news")
    c = s.conn()
    c.cmd("PUBSUB", "NUMPAT", expect=integer(3))
    c.cmd("INFO", "stats", norm=pubsub_info,
          expect=("info", (b"pubsub_channels:1", b"pubsub_patterns:3")))
    sub.cmd("PSUBSCRIBE", "news.*")  # again: no second subscription
    c.cmd("PUBSUB", "NUMPAT", expect=integer(3))
    c.cmd("PUBSUB", "NUMSUB", "news.it")  # patterns are not counted
    sub.cmd("PUNSUBSCRIBE", "news.*")
    pub.cmd("PUBLISH", "news.it", "two", expect=integer(2))
    sub.read("the channel's message only")
    s.conn("all").read("and *'s")
    sub.cmd("PUNSUBSCRIBE", "nosuch")
    sub.cmd("PUNSUBSCRIBE")
    sub.cmd("PUNSUBSCRIBE")  # none left; still subscribed to a channel
    sub.cmd("UNSUBSCRIBE")
    sub.cmd("PING")  # back to normal mode
    s.conn("all").cmd("PUNSUBSCRIBE", "*")
    c.cmd("PUBSUB", "NUMPAT", expect=integer(0))


@scenario(protocols=(2,))
def pattern_subscribed_mode_resp2(s):
    sub = s.conn("sub")
    sub.cmd("PSUBSCRIBE", "a[bc]?")
    sub.cmd("GET", "k")
    sub.cmd("SUBSCRIBE", "x")
    sub.cmd("PING", "hi")
    sub.cmd("PUNSUBSCRIBE")
    sub.cmd("GET", "k")  # still subscribed to x
    sub.cmd("UNSUBSCRIBE")
    sub.cmd("GET", "k")


PAT_PW = "patterns-password-4711-long-enough"


@scenario()
def pattern_channel_rules(s):
    c = s.conn()
    c.cmd("ACL", "SETUSER", "pats", "on", ">" + PAT_PW, "resetchannels", "&news.*", "&alerts",
          "+@all", label="ACL SETUSER pats on >... resetchannels &news.* &alerts +@all")
    p = s.conn("p", auth=False)
    p.cmd("AUTH", "pats", PAT_PW, label="AUTH pats <password>")
    p.cmd("PSUBSCRIBE", "news.*")  # the rule itself
    p.cmd("PSUBSCRIBE", "news.i*")  # narrower than the rule, still refused (as Redis)
    p.cmd("PSUBSCRIBE", "*")
    p.cmd("PSUBSCRIBE", "alert?")
    p.cmd("SUBSCRIBE", "news.it")  # a channel the rule matches
    p.cmd("PUNSUBSCRIBE")
    p.cmd("UNSUBSCRIBE")
    c.cmd("ACL", "DRYRUN", "pats", "PSUBSCRIBE", "news.*")
    c.cmd("ACL", "DRYRUN", "pats", "PSUBSCRIBE", "news.x")
    # Rules taken back: a subscriber they no longer allow is disconnected.
    p.cmd("PSUBSCRIBE", "news.*")
    c.cmd("ACL", "SETUSER", "pats", "resetchannels", "&alerts")
    p.closed("pattern subscriber gone after its rule was removed")
    q = s.conn("q", auth=False)
    q.cmd("AUTH", "pats", PAT_PW, label="AUTH pats <password>")
    q.cmd("SUBSCRIBE", "alerts")
    c.cmd("ACL", "SETUSER", "pats", "&news.*")  # more rules: nobody goes
    q.alive("channel subscriber kept when rules are added")
    c.cmd("ACL", "SETUSER", "pats", "resetchannels")
    q.closed("channel subscriber gone after its rule was removed")
    c.cmd("ACL", "DELUSER", "pats")


if __name__ == "__main__":
    difftest.main(globals())
