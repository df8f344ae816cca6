/*
 * phi: lifetime of detectors and scratches, status and type names.
 *
 * Building a detector does all the slow work once: compiling the Hyperscan
 * database and hashing about 450,000 dictionary words into read-only tables.
 * Everything a scan needs afterwards is either read-only (shared by threads)
 * or lives in the caller's scratch.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "phi_internal.h"

static const char *const type_names[PHI_TYPE_COUNT] = {
    "NAME", "DATE",    "AGE",         "PHONE",   "FAX",      "EMAIL",  "SSN",
    "MRN",  "ACCOUNT", "HEALTH_PLAN", "LICENSE", "VEHICLE",  "DEVICE", "URL",
    "IP",   "ADDRESS", "CITY",        "ZIP",     "FACILITY", "CARD",   "ID"};

const char *phi_strerror(int status)
{
    switch (status) {
    case PHI_OK: return "success";
    case PHI_ENOMEM: return "out of memory";
    case PHI_EINVAL: return "invalid argument";
    case PHI_EENGINE: return "regex engine error";
    case PHI_ETRUNC: return "more entities than the output array holds";
    case PHI_ENOSPACE: return "output buffer too small";
    case PHI_EPARSE: return "value could not be parsed";
    case PHI_ETOOBIG: return "input too large";
    case PHI_ECANCELED: return "cancelled";
    default: return "unknown error";
    }
}

const char *phi_type_name(phi_type type)
{
    if ((unsigned)type >= PHI_TYPE_COUNT) return "UNKNOWN";
    return type_names[type];
}

int phi_type_from_name(const char *p, size_t len)
{
    if (!p) return PHI_EINVAL;
    for (int t = 0; t < PHI_TYPE_COUNT; t++)
        if (strlen(type_names[t]) == len && strncasecmp(type_names[t], p, len) == 0) return t;
    return PHI_EINVAL;
}

int phi_vec_reserve(phi_vec *v, size_t want, size_t sz)
{
    if (want <= v->cap) return PHI_OK;
    size_t cap = v->cap ? v->cap : 256;
    while (cap < want)
        cap *= 2;
    void *np = realloc(v->p, cap * sz);
    if (!np) return PHI_ENOMEM;
    v->p = np;
    v->cap = cap;
    return PHI_OK;
}

/* Collect offsets of list entries fit to be surrogates: plain names (not
 * common words, not ambiguous), 4 to 8 letters, every 4th to keep it small. */
static int pick_surrogates(const phi_dict *words, phi_blob b, uint16_t want, uint32_t **out,
                           uint32_t *n)
{
    size_t cap = 0, k = 0, i = 0;
    uint32_t *arr = NULL;
    while (i < b.len) {
        size_t j = i;
        while (j < b.len && b.p[j] != '\n')
            j++;
        size_t len = j - i;
        bool alpha = len >= 4 && len <= 8;
        for (size_t q = i; q < j && alpha; q++)
            alpha = b.p[q] >= 'a' && b.p[q] <= 'z';
        if (alpha) {
            uint16_t f = phi_dict_get(words, phi_hash_word(b.p + i, len));
            if ((f & want) && !(f & (PHI_D_COMMON | PHI_D_AMBIG)) && (k++ % 4) == 0) {
                if (*n == cap) {
                    cap = cap ? cap * 2 : 4096;
                    uint32_t *na = realloc(arr, cap * sizeof *arr);
                    if (!na) {
                        free(arr);
                        return PHI_ENOMEM;
                    }
                    arr = na;
                }
                arr[(*n)++] = (uint32_t)i;
            }
        }
        i = j + 1;
    }
    *out = arr;
    return PHI_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int phi_detector_new(const phi_config *cfg, phi_detector **out)
{
    if (!out) return PHI_EINVAL;
    *out = NULL;
    double t0 = now_ms();
    phi_detector *d = calloc(1, sizeof *d);
    if (!d) return PHI_ENOMEM;
    if (cfg) d->cfg = *cfg;
    if (d->cfg.min_score <= 0) d->cfg.min_score = 0.5f;
    if (d->cfg.types == 0) d->cfg.types = PHI_TYPES_ALL;
    /* The database precompiled at build time; compile it here only when this
     * CPU cannot run that one (seconds instead of milliseconds). */
    int rc = PHI_OK;
    phi_blob hsdb = phi_data_hsdb();
    if (phi_patterns_deserialize(hsdb.p, hsdb.len, &d->db) != PHI_OK) {
        rc = phi_patterns_compile(&d->db);
        if (rc) goto fail;
    }
    phi_blob first = phi_data_first_names(), last = phi_data_last_names(),
             common = phi_data_common_words();
    /* One entry per line at most (the lists overlap, so fewer in fact). */
    size_t lines = 4096;
    for (size_t i = 0; i < first.len; i++)
        lines += first.p[i] == '\n';
    for (size_t i = 0; i < last.len; i++)
        lines += last.p[i] == '\n';
    for (size_t i = 0; i < common.len; i++)
        lines += common.p[i] == '\n';
    rc = phi_dict_init(&d->words, lines);
    if (rc) goto fail;
    if ((rc = phi_dict_add_lines(&d->words, first, PHI_D_FIRST)) ||
        (rc = phi_dict_add_lines(&d->words, last, PHI_D_LAST)) ||
        (rc = phi_dict_add_lines(&d->words, common, PHI_D_COMMON)) ||
        (rc = phi_dict_add_lines(&d->words, phi_data_ambiguous(), PHI_D_AMBIG)))
        goto fail;
    /* Names the allow-list wrongly calls common words: clear their COMMON bit. */
    {
        phi_blob ov = phi_data_name_override();
        size_t i = 0;
        while (i < ov.len) {
            size_t j = i;
            while (j < ov.len && ov.p[j] != '\n')
                j++;
            if (j > i) {
                uint64_t h = phi_hash_word(ov.p + i, j - i);
                uint64_t fp = h & ~(uint64_t)0xFFFF;
                uint32_t k = (uint32_t)(h >> 20) & d->words.mask;
                while (d->words.slots[k]) {
                    if ((d->words.slots[k] & ~(uint64_t)0xFFFF) == fp) {
                        d->words.slots[k] &= ~(uint64_t)PHI_D_COMMON;
                        break;
                    }
                    k = (k + 1) & d->words.mask;
                }
            }
            i = j + 1;
        }
    }
    /* Cities: the whole name and each of its words carry PHI_D_CITY. */
    {
        phi_blob cb = phi_data_cities();
        size_t i = 0;
        while (i < cb.len) {
            size_t j = i;
            while (j < cb.len && cb.p[j] != '\n')
                j++;
            size_t a = i;
            if (a < j && cb.p[a] == '*') a++;
            if (a < j && cb.p[a] != '#') {
                if (d->words.count * 2 >= d->words.mask) {
                    rc = PHI_ENOMEM;
                    goto fail;
                }
                size_t w = a;
                while (w <= j) {
                    size_t e = w;
                    while (e < j && cb.p[e] != ' ')
                        e++;
                    if (e > w) {
                        char word[64];
                        size_t n = e - w < sizeof word - 1 ? e - w : sizeof word - 1;
                        memcpy(word, cb.p + w, n);
                        word[n] = 0;
                        if ((rc = phi_dict_add(&d->words, word, PHI_D_CITY))) goto fail;
                    }
                    w = e + 1;
                }
            }
            i = j + 1;
        }
    }
    if ((rc = phi_dict_build_context(&d->ctx)) || (rc = phi_places_build_dict(&d->addrw)) ||
        (rc = phi_labels_build(&d->labels)) || (rc = phi_labels_mark(&d->labels, &d->ctx)))
        goto fail;
    if ((rc = pick_surrogates(&d->words, first, PHI_D_FIRST, &d->sur_first, &d->n_sur_first)) ||
        (rc = pick_surrogates(&d->words, last, PHI_D_LAST, &d->sur_last, &d->n_sur_last)))
        goto fail;
    if (d->n_sur_first == 0 || d->n_sur_last == 0) {
        rc = PHI_EINVAL;
        goto fail;
    }
    for (size_t i = 0; i < phi_patterns_count; i++)
        if (phi_patterns[i].kind == PHI_PK_TOKEN)
            d->idscan_pat = (uint16_t)i;
        else if (phi_patterns[i].kind == PHI_PK_CSCAN) {
            uint16_t k = (uint16_t)i;
            switch ((phi_start)phi_patterns[i].start) {
            case PHI_S_SCAN_PREP: d->prep_pat = k; break;
            case PHI_S_SCAN_SSN: d->cscan.ssn = k; break;
            case PHI_S_SCAN_SSN_SPACED: d->cscan.ssn_spaced = k; break;
            case PHI_S_SCAN_DEA: d->cscan.dea = k; break;
            case PHI_S_SCAN_VIN: d->cscan.vin = k; break;
            case PHI_S_SCAN_COMMA_STATE: d->cscan.comma_state = k; break;
            case PHI_S_SCAN_STATE_ZIP: d->cscan.state_zip = k; break;
            case PHI_S_SCAN_PHONE_DASH: d->cscan.phone_dash = k; break;
            case PHI_S_SCAN_PHONE_001: d->cscan.phone_001 = k; break;
            case PHI_S_SCAN_PHONE_DOTS: d->cscan.phone_dots = k; break;
            case PHI_S_SCAN_STREET: d->cscan.street = k; break;
            case PHI_S_SCAN_EMAIL: d->cscan.email = k; break;
            case PHI_S_SCAN_IPV4: d->cscan.ipv4 = k; break;
            default: break;
            }
        } else if (phi_patterns[i].kind == PHI_PK_VALUE_C) {
            if (phi_patterns[i].val == PHI_V_ORDINAL)
                d->cscan.ordinal = (uint16_t)i;
            else if (phi_patterns[i].val == PHI_V_URL)
                d->cscan.url = (uint16_t)i;
            else
                d->cscan.zero_groups = (uint16_t)i;
        }
    d->build_ms = now_ms() - t0;
    *out = d;
    return PHI_OK;
fail:
    phi_detector_free(d);
    return rc;
}

void phi_detector_free(phi_detector *d)
{
    if (!d) return;
    phi_dbset_free(&d->db);
    phi_dict_free(&d->words);
    phi_dict_free(&d->ctx);
    phi_dict_free(&d->addrw);
    phi_labels_free(&d->labels);
    free(d->sur_first);
    free(d->sur_last);
    free(d);
}

size_t phi_detector_memory(const phi_detector *d)
{
    if (!d) return 0;
    size_t db = 0, sz = 0;
    if (d->db.main && hs_database_size(d->db.main, &sz) == HS_SUCCESS) db += sz;
    for (size_t i = 0; i < d->db.n; i++)
        if (d->db.som[i] && hs_database_size(d->db.som[i], &sz) == HS_SUCCESS) db += sz;
    return sizeof *d + db + ((size_t)d->words.mask + 1) * 8 + ((size_t)d->ctx.mask + 1) * 8 +
           ((size_t)d->addrw.mask + 1) * 8 + (d->n_sur_first + d->n_sur_last) * sizeof(uint32_t);
}

int phi_scratch_new(const phi_detector *d, phi_scratch **out)
{
    if (!d || !out) return PHI_EINVAL;
    *out = NULL;
    phi_scratch *s = calloc(1, sizeof *s);
    if (!s) return PHI_ENOMEM;
    s->d = d;
    /* One Hyperscan scratch big enough for every database of the set. */
    bool ok = hs_alloc_scratch(d->db.main, &s->hs) == HS_SUCCESS;
    for (size_t i = 0; ok && i < d->db.n; i++)
        if (d->db.som[i]) ok = hs_alloc_scratch(d->db.som[i], &s->hs) == HS_SUCCESS;
    if (!ok) {
        if (s->hs) hs_free_scratch(s->hs);
        free(s);
        return PHI_ENOMEM;
    }
    *out = s;
    return PHI_OK;
}

void phi_scratch_set_cancel(phi_scratch *s, const atomic_int *flag)
{
    if (s) s->cancel = flag;
}

void phi_scratch_free(phi_scratch *s)
{
    if (!s) return;
    if (s->hs) hs_free_scratch(s->hs);
    free(s->cands.p);
    free(s->tmp.p);
    free(s->kws.p);
    free(s->toks.p);
    free(s->caps.p);
    free(s->ents.p);
    free(s->nameset.p);
    free(s->named.p);
    free(s->surmap.p);
    free(s->out.p);
    free(s->prep.p);
    if (s->docst)
        for (size_t i = 0; i < PHI_BATCH_CHUNK; i++) {
            free(s->docst[i].cands.p);
            free(s->docst[i].kws.p);
            free(s->docst[i].toks.p);
            free(s->docst[i].caps.p);
            free(s->docst[i].ents.p);
        }
    free(s->docst);
    free(s->batch_ents.p);
    free(s->fold.p);
    free(s->fold_map.p);
    free(s);
}

/* Copy the scratch's result to the caller. */
int phi_scan(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
             phi_entity *out, size_t cap, size_t *n_found)
{
    const phi_entity *e;
    size_t n;
    if (!n_found || (cap && !out)) return PHI_EINVAL;
    *n_found = 0;
    int rc = phi_scan_view(d, s, text, len, &e, &n);
    if (rc) return rc;
    *n_found = n;
    if (n && cap) memcpy(out, e, (n < cap ? n : cap) * sizeof *e);
    return n > cap ? PHI_ETRUNC : PHI_OK;
}

int phi_scan_view(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                  const phi_entity **ents, size_t *n)
{
    if (!d || !s || !ents || !n || (!text && len) || s->d != d) return PHI_EINVAL;
    if (len > PHI_MAX_INPUT) return PHI_ETOOBIG;
    const uint8_t *t = text ? text : (const uint8_t *)"";
    size_t tl = len, map_off = 0;
    int folded = phi_fold_needed(t, len);
    if (folded) {
        s->fold.n = s->fold_map.n = 0;
        if (phi_vec_reserve(&s->fold, len + 1, 1) != PHI_OK ||
            phi_vec_reserve(&s->fold_map, len + 1, sizeof(uint32_t)) != PHI_OK)
            return PHI_ENOMEM;
        phi_fold_append(s, text, len, &t, &tl, &map_off);
    }
    int rc = phi_detect_run(d, s, t, tl);
    if (rc) return rc;
    if (folded) phi_fold_remap(s, map_off, tl, s->ents.p, s->ents.n);
    *ents = s->ents.p;
    *n = s->ents.n;
    return PHI_OK;
}

int phi_scan_batch(const phi_detector *d, phi_scratch *s, phi_batch_doc *docs, size_t n)
{
    if (!d || !s || (!docs && n) || s->d != d) return PHI_EINVAL;
    /* Documents with characters to fold are scanned as folded copies (phi_fold.c): room
     * for all of them first, so that no copy moves while the others are made. */
    size_t need = 0, nf = 0;
    for (size_t i = 0; i < n; i++)
        if (docs[i].text && docs[i].len <= PHI_MAX_INPUT &&
            phi_fold_needed(docs[i].text, docs[i].len))
            need += docs[i].len + 1, nf++;
    if (!nf) return phi_detect_batch(d, s, docs, n);
    s->fold.n = s->fold_map.n = 0;
    size_t *offs = malloc(sizeof(size_t) * 3 * n);
    if (!offs || phi_vec_reserve(&s->fold, need, 1) != PHI_OK ||
        phi_vec_reserve(&s->fold_map, need, sizeof(uint32_t)) != PHI_OK) {
        free(offs);
        return PHI_ENOMEM;
    }
    const uint8_t **texts = (const uint8_t **)(offs + 2 * n); /* the callers' texts */
    for (size_t i = 0; i < n; i++) {
        texts[i] = docs[i].text;
        offs[2 * i] = offs[2 * i + 1] = SIZE_MAX;
        if (!docs[i].text || docs[i].len > PHI_MAX_INPUT ||
            !phi_fold_needed(docs[i].text, docs[i].len))
            continue;
        size_t fl;
        phi_fold_append(s, texts[i], docs[i].len, &docs[i].text, &fl, &offs[2 * i]);
        offs[2 * i + 1] = docs[i].len; /* the caller's length */
        docs[i].len = fl;
    }
    int rc = phi_detect_batch(d, s, docs, n);
    for (size_t i = 0; i < n; i++) {
        if (offs[2 * i] == SIZE_MAX) continue;
        size_t fl = docs[i].len;
        docs[i].text = texts[i];
        docs[i].len = offs[2 * i + 1];
        if (rc == PHI_OK && docs[i].status == PHI_OK && docs[i].n)
            phi_fold_remap(s, offs[2 * i], fl, (phi_entity *)docs[i].ents, docs[i].n);
    }
    free(offs);
    return rc;
}

int phi_contains(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                 float threshold, uint32_t types, int *found)
{
    const phi_entity *e;
    size_t n;
    if (!found) return PHI_EINVAL;
    *found = 0;
    int rc = phi_scan_view(d, s, text, len, &e, &n);
    if (rc) return rc;
    if (!types) types = PHI_TYPES_ALL;
    for (size_t i = 0; i < n; i++)
        if (e[i].score >= threshold && (types & PHI_TYPE_BIT(e[i].type))) {
            *found = 1;
            break;
        }
    return PHI_OK;
}
