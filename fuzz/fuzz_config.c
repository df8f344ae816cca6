/*
 * fuzz_config: libFuzzer target for the configuration parser (phidb.conf and its
 * command-line overrides, CONFIG SET). Input: a mode byte, then
 * - mode even: the content of a config file, loaded with config_load;
 * - mode odd: a separator byte, then pieces split at it: a directive name and its
 *   arguments, given to config_set as CONFIG SET gives them (at run time).
 *
 * Checked: a refused file or value comes with a message (a file's names the file); an
 * accepted one leaves a config whose every directive, as CONFIG GET shows it, is taken
 * back by config_set at start-up time and shows the same again (what CONFIG GET prints
 * is a value the parser accepts). A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "scratch.h"
#include "util/args.h"
#include "util/buf.h"

#define MAX_ARGS 16

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: invariant broken: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static const char *path(void)
{
    const char *p = scratch_path("config", "phidb.conf");
    if (!p) fail("mkdtemp", NULL);
    return p;
}

/* Every directive's CONFIG GET value, set again on a copy, reads back the same. */
static void get_set_get(const config *c)
{
    config *d = config_copy(c);
    for (size_t i = 0; i < config_count(); i++) {
        buf v = {0};
        config_get(c, i, &v);
        args av;
        if (args_split((const char *)v.p, v.len, &av) != 0) {
            /* A value with spaces is shown unquoted: take it as one argument. */
            memset(&av, 0, sizeof av);
        }
        const char *one[1] = {buf_cstr(&v)};
        const char *const *argv = av.n ? (const char *const *)av.v : one;
        int argc = av.n ? av.n : 1;
        int imm = 0;
        char err[512];
        if (config_set(d, config_name(i), argv, argc, 0, &imm, err, sizeof err) != 0) {
            /* Several words, one argument (bind "a b"): try the whole value. */
            if (argc == 1 || config_set(d, config_name(i), one, 1, 0, &imm, err, sizeof err) != 0) {
                buf m = {0};
                buf_printf(&m, "%s = [%s]: %s", config_name(i), buf_cstr(&v), err);
                fail("CONFIG GET shows a value config_set refuses", buf_cstr(&m));
            }
        }
        buf w = {0};
        config_get(d, i, &w);
        if (w.len != v.len || (v.len && memcmp(w.p, v.p, v.len) != 0)) {
            buf m = {0};
            buf_printf(&m, "%s: [%s] then [%s]", config_name(i), buf_cstr(&v), buf_cstr(&w));
            fail("a value reads back differently", buf_cstr(&m));
        }
        args_free(&av);
        buf_free(&v);
        buf_free(&w);
    }
    config_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    config *c = config_new();
    char err[1024] = "";
    if (!(data[0] & 1)) {
        FILE *f = fopen(path(), "wb");
        if (!f) fail("cannot write the config file", path());
        if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) fail("short write", NULL);
        fclose(f);
        if (config_load(c, path(), 0, NULL, err, sizeof err) != 0) {
            if (!strstr(err, path())) fail("a refused file without its name", err);
            config_free(c);
            return 0;
        }
    } else {
        if (size < 3) {
            config_free(c);
            return 0;
        }
        uint8_t sep = data[1];
        char *copy = malloc(size - 1);
        memcpy(copy, data + 2, size - 2);
        copy[size - 2] = '\0';
        char *argv[MAX_ARGS + 1];
        int argc = 0;
        for (char *p = copy; argc < MAX_ARGS + 1;) {
            argv[argc++] = p;
            char *q = strchr(p, sep ? sep : '\n');
            if (!q) break;
            *q = '\0';
            p = q + 1;
        }
        int imm = 0;
        int rc = config_set(c, argv[0], (const char *const *)argv + 1, argc - 1, 1, &imm, err,
                            sizeof err);
        free(copy);
        if (rc != 0) {
            if (!err[0]) fail("a refused CONFIG SET without a message", NULL);
            config_free(c);
            return 0;
        }
    }
    get_set_get(c);
    config_free(c);
    return 0;
}
