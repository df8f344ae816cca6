/*
 * phi_walk: one walk over the words of a text for the C matchers and the name
 * pass. The matchers (context labels, "in X" places, the shapes, id tokens, "on the
 * 3rd" and URLs) look at the runs Hyperscan's \b delimits ([A-Za-z0-9_]); the name
 * pass at its own words (letters and bytes >= 0x80, with inner apostrophes and
 * hyphens). The walk reads each byte once and builds both: the letters that open a
 * run are the name word's bytes too, hashed once for the word's token and for the
 * label lookup. phi_names_run scores the tokens later.
 *
 * phi_names_tokenize is the name pass's word loop on its own; test_phi_cscan
 * checks that the walk makes the same tokens.
 */
#include "phi_internal.h"

/* Is the UTF-8 sequence at p (n bytes left) an upper-case letter? Covers
 * Latin-1, Latin Extended-A (approximately), Greek and Cyrillic. */
static int utf8_upper(const uint8_t *p, size_t n)
{
    if (n < 2) return 0;
    uint8_t a = p[0], b = p[1];
    if (a == 0xC3) return b >= 0x80 && b <= 0x9E && b != 0x97;
    if (a == 0xC4 || a == 0xC5) return (b & 1) == 0;
    if (a == 0xCE) return b >= 0x91 && b <= 0xA9;
    if (a == 0xD0) return b >= 0x80 && b <= 0xAF;
    return 0;
}

/* Word byte of the name pass: letters, and every byte >= 0x80 (UTF-8 letters,
 * stray bytes). */
static inline int wordc(uint8_t c)
{
    return (phi_ctype[c] & (PHI_CT_ALPHA | PHI_CT_HIGH)) != 0;
}

/* May the apostrophe or hyphen c at i join the word before it to the next one?
 * (a word byte follows, and it is not the "'s" of a possessive) */
static inline bool joins(const uint8_t *t, size_t len, size_t i, uint8_t c)
{
    return (c == '\'' || c == '-') && i + 1 < len && wordc(t[i + 1]) &&
           !(c == '\'' && (t[i + 1] == 's' || t[i + 1] == 'S') &&
             (i + 2 >= len || !wordc(t[i + 2])));
}

/* A word of the name pass while it is read. */
typedef struct nword {
    size_t a;    /* first byte */
    size_t e;    /* one past the last byte read; NONE: no word open */
    size_t apos; /* one past its last apostrophe (0: none) */
    uint64_t h;  /* hash steps so far */
    uint8_t any; /* byte classes of its word bytes after the first */
    /* The letters that open the last \w run: their hash steps, hash and context-word
     * flags (the walk looked them up); a word with the same steps (nearly always those
     * letters) reuses them. */
    uint64_t rs; /* hash steps */
    uint64_t rh; /* phi_hash_finish(rs) */
    uint16_t rf; /* context-word flags of rh */
} nword;

/* No word open; the reused hash that of the empty word (consistent, like every later one). */
static nword nword_none(const phi_detector *d)
{
    uint64_t h = phi_hash_finish(PHI_HASH_SEED);
    return (nword){.e = SIZE_MAX, .rs = PHI_HASH_SEED, .rh = h, .rf = phi_dict_get(&d->ctx, h)};
}

/* The gap kind of one byte between two tokens, by the byte, XOR PHI_G_OTHER (what
 * phi_names_gap says; 0, the default, is PHI_G_OTHER). */
static const uint8_t gap1[256] = {
    [' '] = PHI_G_SPACE ^ PHI_G_OTHER,    ['\t'] = PHI_G_SPACE ^ PHI_G_OTHER,
    ['\r'] = PHI_G_SPACE ^ PHI_G_OTHER,   ['.'] = PHI_G_DOTSPACE ^ PHI_G_OTHER,
    [','] = PHI_G_COMMA ^ PHI_G_OTHER,    [':'] = PHI_G_COLON ^ PHI_G_OTHER,
    ['\n'] = PHI_G_NEWLINE ^ PHI_G_OTHER,
};

/* The token of the name pass's word t[a, b) (b - a <= 0xFFFF; c0 = t[a]): up0, its
 * first letter is a capital; lower, a lower-case letter follows; apos, one past its
 * last apostrophe (0: none); foreign, it holds a non-ASCII letter; h, the hash steps
 * over its bytes. The context-word flags come from w when the walk looked the same
 * hash up. Appends the token to s->toks. */
static inline __attribute__((always_inline)) int token_put(const phi_detector *d, phi_scratch *s,
                                                           const nword *w, size_t a, size_t b,
                                                           int up0, int lower, size_t apos,
                                                           uint8_t foreign, uint64_t h)
{
    const uint8_t *t = s->text;
    uint8_t c0 = t[a], shape;
    size_t wl = b - a;
    if (wl == 1 && c0 >= 'A' && c0 <= 'Z')
        /* a letter glued to digits ("M3535549", "4B") is part of a code, not an initial */
        shape = (b < s->len && phi_is_digit(t[b])) || (a > 0 && phi_is_digit(t[a - 1]))
                    ? PHI_SH_OTHER
                    : PHI_SH_INITIAL;
    else if (up0 && lower)
        shape = PHI_SH_CAP;
    else if (up0 && !lower)
        shape = PHI_SH_UPPER;
    else if (c0 >= 'a' && c0 <= 'z')
        shape = PHI_SH_LOWER;
    else
        shape = PHI_SH_OTHER;
    /* Contractions (I've, I'm, don't) are never names. */
    if (apos != 0 && b - apos - 1 <= 1 && wl >= 3) shape = PHI_SH_OTHER; /* b - apos: 1 or 2 */
    phi_tok *k = phi_vec_push(&s->toks, sizeof *k);
    if (!k) return PHI_ENOMEM;
    uint8_t gap = PHI_G_OTHER; /* of the bytes since the token before */
    if (k != s->toks.p) {
        size_t pe = k[-1].end;
        if (a == pe + 1)
            gap = gap1[t[pe]] ^ PHI_G_OTHER;
        else if (a == pe + 2) /* ". ", ", ", ": " */
            gap = phi_gap_of_count((phi_gap_count[t[pe]] ^ PHI_GC_OTHER) +
                                   (phi_gap_count[t[pe + 1]] ^ PHI_GC_OTHER));
        else
            gap = phi_names_gap(t, pe, a);
    }
    if (shape == PHI_SH_LOWER && wl > 16) { /* kept without hash or flags */
        *k = (phi_tok){.start = (uint32_t)a,
                       .end = (uint32_t)b,
                       .shape = shape,
                       .foreign = foreign,
                       .gap = gap};
        return PHI_OK;
    }
    uint64_t hf;
    uint16_t wf;
    if (h == w->rs)
        hf = w->rh, wf = w->rf;
    else
        hf = phi_hash_finish(h), wf = phi_dict_get(&d->ctx, hf);
    *k = (phi_tok){.start = (uint32_t)a,
                   .end = (uint32_t)b,
                   .hash = hf,
                   .wflags = wf,
                   .shape = shape,
                   .foreign = foreign,
                   .gap = gap};
    if (shape == PHI_SH_CAP || shape == PHI_SH_UPPER) {
        phi_dict_prefetch(&d->words, hf); /* looked up later (phi_names_run), after more words */
        uint32_t *x = phi_vec_push(&s->caps, sizeof *x);
        if (!x) return PHI_ENOMEM;
        *x = (uint32_t)(s->toks.n - 1);
    }
    return PHI_OK;
}

/* name_token for a word with bytes >= 0x80: read again, for UTF-8 capitals (which
 * need the word's end) and without the bytes a curly apostrophe cuts off. */
static __attribute__((noinline)) int name_token_high(const phi_detector *d, phi_scratch *s,
                                                     const nword *w)
{
    const uint8_t *t = s->text;
    size_t a = w->a, b = w->e, apos = 0;
    uint8_t c0 = t[a];
    /* A curly apostrophe + s (E2 80 99 73) ends the word too. */
    if (b - a > 4 && t[b - 1] == 's' && t[b - 2] == 0x99 && t[b - 3] == 0x80 && t[b - 4] == 0xE2)
        b -= 4;
    if (b - a > 0xFFFF) return PHI_OK; /* absurd "words" (binary junk) are ignored */
    int up0 = (c0 >= 'A' && c0 <= 'Z') || utf8_upper(t + a, b - a), lower = 0;
    uint8_t foreign = c0 >= 0x80;
    uint64_t h = phi_hash_step(PHI_HASH_SEED, c0);
    for (size_t q = a + 1; q < b; q++) {
        uint8_t c = t[q];
        h = phi_hash_step(h, c);
        if (c >= 'a' && c <= 'z')
            lower = 1;
        else if (c >= 0x80) {
            foreign = 1;
            if (c >= 0xC0 && !utf8_upper(t + q, b - q)) lower = 1;
        } else if (c == '\'')
            apos = q + 1;
    }
    return token_put(d, s, w, a, b, up0, lower, apos, foreign, h);
}

/* The name pass's word w as read, t[w->a, w->e) (its first byte a word byte, then
 * word bytes and joining apostrophes and hyphens; h the hash steps over its bytes,
 * any the byte classes of its word bytes after the first): appends its token (span,
 * shape, hash, context flags) to s->toks. A word with bytes >= 0x80 is read again. */
static int name_token(const phi_detector *d, phi_scratch *s, const nword *w)
{
    size_t a = w->a, b = w->e;
    uint8_t c0 = s->text[a];
    if ((phi_ctype[c0] | w->any) & PHI_CT_HIGH) return name_token_high(d, s, w);
    if (b - a > 0xFFFF) return PHI_OK; /* absurd "words" (binary junk) are ignored */
    return token_put(d, s, w, a, b, c0 >= 'A' && c0 <= 'Z', (w->any & PHI_CT_LOWER) != 0, w->apos,
                     0, w->h);
}

int phi_names_tokenize(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len, i = 0;
    nword w = nword_none(d); /* each word's token reads only its own fields */
    while (i < len) {
        if (!wordc(t[i])) {
            i++;
            continue;
        }
        size_t a = i;
        /* Find the word's end and, for an ASCII word (nearly all), its hash, case and
         * last apostrophe on the way; a word with a byte >= 0x80 is read again. */
        uint64_t h = phi_hash_step(PHI_HASH_SEED, t[a]);
        uint8_t any = 0; /* byte classes (phi_ctype) of the word bytes after the first */
        size_t apos = 0; /* one past the last apostrophe (0: none) */
        for (i = a + 1; i < len; i++) {
            uint8_t c = t[i], ct = phi_ctype[c];
            if (ct & (PHI_CT_ALPHA | PHI_CT_HIGH))
                any |= ct;
            else if (joins(t, len, i, c))
                apos = c == '\'' ? i + 1 : apos;
            else
                break;
            h = phi_hash_step(h, c);
        }
        w.a = a, w.e = i, w.apos = apos, w.h = h, w.any = any;
        int rc = name_token(d, s, &w);
        if (rc) return rc;
    }
    return PHI_OK;
}

#define NONE SIZE_MAX

/* The word ends: its token. */
static inline int nword_close(const phi_detector *d, phi_scratch *s, nword *w)
{
    if (w->e == NONE) return PHI_OK;
    int rc = name_token(d, s, w);
    w->e = NONE;
    return rc;
}

/* A word byte c at i: the open word goes on, or the word before ends and one begins. */
static inline int nword_byte(const phi_detector *d, phi_scratch *s, nword *w, size_t i, uint8_t c)
{
    if (w->e == i) {
        w->any |= phi_ctype[c], w->h = phi_hash_step(w->h, c), w->e = i + 1;
        return PHI_OK;
    }
    int rc = nword_close(d, s, w);
    w->a = i, w->e = i + 1, w->apos = 0, w->h = phi_hash_step(PHI_HASH_SEED, c), w->any = 0;
    return rc;
}

int phi_walk_run(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len, i = 0;
    nword w = nword_none(d);
    int rc;
    s->prep.n = 0, s->caps.n = 0, s->url_end = 0;
    phi_ids_reset(s);
    while (i < len) {
        uint8_t c = t[i], ct = phi_ctype[c];
        if (!(ct & PHI_CT_WORD)) {
            if (ct & PHI_CT_HIGH) {
                rc = nword_byte(d, s, &w, i, c);
            } else if (w.e == i && joins(t, len, i, c)) {
                w.h = phi_hash_step(w.h, c), w.e = i + 1;
                if (c == '\'') w.apos = i + 1;
                rc = PHI_OK;
            } else {
                rc = nword_close(d, s, &w);
                if (!rc && c != ' ') { /* nothing starts at a space, the most frequent byte */
                    if (c == '#')
                        rc = phi_labels_hash(s, i);
                    else if (c == ',' || c == '@')
                        rc = phi_shapes_punct(d, s, i);
                }
            }
            if (rc) return rc;
            i++;
            continue;
        }
        /* A run [i, e) of \w bytes; ae: the end of the letters that open it. */
        size_t e = i + 1, ae = i;
        uint8_t any = ct, rest = 0; /* classes of the run's bytes, of those after ae */
        if (ct & PHI_CT_ALPHA) {
            uint64_t h = phi_hash_step(PHI_HASH_SEED, c); /* of the letters [i, e) */
            uint8_t lany = 0;                             /* their classes after the first */
            while (e < len && (phi_ctype[t[e]] & PHI_CT_ALPHA)) {
                lany |= phi_ctype[t[e]];
                h = phi_hash_step(h, t[e++]);
            }
            ae = e, any |= lany;
            if (w.e == i) { /* the word goes on after an apostrophe, hyphen or byte >= 0x80 */
                w.any |= ct | lany;
                for (size_t q = i; q < ae; q++)
                    w.h = phi_hash_step(w.h, t[q]);
                w.e = ae;
            } else {
                rc = nword_close(d, s, &w);
                if (rc) return rc;
                w.a = i, w.e = ae, w.apos = 0, w.h = h, w.any = lany;
            }
            /* One context-word lookup for the letters: the labels are matched only
             * after a first word of a phrase or a weak cue, and the name word's token
             * (nearly always these letters) takes the flags from here. */
            uint64_t hr = phi_hash_finish(h);
            uint16_t fr = phi_dict_get(&d->ctx, hr);
            w.rs = h, w.rh = hr, w.rf = fr;
            rc = PHI_OK;
            if ((fr & PHI_W_LABELS) && phi_labels_maybe(&d->labels, t + i, ae - i))
                rc = phi_labels_word_hash(d, s, i, ae, hr);
            /* "in", "at", "to", "from" (the letters alone: a space must follow) */
            if (!rc && (ae - i == 2 ? c == 'i' || c == 'a' || c == 't' : ae - i == 4 && c == 'f'))
                rc = phi_city_prep_at(s, i);
            /* "http:", "https:", "ftp:", "www." (any case) */
            if (!rc && ae < len && (t[ae] == ':' || t[ae] == '.') && ae - i - 3 <= 2 &&
                ((c | 0x20) == 'h' || (c | 0x20) == 'f' || (c | 0x20) == 'w'))
                rc = phi_shapes_url_at(d, s, i);
            if (rc) return rc;
        }
        while (e < len && (phi_ctype[t[e]] & PHI_CT_WORD))
            rest |= phi_ctype[t[e++]];
        if (ae < e) {
            /* digits and '_' end a name word; letters after them begin one */
            any |= rest;
            rc = nword_close(d, s, &w);
            for (size_t q = ae; !rc && (rest & PHI_CT_ALPHA) && q < e; q++)
                rc = phi_is_alpha(t[q]) ? nword_byte(d, s, &w, q, t[q]) : nword_close(d, s, &w);
            if (rc) return rc;
        }
        rc = PHI_OK;
        if (phi_shapes_maybe(t, len, i, e)) rc = phi_shapes_word(d, s, i, e);
        if (!rc && (any & PHI_CT_DIGIT)) {
            rc = phi_ids_word(d, s, i, e);
            if (!rc && e - i - 3 <= 1 && (phi_ctype[t[e - 1]] & PHI_CT_ALPHA))
                rc = phi_shapes_ordinal(d, s, i, e); /* "3rd", "21st" */
        }
        if (rc) return rc;
        i = e;
    }
    rc = nword_close(d, s, &w);
    if (rc) return rc;
    return phi_city_prep_finish(s, d->prep_pat);
}
