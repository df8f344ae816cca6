/*
 * phi-bench: throughput of the PHI detector on clinical text, one core.
 *
 *   phi-bench [--mb N] [--redact] [--only note|batch|doc] NOTES.jsonl
 *
 * Reads the "text" of every line of NOTES.jsonl (tests/phi/clinical-notes.jsonl)
 * and measures, on one thread:
 *   per-note:  each note scanned as its own document (what PHI.SCAN sees),
 *              repeated until N MB (default 50) have been scanned;
 *   batch:     the same notes, 64 per phi_scan_batch call (each still its own
 *              document);
 *   one-doc:   all notes joined into one document of about N MB, scanned once;
 *   redact:    (with --redact) per-note tag redaction.
 * --only runs one of the three scans (for profiling one mode).
 * Also prints detector build time and memory. It measures and never fails on
 * a figure: it is not a ctest. Times are the thread's CPU time (one core,
 * unaffected by other processes sharing the machine).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phi/phi.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct note {
    char *p;
    size_t n;
} note;

int main(int argc, char **argv)
{
    double mb = 50;
    int redact = 0;
    int do_note = 1, do_batch = 1, do_doc = 1; /* --only note|batch|doc */
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = atof(argv[++i]);
        else if (!strcmp(argv[i], "--redact"))
            redact = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            i++;
            do_note = !strcmp(argv[i], "note");
            do_batch = !strcmp(argv[i], "batch");
            do_doc = !strcmp(argv[i], "doc");
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr,
                "usage: phi-bench [--mb N] [--redact] [--only note|batch|doc] NOTES.jsonl\n");
        return 2;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    note *notes = NULL;
    size_t nn = 0, total = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *t = o ? json_object_get(o, "text") : NULL;
        if (json_is_string(t)) {
            notes = realloc(notes, (nn + 1) * sizeof *notes);
            notes[nn].n = json_string_length(t);
            notes[nn].p = malloc(notes[nn].n);
            memcpy(notes[nn].p, json_string_value(t), notes[nn].n);
            total += notes[nn].n;
            nn++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (!nn) {
        fprintf(stderr, "no notes\n");
        return 1;
    }
    double t0 = now();
    phi_detector *d;
    phi_scratch *s;
    if (phi_detector_new(NULL, &d) || phi_scratch_new(d, &s)) return 1;
    double tb = now() - t0;
    printf("notes: %zu (%.1f KB, mean %.0f bytes)\n", nn, total / 1e3, (double)total / nn);
    printf("detector: built in %.1f ms, %.1f MB\n", tb * 1e3, phi_detector_memory(d) / 1e6);

    /* per-note */
    size_t target = (size_t)(mb * 1e6), done = 0, ents = 0;
    const phi_entity *e;
    size_t n;
    t0 = now();
    while (do_note && done < target) {
        for (size_t i = 0; i < nn && done < target; i++) {
            phi_scan_view(d, s, (const uint8_t *)notes[i].p, notes[i].n, &e, &n);
            done += notes[i].n;
            ents += n;
        }
    }
    double dt = now() - t0;
    if (do_note)
        printf("per-note scan: %.1f MB in %.3f s = %.1f MB/s (%.0f notes/s, %zu entities)\n",
               done / 1e6, dt, done / 1e6 / dt, done / (total / (double)nn) / dt, ents);

    /* per-note, BATCH notes a call */
    enum { BATCH = 256 };
    phi_batch_doc docs[BATCH];
    done = 0, ents = 0;
    t0 = now();
    while (do_batch && done < target) {
        for (size_t i = 0; i < nn && done < target; i += BATCH) {
            size_t m = 0;
            for (; m < BATCH && i + m < nn && done < target; m++) {
                docs[m].text = (const uint8_t *)notes[i + m].p, docs[m].len = notes[i + m].n;
                done += notes[i + m].n;
            }
            phi_scan_batch(d, s, docs, m);
            for (size_t k = 0; k < m; k++)
                ents += docs[k].n;
        }
    }
    dt = now() - t0;
    if (do_batch)
        printf("batch scan: %.1f MB in %.3f s = %.1f MB/s (%.0f notes/s, %zu entities)\n",
               done / 1e6, dt, done / 1e6 / dt, done / (total / (double)nn) / dt, ents);

    /* one big document */
    char *big = malloc(target + 4096);
    size_t bl = 0;
    while (bl < target)
        for (size_t i = 0; i < nn && bl < target; i++) {
            memcpy(big + bl, notes[i].p, notes[i].n);
            bl += notes[i].n;
            big[bl++] = '\n';
        }
    t0 = now();
    if (do_doc) phi_scan_view(d, s, (const uint8_t *)big, bl, &e, &n);
    dt = now() - t0;
    if (do_doc)
        printf("one-document scan: %.1f MB in %.3f s = %.1f MB/s (%zu entities)\n", bl / 1e6, dt,
               bl / 1e6 / dt, n);

    if (redact) {
        done = 0;
        t0 = now();
        while (done < target / 5)
            for (size_t i = 0; i < nn && done < target / 5; i++) {
                uint8_t *out;
                size_t ol;
                phi_redact(d, s, (const uint8_t *)notes[i].p, notes[i].n, NULL, &out, &ol);
                free(out);
                done += notes[i].n;
            }
        dt = now() - t0;
        printf("per-note redact: %.1f MB in %.3f s = %.1f MB/s\n", done / 1e6, dt, done / 1e6 / dt);
    }
    free(big);
    for (size_t i = 0; i < nn; i++)
        free(notes[i].p);
    free(notes);
    phi_scratch_free(s);
    phi_detector_free(d);
    return 0;
}
