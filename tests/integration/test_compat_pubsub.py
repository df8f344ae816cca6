"""Differential test: SUBSCRIBE, UNSUBSCRIBE and PUBLISH behave like redis-server 7.0.

Subscription confirmations and messages (RESP2 arrays, RESP3 push replies), the count of
receivers PUBLISH returns, the subscribed-mode restriction of RESP2 (only (UN)SUBSCRIBE,
PING, QUIT, RESET), PING's two-element reply in that mode, UNSUBSCRIBE without arguments,
unknown channels, binary channel names and messages. The server's alert channel
(__phidb:*) is phidb's own and is checked in the phidb-specific tests.
"""

import difftest
from difftest import integer, scenario

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


if __name__ == "__main__":
    difftest.main(globals())
