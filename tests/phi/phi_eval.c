/*
 * phi-eval: precision, recall and F2 of the PHI detector on labelled text.
 *
 *   phi-eval [--check] [--split NAME] [--errors] [--strict] --notes FILE.jsonl
 *   phi-eval [--errors] [--strict] [--half 1|2] --presidio FILE.json
 *
 * Notes format (tests/phi/clinical-notes.jsonl): one JSON object per line,
 * {"id", "split", "text", "spans": [{"start", "end", "type"}]}, byte offsets,
 * types named as phi_type_name() names them.
 *
 * Presidio format: the presidio-research synthetic set (a JSON list of
 * {full_text, spans: [{entity_type, start_position, end_position}]}, offsets
 * in characters; converted to bytes here). Its types are mapped onto ours,
 * and those Safe Harbor does not cover become "ignored" regions:
 *   PERSON->NAME, STREET_ADDRESS->ADDRESS, GPE->CITY (countries, US states
 *   and the literal "nan" are ignored: not PHI), CREDIT_CARD->CARD,
 *   DATE_TIME->DATE (a plain year or a weekday alone is ignored: Safe
 *   Harbor keeps years), PHONE_NUMBER->PHONE, AGE->AGE when over 89 else
 *   ignored, EMAIL_ADDRESS->EMAIL, ZIP_CODE->ZIP, DOMAIN_NAME->URL,
 *   IBAN_CODE->ACCOUNT, US_SSN->SSN, IP_ADDRESS->IP,
 *   US_DRIVER_LICENSE->LICENSE; ORGANIZATION, TITLE and NRP are ignored.
 * A token in an ignored region counts neither as a miss nor, by default, as
 * a false positive when the detector marks it; --strict counts those marks
 * as false positives.
 *
 * Scoring is per token (maximal runs of letters/digits/non-ASCII bytes):
 *   overall: a token is PHI or not (any type): what de-identification needs;
 *   per type: gold type against predicted type, where the phone group
 *   (PHONE, FAX) and the id group (SSN, MRN, ACCOUNT, HEALTH_PLAN, LICENSE,
 *   VEHICLE, DEVICE, CARD, ID) count as one type each;
 *   F2 = 5PR / (4P + R).
 * --check exits 1 unless, on the clinical notes, recall >= 0.97 for names,
 * dates, phones and ids and overall precision >= 0.85.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "phi/phi.h"

#define NT PHI_TYPE_COUNT

/* Type group for scoring. */
static int group_of(int t)
{
    switch (t) {
    case PHI_FAX: return PHI_PHONE;
    case PHI_SSN:
    case PHI_MRN:
    case PHI_ACCOUNT:
    case PHI_HEALTH_PLAN:
    case PHI_LICENSE:
    case PHI_VEHICLE:
    case PHI_DEVICE:
    case PHI_CARD:
    case PHI_ID: return PHI_ID;
    default: return t;
    }
}

typedef struct counts {
    long tp[NT], fp[NT], fn[NT]; /* per group, token level */
    long otp, ofp, ofn;          /* overall, type-agnostic */
    long docs, bytes;
    double secs;
} counts;

#define IGNORED (-2)
#define NONE    (-1)

static int strict_mode, show_errors;

/* Score one document: gold[] and pred[] are per-byte labels. */
static void score_doc(counts *c, const uint8_t *t, size_t len, const int *gold, const int *pred,
                      const char *docid)
{
    size_t i = 0;
    while (i < len) {
        if (!((t[i] >= '0' && t[i] <= '9') || ((t[i] | 32) >= 'a' && (t[i] | 32) <= 'z') ||
              t[i] >= 0x80)) {
            i++;
            continue;
        }
        size_t j = i;
        int g = gold[i], p = NONE;
        while (j < len && ((t[j] >= '0' && t[j] <= '9') ||
                           ((t[j] | 32) >= 'a' && (t[j] | 32) <= 'z') || t[j] >= 0x80)) {
            if (p == NONE && pred[j] != NONE) p = pred[j];
            if (g == NONE && gold[j] != NONE) g = gold[j];
            j++;
        }
        if (g == IGNORED) {
            if (strict_mode && p != NONE) {
                c->ofp++;
                c->fp[group_of(p)]++;
            }
            i = j;
            continue;
        }
        if (g != NONE && p != NONE)
            c->otp++;
        else if (g != NONE)
            c->ofn++;
        else if (p != NONE)
            c->ofp++;
        int gg = g == NONE ? NONE : group_of(g), pg = p == NONE ? NONE : group_of(p);
        if (gg != NONE && gg == pg)
            c->tp[gg]++;
        else {
            if (gg != NONE) c->fn[gg]++;
            if (pg != NONE) c->fp[pg]++;
        }
        if (show_errors && gg != pg)
            printf("%s\t%s\t%s\t%.*s\n", docid, gg == NONE ? "-" : phi_type_name((phi_type)gg),
                   pg == NONE ? "-" : phi_type_name((phi_type)pg), (int)(j - i), t + i);
        i = j;
    }
}

static double f2(double p, double r)
{
    return (p + r) > 0 ? 5 * p * r / (4 * p + r) : 0;
}

static double ratio(long a, long b)
{
    return b ? (double)a / (double)b : 1.0;
}

static void report(const char *title, const counts *c)
{
    printf("== %s: %ld documents, %ld bytes, %.1f ms scanning (%.2f MB/s)\n", title, c->docs,
           c->bytes, c->secs * 1e3, c->secs > 0 ? c->bytes / c->secs / 1e6 : 0);
    printf("%-12s %8s %8s %8s %7s %7s %7s\n", "type", "tp", "fp", "fn", "P", "R", "F2");
    for (int t = 0; t < NT; t++) {
        if (group_of(t) != t) continue;
        if (!c->tp[t] && !c->fp[t] && !c->fn[t]) continue;
        double p = ratio(c->tp[t], c->tp[t] + c->fp[t]), r = ratio(c->tp[t], c->tp[t] + c->fn[t]);
        const char *name = t == PHI_ID      ? "IDS"
                           : t == PHI_PHONE ? "PHONE+FAX"
                                            : phi_type_name((phi_type)t);
        printf("%-12s %8ld %8ld %8ld %7.3f %7.3f %7.3f\n", name, c->tp[t], c->fp[t], c->fn[t], p, r,
               f2(p, r));
    }
    double p = ratio(c->otp, c->otp + c->ofp), r = ratio(c->otp, c->otp + c->ofn);
    printf("%-12s %8ld %8ld %8ld %7.3f %7.3f %7.3f\n", "OVERALL", c->otp, c->ofp, c->ofn, p, r,
           f2(p, r));
}

static int check_targets(const counts *c)
{
    int ok = 1;
    static const int groups[] = {PHI_NAME, PHI_DATE, PHI_PHONE, PHI_ID};
    for (size_t i = 0; i < 4; i++) {
        int t = groups[i];
        double r = ratio(c->tp[t], c->tp[t] + c->fn[t]);
        if (r < 0.97) {
            printf("TARGET MISSED: recall of %s %.3f < 0.97\n",
                   t == PHI_ID ? "IDS" : phi_type_name((phi_type)t), r);
            ok = 0;
        }
    }
    double p = ratio(c->otp, c->otp + c->ofp);
    if (p < 0.85) {
        printf("TARGET MISSED: overall precision %.3f < 0.85\n", p);
        ok = 0;
    }
    if (ok)
        printf("targets met (recall >= 0.97 for names, dates, phones, ids; precision >= 0.85)\n");
    return ok;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Scan text, fill pred[], add the time. */
static int predict(const phi_detector *d, phi_scratch *s, const uint8_t *t, size_t len, int *pred,
                   counts *c)
{
    const phi_entity *e;
    size_t n;
    for (size_t i = 0; i < len; i++)
        pred[i] = NONE;
    double t0 = now();
    int rc = phi_scan_view(d, s, t, len, &e, &n);
    c->secs += now() - t0;
    if (rc) return rc;
    for (size_t k = 0; k < n; k++)
        for (size_t i = e[k].start; i < e[k].end && i < len; i++)
            pred[i] = (int)e[k].type;
    c->docs++;
    c->bytes += (long)len;
    return 0;
}

static int run_notes(const phi_detector *d, phi_scratch *s, const char *path, const char *split,
                     counts *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *o = json_loadb(line, (size_t)got, 0, &err);
        if (!o) continue;
        const char *sp = json_string_value(json_object_get(o, "split"));
        if (split && (!sp || strcmp(sp, split) != 0)) {
            json_decref(o);
            continue;
        }
        json_t *jt = json_object_get(o, "text");
        const uint8_t *t = (const uint8_t *)json_string_value(jt);
        size_t len = json_string_length(jt);
        int *gold = malloc((len + 1) * sizeof *gold), *pred = malloc((len + 1) * sizeof *pred);
        if (!t || !gold || !pred) {
            rc = -1;
            free(gold), free(pred), json_decref(o);
            break;
        }
        for (size_t i = 0; i < len; i++)
            gold[i] = NONE;
        size_t k;
        json_t *span;
        json_array_foreach(json_object_get(o, "spans"), k, span)
        {
            json_int_t a = json_integer_value(json_object_get(span, "start"));
            json_int_t b = json_integer_value(json_object_get(span, "end"));
            const char *ty = json_string_value(json_object_get(span, "type"));
            int tt = ty ? phi_type_from_name(ty, strlen(ty)) : -1;
            if (tt < 0 || a < 0 || b > (json_int_t)len || a > b) {
                fprintf(stderr, "%s: bad span\n", path);
                continue;
            }
            for (json_int_t i = a; i < b; i++)
                gold[i] = tt;
        }
        if (predict(d, s, t, len, pred, c))
            rc = -1;
        else
            score_doc(c, t, len, gold, pred, json_string_value(json_object_get(o, "id")));
        free(gold);
        free(pred);
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- presidio set ---- */

static const char *const not_phi_places[] = {
    "nan", "usa", "us", "united states", "america", "canada", "mexico", "brazil", "argentina",
    "chile", "peru", "colombia", "venezuela", "uruguay", "paraguay", "bolivia", "ecuador",
    "united kingdom", "uk", "england", "scotland", "wales", "ireland", "northern ireland", "france",
    "germany", "italy", "spain", "portugal", "netherlands", "the netherlands", "belgium",
    "switzerland", "austria", "denmark", "norway", "sweden", "finland", "iceland", "estonia",
    "latvia", "lithuania", "poland", "czech republic", "czechia", "slovakia", "hungary", "romania",
    "bulgaria", "greece", "cyprus", "turkey", "russia", "ukraine", "belarus", "croatia", "serbia",
    "slovenia", "bosnia", "albania", "israel", "lebanon", "jordan", "egypt", "morocco", "tunisia",
    "algeria", "libya", "nigeria", "ghana", "kenya", "ethiopia", "somalia", "south africa",
    "africa", "china", "japan", "korea", "south korea", "north korea", "india", "pakistan",
    "bangladesh", "vietnam", "thailand", "cambodia", "laos", "philippines", "indonesia", "malaysia",
    "singapore", "australia", "new zealand", "haiti", "cuba", "jamaica", "iran", "iraq", "syria",
    "afghanistan", "europe", "asia", "luxembourg", "moldova", "armenia", "azerbaijan", "kazakhstan",
    "greenland", "faroe islands", "malta", "monaco", "andorra", "liechtenstein", "san marino",
    "montenegro", "macedonia", "north macedonia", "kosovo", "georgia", "saudi arabia",
    "united arab emirates", "qatar", "kuwait", "oman", "yemen", "bahrain", "nepal", "sri lanka",
    "myanmar", "mongolia", "taiwan", "hong kong", "fiji", "samoa", "tonga", "belize", "guatemala",
    "honduras", "el salvador", "nicaragua", "costa rica", "panama", "dominican republic",
    "puerto rico", "trinidad", "bahamas", "barbados", "senegal", "mali", "niger", "chad", "sudan",
    "uganda", "tanzania", "rwanda", "zambia", "zimbabwe", "botswana", "namibia", "angola",
    "mozambique", "madagascar", "cameroon", "congo", "gabon", "ivory coast", "liberia",
    "sierra leone", "guinea", "benin", "togo", "burkina faso", "mauritania", "eritrea", "djibouti",
    "southern italy", "southern tunisia", "northern italy",
    /* US states and their abbreviations */
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware",
    "florida", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky", "louisiana",
    "maine", "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri",
    "montana", "nebraska", "nevada", "new hampshire", "new jersey", "new mexico", "new york state",
    "north carolina", "north dakota", "ohio", "oklahoma", "oregon", "pennsylvania", "rhode island",
    "south carolina", "south dakota", "tennessee", "texas", "utah", "vermont", "virginia",
    "west virginia", "wisconsin", "wyoming", NULL};

static int is_not_phi_place(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '.' || p[n - 1] == ','))
        n--;
    if (n == 2 && p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z') return 1; /* states */
    for (const char *const *w = not_phi_places; *w; w++)
        if (strlen(*w) == n && strncasecmp(*w, p, n) == 0) return 1;
    return 0;
}

static int map_presidio(const char *ty, const char *val, size_t vlen)
{
    static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                           "friday", "saturday", "sunday",    NULL};
    if (!strcmp(ty, "PERSON")) return PHI_NAME;
    if (!strcmp(ty, "STREET_ADDRESS")) return PHI_ADDRESS;
    if (!strcmp(ty, "GPE")) return is_not_phi_place(val, vlen) ? IGNORED : PHI_CITY;
    if (!strcmp(ty, "CREDIT_CARD")) return PHI_CARD;
    if (!strcmp(ty, "DATE_TIME")) {
        bool year = vlen == 4;
        for (size_t i = 0; i < vlen && year; i++)
            year = val[i] >= '0' && val[i] <= '9';
        if (year) return IGNORED;
        for (const char *const *w = weekdays; *w; w++)
            if (strlen(*w) == vlen && strncasecmp(*w, val, vlen) == 0) return IGNORED;
        return PHI_DATE;
    }
    if (!strcmp(ty, "PHONE_NUMBER")) return PHI_PHONE;
    if (!strcmp(ty, "AGE")) return atoi(val) > 89 ? PHI_AGE : IGNORED;
    if (!strcmp(ty, "EMAIL_ADDRESS")) return PHI_EMAIL;
    if (!strcmp(ty, "ZIP_CODE")) return PHI_ZIP;
    if (!strcmp(ty, "DOMAIN_NAME")) return PHI_URL;
    if (!strcmp(ty, "IBAN_CODE")) return PHI_ACCOUNT;
    if (!strcmp(ty, "US_SSN")) return PHI_SSN;
    if (!strcmp(ty, "IP_ADDRESS")) return PHI_IP;
    if (!strcmp(ty, "US_DRIVER_LICENSE")) return PHI_LICENSE;
    return IGNORED; /* ORGANIZATION, TITLE, NRP */
}

/* Byte offset of character index ci in UTF-8 text t. */
static size_t byte_of_char(const uint8_t *t, size_t len, size_t ci)
{
    size_t i = 0, c = 0;
    while (i < len && c < ci) {
        i++;
        while (i < len && (t[i] & 0xC0) == 0x80)
            i++;
        c++;
    }
    return i;
}

static int run_presidio(const phi_detector *d, phi_scratch *s, const char *path, int half,
                        counts *c)
{
    json_error_t err;
    json_t *all = json_load_file(path, 0, &err);
    if (!all || !json_is_array(all)) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        json_decref(all);
        return -1;
    }
    size_t n = json_array_size(all), idx;
    json_t *doc;
    int rc = 0;
    json_array_foreach(all, idx, doc)
    {
        if (half == 1 && idx >= n / 2) break;
        if (half == 2 && idx < n / 2) continue;
        json_t *jt = json_object_get(doc, "full_text");
        const uint8_t *t = (const uint8_t *)json_string_value(jt);
        size_t len = json_string_length(jt);
        int *gold = malloc((len + 1) * sizeof *gold), *pred = malloc((len + 1) * sizeof *pred);
        if (!t || !gold || !pred) {
            free(gold), free(pred);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < len; i++)
            gold[i] = NONE;
        /* Ignored regions first, so a PHI span inside one still counts. */
        for (int pass = 0; pass < 2; pass++) {
            size_t k;
            json_t *sp;
            json_array_foreach(json_object_get(doc, "spans"), k, sp)
            {
                size_t a = byte_of_char(
                    t, len, (size_t)json_integer_value(json_object_get(sp, "start_position")));
                size_t b = byte_of_char(
                    t, len, (size_t)json_integer_value(json_object_get(sp, "end_position")));
                const char *ty = json_string_value(json_object_get(sp, "entity_type"));
                if (!ty || a > b) continue;
                int m = map_presidio(ty, (const char *)t + a, b - a);
                if ((pass == 0) != (m == IGNORED)) continue;
                for (size_t i = a; i < b; i++)
                    gold[i] = m;
            }
        }
        char id[32];
        snprintf(id, sizeof id, "presidio-%zu", idx);
        if (predict(d, s, t, len, pred, c))
            rc = -1;
        else
            score_doc(c, t, len, gold, pred, id);
        free(gold);
        free(pred);
    }
    json_decref(all);
    return rc;
}

int main(int argc, char **argv)
{
    const char *notes = NULL, *presidio = NULL, *split = NULL;
    int check = 0, half = 0;
    float min_score = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--notes") && i + 1 < argc)
            notes = argv[++i];
        else if (!strcmp(argv[i], "--presidio") && i + 1 < argc)
            presidio = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc)
            split = argv[++i];
        else if (!strcmp(argv[i], "--half") && i + 1 < argc)
            half = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-score") && i + 1 < argc)
            min_score = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--check"))
            check = 1;
        else if (!strcmp(argv[i], "--errors"))
            show_errors = 1;
        else if (!strcmp(argv[i], "--strict"))
            strict_mode = 1;
        else {
            fprintf(stderr, "usage: phi-eval [--check] [--split S] [--errors] [--strict] "
                            "[--min-score X] (--notes FILE | --presidio FILE [--half 1|2])\n");
            return 2;
        }
    }
    if (!notes && !presidio) {
        fprintf(stderr, "phi-eval: give --notes or --presidio\n");
        return 2;
    }
    phi_config cfg = {min_score, 0};
    phi_detector *d = NULL;
    phi_scratch *s = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = phi_detector_new(&cfg, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0) rc = phi_scratch_new(d, &s);
    if (rc) {
        fprintf(stderr, "phi-eval: %s\n", phi_strerror(rc));
        return 1;
    }
    printf("detector built in %.1f ms, %.1f MB\n",
           (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
           phi_detector_memory(d) / 1e6);
    counts c;
    memset(&c, 0, sizeof c);
    int status = 0;
    if (notes) {
        if (run_notes(d, s, notes, split, &c)) status = 1;
        char title[128];
        snprintf(title, sizeof title, "clinical notes%s%s", split ? ", split " : "",
                 split ? split : "");
        report(title, &c);
        if (check && !check_targets(&c)) status = 1;
    } else {
        if (run_presidio(d, s, presidio, half, &c)) status = 1;
        report(half ? (half == 1 ? "presidio dev set, first half" : "presidio dev set, second half")
                    : "presidio dev set",
               &c);
    }
    phi_scratch_free(s);
    phi_detector_free(d);
    return status;
}
