/*
 * fuzz_acl: libFuzzer target for ACL rules (ACL SETUSER from clients, the users file).
 * Input: a mode byte, then
 * - mode even: a separator byte, then pieces split at it: the first a user name, each
 *   further piece one rule (so a rule can hold any byte, the separator chosen aside);
 * - mode odd: the content of a users file, loaded with acl_load_file.
 *
 * Checked:
 * - a refused change comes with a message and leaves the user as it was;
 * - an accepted one survives the users file: saved with acl_save_file and read back by
 *   acl_load_file into a fresh ACL, it loads (a file the server wrote but cannot read
 *   would stop the next start), describes the same (hashes included) and answers every
 *   command, key (read and write) and channel check the same way, the rule lines
 *   themselves tried as keys and channels.
 * - a users file that loads is written back the same way: saved and read again, every
 *   user describes the same.
 * A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/acl.h"
#include "acl_catalog.h"
#include "scratch.h"
#include "util/buf.h"

#define MAX_RULES 64

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_acl: invariant broken: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static acl *new_acl(void)
{
    acl_opts o;
    acl_opts_default(&o);
    o.argon2_memory_kib = 8; /* the fuzzer hashes many passwords */
    o.argon2_time = 1;
    o.min_password_len = 1;
    return acl_new(&o, catalog, NCAT);
}

static const char *path(void)
{
    const char *p = scratch_path("acl", "users.acl");
    if (!p) fail("mkdtemp", NULL);
    return p;
}

static void same_answers(acl_user *u, acl_user *v, const uint8_t *const *lines, const size_t *lens,
                         int n)
{
    for (int i = 0; i < (int)NCAT; i++)
        if (acl_can_run(u, i) != acl_can_run(v, i)) fail("a command check differs", NULL);
    for (int i = 0; i < n; i++) {
        for (int acc = ACL_KEY_READ; acc <= ACL_KEY_WRITE; acc++)
            if (acl_can_key(u, lines[i], lens[i], acc) != acl_can_key(v, lines[i], lens[i], acc))
                fail("a key check differs", NULL);
        if (acl_can_channel(u, lines[i], lens[i]) != acl_can_channel(v, lines[i], lens[i]))
            fail("a channel check differs", NULL);
    }
}

static void write_file(const uint8_t *p, size_t n)
{
    FILE *f = fopen(path(), "wb");
    if (!f) fail("cannot write the users file", path());
    if (n && fwrite(p, 1, n, f) != n) fail("cannot write the users file", path());
    fclose(f);
}

/* Mode odd: a users file. One that loads must save and load back to the same users. */
static void file_mode(const uint8_t *data, size_t size)
{
    acl *a = new_acl();
    char err[512];
    write_file(data, size);
    if (acl_load_file(a, path(), err, sizeof err) != 0) {
        if (!err[0]) fail("a refused users file without a message", NULL);
        if (acl_user_count(a) != 0) fail("a refused users file left users", NULL);
        acl_free(a);
        return;
    }
    if (acl_save_file(a, path(), err, sizeof err) != 0) fail("the users file was not written", err);
    acl *b = new_acl();
    if (acl_load_file(b, path(), err, sizeof err) != 0)
        fail("a users file the server wrote does not load", err);
    if (acl_user_count(a) != acl_user_count(b)) fail("the number of users changed", NULL);
    for (size_t i = 0; i < acl_user_count(a); i++) {
        buf d1 = {0}, d2 = {0};
        acl_describe(a, acl_user_at(a, i), &d1, 1);
        acl_describe(b, acl_user_at(b, i), &d2, 1);
        if (d1.len != d2.len || memcmp(d1.p, d2.p, d1.len) != 0)
            fail("a user reads back differently", buf_cstr(&d1));
        buf_free(&d1);
        buf_free(&d2);
    }
    acl_free(b);
    acl_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    if (data[0] & 1) {
        file_mode(data + 1, size - 1);
        return 0;
    }
    uint8_t sep = data[1];
    data += 2;
    size -= 2;
    const uint8_t *lines[MAX_RULES + 1];
    size_t lens[MAX_RULES + 1];
    int n = 0;
    size_t i = 0;
    while (i <= size && n < MAX_RULES + 1) {
        const uint8_t *nl = i < size ? memchr(data + i, sep, size - i) : NULL;
        size_t end = nl ? (size_t)(nl - data) : size;
        lines[n] = data + i;
        lens[n++] = end - i;
        i = end + 1;
    }
    if (n < 1 || lens[0] == 0) return 0;

    acl *a = new_acl();
    char err[512];
    acl_op *op;
    if (acl_op_parse(a, lines[0], lens[0], lines + 1, lens + 1, n - 1, &op, err, sizeof err) != 0) {
        if (!err[0]) fail("a refused rule without a message", NULL);
        if (acl_user_count(a) != 0) fail("a refused rule created a user", NULL);
        acl_free(a);
        return 0;
    }
    if (acl_op_needs_work(op)) acl_op_work(op);
    int applied = acl_op_apply(a, op, err, sizeof err);
    acl_op_free(op);
    if (applied != 0) {
        if (!err[0]) fail("a refused change without a message", NULL);
        acl_free(a);
        return 0;
    }
    acl_user *u = acl_find(a, lines[0], lens[0]);
    if (!u) fail("an applied change left no user", NULL);

    if (acl_save_file(a, path(), err, sizeof err) != 0) fail("the users file was not written", err);
    acl *b = new_acl();
    if (acl_load_file(b, path(), err, sizeof err) != 0) {
        buf d = {0};
        acl_describe(a, u, &d, 1);
        buf_putc(&d, '\n');
        buf_puts(&d, err);
        fail("a users file the server wrote does not load", buf_cstr(&d));
    }
    acl_user *v = acl_find(b, lines[0], lens[0]);
    if (!v) fail("the user is missing after the file was read back", NULL);
    buf d1 = {0}, d2 = {0};
    acl_describe(a, u, &d1, 1);
    acl_describe(b, v, &d2, 1);
    if (d1.len != d2.len || memcmp(d1.p, d2.p, d1.len) != 0) {
        buf_putc(&d1, '\n');
        buf_append(&d1, d2.p, d2.len);
        fail("the user reads back differently", buf_cstr(&d1));
    }
    buf_free(&d1);
    buf_free(&d2);
    same_answers(u, v, lines + 1, lens + 1, n - 1);
    acl_free(b);
    acl_free(a);
    return 0;
}
