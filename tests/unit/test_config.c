/* Unit tests for config: defaults, file errors with line numbers, command line, CONFIG SET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util/buf.h"
#include "unit.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/phidb-conf-XXXXXX");
    int fd = mkstemp(path);
    if (write(fd, text, strlen(text)) < 0) path[0] = '\0';
    close(fd);
    return path;
}

TEST(defaults_and_file)
{
    const char *p = write_tmp("# comment\nport 7000\nmaxmemory 1gb\nbind \"127.0.0.1 ::1\"\n"
                              "client-output-buffer-limit normal 1mb 512kb 10\n"
                              "allow-dangerous-commands flushdb keys\n");
    config *c = config_new();
    char err[512];
    CHECK_INT(config_load(c, p, 0, NULL, err, sizeof err), 0);
    CHECK_INT(c->port, 7000);
    CHECK_INT(c->maxmemory, 1024LL * 1024 * 1024);
    CHECK_STR(c->bind, "127.0.0.1 ::1");
    CHECK_INT(c->obuf_hard, 1024 * 1024);
    CHECK_INT(c->obuf_soft_secs, 10);
    CHECK(c->allow_flushdb && c->allow_keys && !c->allow_flushall);
    CHECK_INT(c->timeout, 900);
    CHECK(c->tls_cert_file[0] == '/'); /* relative paths resolved against the file */
    unlink(p);
    config_free(c);
}

TEST(errors_name_file_and_line)
{
    const char *p = write_tmp("port 7000\n\nport abc\n");
    config *c = config_new();
    char err[512];
    CHECK(config_load(c, p, 0, NULL, err, sizeof err) != 0);
    CHECK(strstr(err, ":3:") != NULL);
    CHECK(strstr(err, "port") != NULL);
    unlink(p);
    config_free(c);
    p = write_tmp("nosuchdirective 1\n");
    c = config_new();
    CHECK(config_load(c, p, 0, NULL, err, sizeof err) != 0);
    CHECK(strstr(err, "unknown directive 'nosuchdirective'") != NULL);
    unlink(p);
    config_free(c);
}

TEST(command_line_wins)
{
    const char *p = write_tmp("port 7000\n");
    config *c = config_new();
    char err[512];
    char *argv[] = {"--port", "7100", "--timeout", "5"};
    CHECK_INT(config_load(c, p, 4, argv, err, sizeof err), 0);
    CHECK_INT(c->port, 7100);
    CHECK_INT(c->timeout, 5);
    char *bad[] = {"--maxmemory", "lots"};
    config *d = config_new();
    CHECK(config_load(d, p, 2, bad, err, sizeof err) != 0);
    CHECK(strstr(err, "command line") != NULL);
    unlink(p);
    config_free(c);
    config_free(d);
}

TEST(runtime_set)
{
    config *c = config_new();
    int imm;
    char err[256];
    const char *v[] = {"100mb"};
    CHECK_INT(config_set(c, "maxmemory", v, 1, 1, &imm, err, sizeof err), 0);
    CHECK_INT(c->maxmemory, 100LL * 1024 * 1024);
    const char *port[] = {"1"};
    CHECK(config_set(c, "port", port, 1, 1, &imm, err, sizeof err) != 0);
    CHECK_INT(imm, 1);
    CHECK(config_set(c, "nope", port, 1, 1, &imm, err, sizeof err) != 0);
    CHECK_INT(imm, 2);
    const char *badmem[] = {"-5"};
    CHECK(config_set(c, "maxmemory", badmem, 1, 1, &imm, err, sizeof err) != 0);
    CHECK_STR(err, "argument must be a memory value");
    buf b = {0};
    config_get(c, (size_t)config_find("maxmemory"), &b);
    CHECK_STR(buf_cstr(&b), "104857600");
    buf_free(&b);
    config_free(c);
}

TEST(template_parses)
{
    buf b = {0};
    config_write_template(&b, 7777);
    const char *p = write_tmp(buf_cstr(&b));
    config *c = config_new();
    char err[512];
    CHECK_INT(config_load(c, p, 0, NULL, err, sizeof err), 0);
    CHECK_INT(c->port, 7777);
    /* Every directive is in the template, each with a comment above it. */
    for (size_t i = 0; i < config_count(); i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\n%s ", config_name(i));
        CHECK(strstr(buf_cstr(&b), needle) != NULL);
    }
    unlink(p);
    config_free(c);
    buf_free(&b);
}

/* The template marks exactly the directives CONFIG SET accepts (README's list follows it). */
TEST(template_marks_runtime)
{
    buf b = {0};
    config_write_template(&b, 7777);
    const char *t = buf_cstr(&b);
    config *c = config_new();
    for (size_t i = 0; i < config_count(); i++) {
        char needle[128];
        snprintf(needle, sizeof needle, "\n%s ", config_name(i));
        const char *at = strstr(t, needle);
        CHECK(at != NULL);
        if (!at) continue;
        /* The comment block above the directive starts after the previous blank line. */
        const char *from = at;
        while (from > t && !(from[-1] == '\n' && from - 1 > t && from[-2] == '\n'))
            from--;
        int marked = 0;
        for (const char *p = from; p < at; p++)
            if (strncmp(p, "# " CONFIG_RUNTIME_MARK "\n", strlen(CONFIG_RUNTIME_MARK) + 3) == 0)
                marked = 1;
        buf v = {0};
        config_get(c, i, &v);
        const char *val = buf_cstr(&v);
        int imm;
        char err[256];
        config_set(c, config_name(i), &val, 1, 1, &imm, err, sizeof err);
        if (marked != (imm != 1))
            unit_fail(__FILE__, __LINE__, "%s: marked %d but CONFIG SET %s", config_name(i), marked,
                      imm == 1 ? "refuses it" : "accepts it");
        buf_free(&v);
    }
    config_free(c);
    buf_free(&b);
}

/* Bounds in the file and at run time: breakglass-ttl from 60 s (docs/policy.md 5);
 * proto-max-args never so low that CONFIG SET proto-max-args N (4 arguments), ACL SETUSER or
 * AUTH become protocol errors that only a restart could undo. */
TEST(bounds_keep_server_usable)
{
    static const struct {
        const char *name, *low, *ok, *msg;
    } cases[] = {
        {"breakglass-ttl", "59", "60", "argument must be between 60 and 604800 inclusive"},
        {"proto-max-args", "1023", "1024",
         "argument must be between 1024 and 2147483647 inclusive"},
        {"proto-max-args", "3", "1048576",
         "argument must be between 1024 and 2147483647 inclusive"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        config *c = config_new();
        int imm;
        char err[256];
        CHECK(config_set(c, cases[k].name, &cases[k].low, 1, 1, &imm, err, sizeof err) != 0);
        CHECK_STR(err, cases[k].msg);
        CHECK_INT(config_set(c, cases[k].name, &cases[k].ok, 1, 1, &imm, err, sizeof err), 0);
        buf v = {0};
        config_get(c, (size_t)config_find(cases[k].name), &v);
        CHECK_STR(buf_cstr(&v), cases[k].ok);
        buf_free(&v);
        char text[128];
        snprintf(text, sizeof text, "port 7000\n%s %s\n", cases[k].name, cases[k].low);
        const char *p = write_tmp(text);
        CHECK(config_load(c, p, 0, NULL, err, sizeof err) != 0);
        CHECK(strstr(err, ":2:") != NULL && strstr(err, cases[k].msg) != NULL);
        unlink(p);
        config_free(c);
    }
}

TEST(copy_is_deep)
{
    config *c = config_new();
    const char *v[] = {"echo 00"};
    int imm;
    char err[128];
    CHECK_INT(config_set(c, "master-key-command", v, 1, 0, &imm, err, sizeof err), 0);
    config *d = config_copy(c);
    CHECK_STR(d->master_key_command, "echo 00");
    CHECK(d->master_key_command != c->master_key_command);
    CHECK(d->tls_cert_file != c->tls_cert_file);
    config_free(d); /* under ASan, any shared string would show up as a double free */
    CHECK_STR(c->master_key_command, "echo 00");
    config_free(c);
}

static int same_values(const config *a, const config *b)
{
    int same = 1;
    for (size_t i = 0; i < config_count(); i++) {
        buf x = {0}, y = {0};
        config_get(a, i, &x);
        config_get(b, i, &y);
        if (x.len != y.len || (x.len && memcmp(x.p, y.p, x.len) != 0)) {
            unit_fail(__FILE__, __LINE__, "%s: '%s' reads back as '%s'", config_name(i),
                      buf_cstr(&x), buf_cstr(&y));
            same = 0;
        }
        buf_free(&x);
        buf_free(&y);
    }
    return same;
}

static size_t count_lines(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    if (f) fclose(f);
    return n;
}

/* CONFIG REWRITE: every value (any bytes but NUL in a string) reads back the same, a directive
 * named twice gets one line, comments and unchanged lines stay, a last line without a newline
 * is kept. */
TEST(rewrite_round_trip)
{
    const char *p = write_tmp("# head comment\nport 7000\nhz 20\nhz 30\n"
                              "client-output-buffer-limit normal 1mb 512kb 10\ntimeout 5");
    char path[64];
    snprintf(path, sizeof path, "%s", p);
    srand(7);
    for (int round = 0; round < 200; round++) {
        config *c = config_new();
        char err[512];
        CHECK_INT(config_load(c, path, 0, NULL, err, sizeof err), 0);
        char v[48];
        size_t n = (size_t)(rand() % 40);
        for (size_t i = 0; i < n; i++)
            v[i] = (char)(1 + rand() % 255);
        v[n] = '\0';
        char hz[8], obuf[96];
        snprintf(hz, sizeof hz, "%d", 1 + rand() % 500);
        snprintf(obuf, sizeof obuf, "normal %d %d %d", rand() % 5000, rand() % 5000, rand() % 100);
        const char *sets[][2] = {{"mfa-issuer", v},
                                 {"hz", hz},
                                 {"client-output-buffer-limit", obuf},
                                 {"bind", round % 2 ? "127.0.0.1 ::1" : "*"}};
        int imm;
        for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
            CHECK_INT(config_set(c, sets[k][0], &sets[k][1], 1, 0, &imm, err, sizeof err), 0);
        CHECK_INT(config_rewrite(c, err, sizeof err), 0);
        config *d = config_new();
        CHECK_INT(config_load(d, path, 0, NULL, err, sizeof err), 0);
        int same = same_values(c, d);
        config_free(c);
        config_free(d);
        if (!same) break;
    }
    CHECK_INT(count_lines(path, "# head comment"), 1);
    CHECK_INT(count_lines(path, "port 7000"), 1);
    CHECK_INT(count_lines(path, "timeout 5"), 1);
    CHECK_INT(count_lines(path, "hz "), 1);
    CHECK_INT(count_lines(path, "# Generated by CONFIG REWRITE"), 1);
    unlink(path);
}

UNIT_MAIN(T(copy_is_deep), T(defaults_and_file), T(errors_name_file_and_line), T(command_line_wins),
          T(runtime_set), T(template_parses), T(template_marks_runtime),
          T(bounds_keep_server_usable), T(rewrite_round_trip))
