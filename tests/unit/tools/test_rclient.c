/*
 * test_rclient: the tools' RESP2 reply parser (tools/rclient.c): every reply type, replies
 * cut anywhere ("need more", never a crash), malformed and hostile input refused.
 */
#include <stdlib.h>

#include "../../../tools/rclient.h"
#include "unit.h"

static long parse(const char *s, rreply **r)
{
    *r = NULL;
    return rclient_parse(s, strlen(s), r);
}

TEST(types)
{
    rreply *r;
    CHECK_INT(parse("+OK\r\n", &r), 5);
    CHECK(r && r->type == RR_STATUS && strcmp(r->str, "OK") == 0);
    rreply_free(r);
    CHECK_INT(parse("-ERR no\r\n", &r), 9);
    CHECK(r && r->type == RR_ERROR && strcmp(r->str, "ERR no") == 0);
    rreply_free(r);
    CHECK_INT(parse(":-42\r\n", &r), 6);
    CHECK(r && r->type == RR_INT && r->i == -42);
    rreply_free(r);
    CHECK_INT(parse("$3\r\na\0b\r\n", &r), 0); /* strlen stops at the NUL: need more */
    CHECK_INT(rclient_parse("$3\r\na\0b\r\n", 9, &r), 9);
    CHECK(r && r->type == RR_BULK && r->len == 3 && r->str[1] == 0);
    rreply_free(r);
    CHECK_INT(parse("$-1\r\n", &r), 5);
    CHECK(r && r->type == RR_NIL);
    rreply_free(r);
    CHECK_INT(parse("*2\r\n$1\r\na\r\n*1\r\n:1\r\n", &r), 19);
    CHECK(r && r->type == RR_ARRAY && r->n == 2 && r->elem[1]->n == 1 &&
          r->elem[1]->elem[0]->i == 1);
    rreply_free(r);
    CHECK_INT(parse("*0\r\n", &r), 4);
    CHECK(r && r->type == RR_ARRAY && r->n == 0);
    rreply_free(r);
}

TEST(cut_anywhere)
{
    const char *full = "*3\r\n$5\r\nhello\r\n:7\r\n*1\r\n+x\r\n";
    size_t n = strlen(full);
    for (size_t i = 0; i < n; i++) {
        rreply *r = NULL;
        CHECK_INT(rclient_parse(full, i, &r), 0);
        CHECK(r == NULL);
    }
    rreply *r = NULL;
    CHECK_INT(rclient_parse(full, n, &r), (long)n);
    rreply_free(r);
}

TEST(malformed)
{
    static const char *const bad[] = {"?x\r\n", ":\r\n", ":12a\r\n", "$-5\r\n", "$99999999999\r\n",
                                      "*-7\r\n", "*99999999\r\n", NULL};
    for (int i = 0; bad[i]; i++) {
        rreply *r = NULL;
        CHECK_INT(parse(bad[i], &r), -1);
        CHECK(r == NULL);
    }
    /* Nesting deeper than the limit. */
    char deep[256] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "*1\r\n");
    strcat(deep, ":1\r\n");
    rreply *r = NULL;
    CHECK_INT(parse(deep, &r), -1);
}

UNIT_MAIN(T(types), T(cut_anywhere), T(malformed))
