/*
 * phi_cli: `phidb phi scan|redact`, the command-line face of the PHI detector.
 *
 *   phidb phi scan [--jsonl] [--min-score S] [FILE...]
 *   phidb phi redact [--mask|--surrogate] [--seed N] [--jsonl] [FILE...]
 *
 * Input is standard input when no FILE is given ("-" also means standard
 * input). Plain scan prints one finding per line: start, end (byte offsets,
 * end exclusive), type, score and the text found (tabs, newlines and
 * backslashes escaped), preceded by the file name when several files are
 * given. With --jsonl, each input line is {"id": ..., "text": ...} and each
 * output line is {"id": ..., "entities": [{"start", "end", "type", "score"}]}
 * (offsets are bytes of the UTF-8 text) or, for redact, {"id": ..., "text": ...}.
 * Exit status: 0 success, 1 failure (unreadable file, bad JSON line), 2 usage.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phi/phi.h"
#include "tools.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: phidb phi scan [--jsonl] [--min-score S] [FILE...]\n"
               "       phidb phi redact [--mask|--surrogate] [--seed N] [--jsonl] [FILE...]\n"
               "Finds (scan) or removes (redact) protected health information in free text.\n"
               "  --jsonl        input lines {\"id\":..,\"text\":..}; output one JSON line each\n"
               "  --min-score S  report findings scoring at least S (0..1, default 0.5)\n"
               "  --mask         redact keeping the length ('*' per byte)\n"
               "  --surrogate    redact with consistent invented stand-ins (dates shifted)\n"
               "  --seed N       surrogate key (same seed, same stand-ins); default random\n");
}

/* Read all of f into a malloc'ed buffer. */
static int read_all(FILE *f, uint8_t **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            if (cap > PHI_MAX_INPUT / 2) {
                free(b);
                errno = EFBIG;
                return -1;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb, cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (got == 0) break;
        n += got;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

typedef struct opts {
    int redact;        /* 0 scan, 1 redact */
    int jsonl;         /* JSON lines in and out */
    phi_redact_opts r; /* redact mode and seed */
    int multi;         /* several files: prefix names */
} opts;

/* Print (p, n) with tabs, newlines, CR and backslashes escaped. */
static void put_escaped(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default: putchar(p[i]);
        }
    }
}

static int do_text(const phi_detector *d, phi_scratch *s, const opts *o, const char *name,
                   const uint8_t *buf, size_t len)
{
    if (o->redact) {
        uint8_t *out;
        size_t n;
        int rc = phi_redact(d, s, buf, len, &o->r, &out, &n);
        if (rc) {
            fprintf(stderr, "phidb phi: %s: %s\n", name, phi_strerror(rc));
            return 1;
        }
        fwrite(out, 1, n, stdout);
        free(out);
        return 0;
    }
    const phi_entity *e;
    size_t n;
    int rc = phi_scan_view(d, s, buf, len, &e, &n);
    if (rc) {
        fprintf(stderr, "phidb phi: %s: %s\n", name, phi_strerror(rc));
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (o->multi) printf("%s\t", name);
        printf("%u\t%u\t%s\t%.2f\t", e[i].start, e[i].end, phi_type_name(e[i].type), e[i].score);
        put_escaped(buf + e[i].start, e[i].end - e[i].start);
        putchar('\n');
    }
    return 0;
}

/* A parsed input line of --jsonl waiting for its batch (scan). */
typedef struct pending {
    json_t *in;    /* the parsed line (owned) */
    size_t lineno; /* its line number, for messages */
} pending;

enum { CLI_BATCH = 256 }; /* lines scanned by one phi_scan_batch call */

/* Print one result line of --jsonl (res is consumed); 0 or 1 (failure). */
static int put_result(json_t *res)
{
    char *line = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(res);
    if (!line) return 1;
    puts(line);
    free(line);
    return 0;
}

/* Scan the pending lines as one batch and print their results in order. */
static int flush_scans(const phi_detector *d, phi_scratch *s, const char *name, pending *pd,
                       phi_batch_doc *docs, size_t n)
{
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *text = json_object_get(pd[i].in, "text");
        docs[i].text = (const uint8_t *)json_string_value(text);
        docs[i].len = json_string_length(text);
    }
    int rc = phi_scan_batch(d, s, docs, n);
    for (size_t i = 0; i < n; i++) {
        int st = rc ? rc : docs[i].status;
        if (st) {
            fprintf(stderr, "phidb phi: %s:%zu: %s\n", name, pd[i].lineno, phi_strerror(st));
            status = 1;
        } else {
            json_t *id = json_object_get(pd[i].in, "id");
            json_t *res = json_object();
            json_object_set(res, "id", id ? id : json_null());
            json_t *arr = json_array();
            const phi_entity *e = docs[i].ents;
            for (size_t k = 0; k < docs[i].n; k++) {
                json_t *x = json_object();
                json_object_set_new(x, "start", json_integer(e[k].start));
                json_object_set_new(x, "end", json_integer(e[k].end));
                json_object_set_new(x, "type", json_string(phi_type_name(e[k].type)));
                json_object_set_new(x, "score", json_real((int)(e[k].score * 100 + 0.5) / 100.0));
                json_array_append_new(arr, x);
            }
            json_object_set_new(res, "entities", arr);
            status |= put_result(res);
        }
        json_decref(pd[i].in);
    }
    return status;
}

/* Redact one parsed line and print its result. */
static int redact_line(const phi_detector *d, phi_scratch *s, const opts *o, const char *name,
                       json_t *in, size_t lineno)
{
    json_t *text = json_object_get(in, "text");
    uint8_t *out;
    size_t n;
    int rc = phi_redact(d, s, (const uint8_t *)json_string_value(text), json_string_length(text),
                        &o->r, &out, &n);
    if (rc) {
        fprintf(stderr, "phidb phi: %s:%zu: %s\n", name, lineno, phi_strerror(rc));
        return 1;
    }
    json_t *id = json_object_get(in, "id");
    json_t *res = json_object();
    json_object_set(res, "id", id ? id : json_null());
    json_object_set_new(res, "text", json_stringn((const char *)out, n));
    free(out);
    return put_result(res);
}

/* --jsonl: scans go through phi_scan_batch, CLI_BATCH lines at a time (faster
 * for short texts; the same results as one scan per line). */
static int do_jsonl(const phi_detector *d, phi_scratch *s, const opts *o, const char *name,
                    const uint8_t *buf, size_t len)
{
    size_t i = 0, lineno = 0, np = 0;
    int status = 0;
    pending *pd = malloc(CLI_BATCH * sizeof *pd);
    phi_batch_doc *docs = malloc(CLI_BATCH * sizeof *docs);
    if (!pd || !docs) {
        free(pd);
        free(docs);
        fprintf(stderr, "phidb phi: out of memory\n");
        return 1;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != '\n')
            j++;
        lineno++;
        size_t a = i, b = j;
        i = j + 1;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r'))
            a++;
        if (a == b) continue;
        json_error_t err;
        json_t *in = json_loadb((const char *)buf + a, b - a, JSON_ALLOW_NUL, &err);
        json_t *text = in ? json_object_get(in, "text") : NULL;
        if (!in || !json_is_string(text)) {
            /* Where, not jansson's text: it quotes the input ("near '...'"). */
            if (!in)
                fprintf(stderr,
                        "phidb phi: %s:%zu: not valid JSON at column %d (numbers must fit in "
                        "64 bits)\n",
                        name, lineno, err.column);
            else
                fprintf(stderr, "phidb phi: %s:%zu: expected {\"id\": ..., \"text\": \"...\"}\n",
                        name, lineno);
            json_decref(in);
            status = 1;
            continue;
        }
        if (o->redact) {
            status |= redact_line(d, s, o, name, in, lineno);
            json_decref(in);
            continue;
        }
        pd[np].in = in, pd[np].lineno = lineno;
        if (++np == CLI_BATCH) {
            status |= flush_scans(d, s, name, pd, docs, np);
            np = 0;
        }
    }
    if (np) status |= flush_scans(d, s, name, pd, docs, np);
    free(pd);
    free(docs);
    return status;
}

int phi_cli_main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    phi_config cfg = {0, 0};
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "scan") == 0)
        o.redact = 0;
    else if (strcmp(argv[1], "redact") == 0)
        o.redact = 1;
    else {
        fprintf(stderr, "phidb phi: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    int first_file = argc;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            first_file = i + 1;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            first_file = i;
            break;
        }
        if (strcmp(a, "--jsonl") == 0) {
            o.jsonl = 1;
        } else if (o.redact && strcmp(a, "--mask") == 0) {
            o.r.mode = PHI_REDACT_MASK;
        } else if (o.redact && strcmp(a, "--surrogate") == 0) {
            o.r.mode = PHI_REDACT_SURROGATE;
        } else if (o.redact && strcmp(a, "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            o.r.seed = strtoull(argv[++i], &end, 0);
            if (errno || *end || argv[i][0] == '\0') {
                fprintf(stderr, "phidb phi: --seed needs a number\n");
                return 2;
            }
        } else if (strcmp(a, "--min-score") == 0 && i + 1 < argc) {
            char *end;
            cfg.min_score = strtof(argv[++i], &end);
            if (*end || cfg.min_score <= 0 || cfg.min_score > 1) {
                fprintf(stderr, "phidb phi: --min-score needs a number in (0, 1]\n");
                return 2;
            }
        } else {
            fprintf(stderr, "phidb phi: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (first_file == argc) first_file = argc; /* standard input */
    o.multi = argc - first_file > 1;
    phi_detector *d = NULL;
    phi_scratch *s = NULL;
    int rc = phi_detector_new(&cfg, &d);
    if (rc == 0) rc = phi_scratch_new(d, &s);
    if (rc) {
        fprintf(stderr, "phidb phi: cannot start the detector: %s\n", phi_strerror(rc));
        phi_detector_free(d);
        return 1;
    }
    int status = 0;
    int nfiles = argc - first_file;
    for (int k = 0; k < (nfiles ? nfiles : 1); k++) {
        const char *name = nfiles ? argv[first_file + k] : "-";
        FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
        if (!f) {
            fprintf(stderr, "phidb phi: %s: %s\n", name, strerror(errno));
            status = 1;
            continue;
        }
        uint8_t *buf = NULL;
        size_t len = 0;
        int r = read_all(f, &buf, &len);
        if (f != stdin) fclose(f);
        if (r) {
            fprintf(stderr, "phidb phi: %s: %s\n", name, strerror(errno));
            status = 1;
            continue;
        }
        int st = o.jsonl ? do_jsonl(d, s, &o, name, buf, len) : do_text(d, s, &o, name, buf, len);
        if (st) status = st;
        free(buf);
    }
    if (fflush(stdout) != 0) status = 1;
    phi_scratch_free(s);
    phi_detector_free(d);
    return status;
}
