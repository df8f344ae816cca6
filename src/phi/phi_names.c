/*
 * phi_names: the name pass. Person names have no shape a regex can check, so
 * they are found from words and their neighbours:
 *
 *   1. Words: ASCII letters, any byte >= 0x80 so UTF-8 letters and even
 *      invalid bytes stay inside words, inner ' and - (the walk, phi_walk.c,
 *      makes their tokens). Each word gets a shape (Capitalized, UPPER,
 *      initial, lower) and, when it could matter, its flags from the
 *      name/common-word table and the context table.
 *   2. Own evidence per word: a capitalized first or last name that is not a
 *      common word scores high; a name that is also a word ("Hope", "Bill",
 *      "Will") scores low and needs support; a word right after a title
 *      ("Dr."), a relation ("wife", "daughter"), a label ("Name:",
 *      "Attending:"), an introduction ("named", "my name is") or before a
 *      credential (", MD") scores high whatever the dictionaries say.
 *   3. Runs of adjacent capitalized words share the best evidence of the run
 *      ("Hope Kowalski", "John A. Smith"), unless an eponym cue follows
 *      ("Foley catheter", "Parkinson's disease") or an organization word.
 *   4. A word accepted on its own evidence is a name wherever else it occurs
 *      in the same document (capitalized).
 */
#include <string.h>

#include "phi_internal.h"

enum {
    G_SPACE = PHI_G_SPACE,
    G_DOTSPACE = PHI_G_DOTSPACE,
    G_COMMA = PHI_G_COMMA,
    G_COLON = PHI_G_COLON,
    G_NEWLINE = PHI_G_NEWLINE,
    G_OTHER = PHI_G_OTHER,
    G_NONE /* no token */
};

/* The bytes of a gap counted in five 4-bit fields (dots, commas, colons, line breaks,
 * other bytes; spaces, tabs and CRs count nowhere), XOR one "other": the default 0
 * counts an other byte. The gaps counted hold at most 6 bytes: no field overflows. */
const uint32_t phi_gap_count[256] = {
    [' '] = PHI_GC_OTHER,
    ['\t'] = PHI_GC_OTHER,
    ['\r'] = PHI_GC_OTHER,
    ['.'] = PHI_GC_DOT ^ PHI_GC_OTHER,
    [','] = PHI_GC_COMMA ^ PHI_GC_OTHER,
    [':'] = PHI_GC_COLON ^ PHI_GC_OTHER,
    ['\n'] = PHI_GC_NL ^ PHI_GC_OTHER,
};

uint8_t phi_names_gap(const uint8_t *t, size_t a, size_t b)
{
    if (b <= a) return G_OTHER;
    if (b - a > 6) return memchr(t + a, '\n', b - a) ? G_NEWLINE : G_OTHER;
    uint32_t n = 0;
    for (size_t i = a; i < b; i++)
        n += phi_gap_count[t[i]] ^ PHI_GC_OTHER;
    return phi_gap_of_count(n);
}

/* Does the word at tok equal lit (lower-case)? Always inlined: lit is a
 * literal, so its length is a constant and most calls end at the length test. */
static inline __attribute__((always_inline)) bool tok_is(const uint8_t *t, const phi_tok *k,
                                                         const char *lit)
{
    size_t n = strlen(lit);
    if (k->end - k->start != n) return false;
    for (size_t i = 0; i < n; i++)
        if (phi_lower(t[k->start + i]) != (uint8_t)lit[i]) return false;
    return true;
}

/* The capitalized tokens of s->toks (made by the walk, phi_walk.c) get their flags
 * from the big word table. */
static int tokens_finish(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    /* The big word table for capitalized words. Their slots were prefetched
     * when the walk made their tokens; PREFETCH_AHEAD more are requested here so
     * that the cache misses of a long document overlap. */
    phi_tok *toks = s->toks.p;
    const uint32_t *caps = s->caps.p; /* the walk's list of them */
    size_t nc = s->caps.n;
    enum { PREFETCH_AHEAD = 16 };
    for (size_t x = 0; x < nc; x++) {
        if (x + PREFETCH_AHEAD < nc)
            phi_dict_prefetch(&d->words, toks[caps[x + PREFETCH_AHEAD]].hash);
        phi_tok *k = &toks[caps[x]];
        size_t a = k->start, b = k->end;
        k->dflags = (uint8_t)phi_dict_get(&d->words, k->hash);
        if (!(k->dflags & (PHI_D_FIRST | PHI_D_LAST | PHI_D_COMMON))) {
            /* Hyphenated or apostrophe names: judge by their parts. */
            size_t q = a;
            while (q < b && t[q] != '-' && t[q] != '\'')
                q++;
            if (q < b && q - a >= 2 && b - q - 1 >= 2) {
                uint8_t f1 = (uint8_t)phi_dict_get(&d->words, phi_hash_word(t + a, q - a));
                uint8_t f2 = (uint8_t)phi_dict_get(&d->words, phi_hash_word(t + q + 1, b - q - 1));
                if ((f1 | f2) & (PHI_D_FIRST | PHI_D_LAST))
                    k->dflags = (uint8_t)(((f1 | f2) & (PHI_D_FIRST | PHI_D_LAST)));
                else if ((f1 & PHI_D_COMMON) && (f2 & PHI_D_COMMON))
                    k->dflags = PHI_D_COMMON;
            }
        }
    }
    return PHI_OK;
}

#define NOT_A_NAME                                                                                 \
    (PHI_W_NOTNAME | PHI_W_MONTH | PHI_W_STATE | PHI_W_TITLE | PHI_W_CRED | PHI_W_ORG |            \
     PHI_W_EPONYM | PHI_W_BY)

/* Can this token be part of a name at all? */
static bool nameable(const phi_tok *k)
{
    if (k->shape == PHI_SH_INITIAL) return true;
    if (k->shape != PHI_SH_CAP && k->shape != PHI_SH_UPPER) return false;
    if (k->wflags & NOT_A_NAME) return false;
    if (k->wflags & (PHI_W_LABEL | PHI_W_RELATION) && !(k->dflags & (PHI_D_FIRST | PHI_D_LAST)))
        return false;
    return true;
}

/* Evidence a token carries by itself (dictionaries and shape). */
static float own_score(const phi_tok *k, bool sent_start)
{
    if (!nameable(k) || k->shape == PHI_SH_INITIAL) return 0;
    bool named = k->dflags & (PHI_D_FIRST | PHI_D_LAST);
    bool common = k->dflags & PHI_D_COMMON;
    bool ambig = k->dflags & PHI_D_AMBIG;
    if (k->end - k->start < 2) return 0;
    if (named && !common && !ambig) {
        if (k->shape == PHI_SH_UPPER) return 0.5f;
        return sent_start ? 0.6f : 0.75f;
    }
    if (named) return 0.3f;
    if (common) return 0;
    if (k->shape == PHI_SH_UPPER) return 0;           /* acronyms */
    if (k->foreign) return sent_start ? 0.5f : 0.55f; /* "Szöllösy": not an English word */
    return sent_start ? 0.2f : 0.35f;                 /* unknown capitalized word */
}

/* Score from the words before token i (titles, relations, labels, intros). */
static float context_score(const uint8_t *t, const phi_tok *k, size_t i)
{
    if (i == 0) return 0;
    const phi_tok *p1 = &k[i - 1];
    int g1 = k[i].gap;
    /* "Dr. Smith", "Mrs Jones" (the title itself capitalized). */
    if ((p1->wflags & PHI_W_TITLE) && (p1->shape == PHI_SH_CAP || p1->shape == PHI_SH_UPPER) &&
        (g1 == G_SPACE || g1 == G_DOTSPACE))
        return 0.95f;
    /* "wife Mary", "daughter, Hope", "son: Tom" */
    if ((p1->wflags & PHI_W_RELATION) && (g1 == G_SPACE || g1 == G_COMMA || g1 == G_COLON))
        return 0.85f;
    /* "Name: X", "Attending physician: X", "Emergency contact: X" */
    if (g1 == G_COLON) {
        for (size_t j = i; j > 0 && i - j < 3; j--) {
            if (k[j - 1].wflags & (PHI_W_LABEL | PHI_W_RELATION)) return 0.9f;
            if (j - 1 > 0 && k[j - 1].gap != G_SPACE) break;
        }
    }
    if (i >= 2) {
        const phi_tok *p2 = &k[i - 2];
        int g2 = k[i - 1].gap;
        bool sp = g1 == G_SPACE && (g2 == G_SPACE || g2 == G_COMMA);
        /* "my name is X", "wife is X", "son named X", "called X" */
        if (sp && tok_is(t, p1, "is") && (tok_is(t, p2, "name") || (p2->wflags & PHI_W_RELATION)))
            return 0.9f;
        if (sp && (tok_is(t, p1, "named") || tok_is(t, p1, "called"))) return 0.85f;
        /* "named him Frank", "call me Ishmael" */
        if (sp && (tok_is(t, p2, "named") || tok_is(t, p2, "called") || tok_is(t, p2, "call")) &&
            (tok_is(t, p1, "him") || tok_is(t, p1, "her") || tok_is(t, p1, "me") ||
             tok_is(t, p1, "them") || tok_is(t, p1, "it")))
            return 0.85f;
        if (g1 == G_SPACE && tok_is(t, p1, "am") && tok_is(t, p2, "i")) return 0.8f;
        /* "signed by X", "seen by X", "dictated by X" */
        if (g1 == G_SPACE && tok_is(t, p1, "by") && p2->shape == PHI_SH_LOWER) return 0.6f;
        /* "Dr. and Mrs. X" is rare; "Dr Jane Smith": handled by runs. */
    }
    if (g1 == G_SPACE && (tok_is(t, p1, "named") || tok_is(t, p1, "im"))) return 0.85f;
    /* "Dear Quennell," (letters; "Dear Mr. X" goes through the title) */
    if (g1 == G_SPACE && tok_is(t, p1, "dear")) return 0.85f;
    /* "call Prosper", "paged Imhoff", "spoke with Mordecai Oyelaran", "ask for Pearl" */
    if (g1 == G_SPACE && (p1->wflags & PHI_W_CONTACT)) return 0.75f;
    if (g1 == G_SPACE && i >= 2 && k[i - 1].gap == G_SPACE) {
        const phi_tok *p2 = &k[i - 2];
        if ((tok_is(t, p1, "to") || tok_is(t, p1, "with")) &&
            (tok_is(t, p2, "spoke") || tok_is(t, p2, "speak") || tok_is(t, p2, "spoken") ||
             tok_is(t, p2, "talked") || tok_is(t, p2, "talk") || tok_is(t, p2, "met")))
            return 0.75f;
        if (tok_is(t, p1, "for") && (tok_is(t, p2, "ask") || tok_is(t, p2, "asked"))) return 0.75f;
    }
    /* "bed 12 Osterhaut", "rm 4 Penrose": a room number, then the patient */
    if ((p1->wflags & PHI_W_PLACE) && k[i].start - p1->end <= 8) {
        size_t q = p1->end, nd = 0;
        while (q < k[i].start && t[q] == ' ')
            q++;
        while (q < k[i].start && phi_is_digit(t[q]))
            q++, nd++;
        while (q < k[i].start && t[q] == ' ')
            q++;
        if (q == k[i].start && nd >= 1 && nd <= 4 && t[k[i].start - 1] == ' ') return 0.75f;
    }
    /* "Pt Trelawney", "Patient Okafor": the patient word right before a capitalized word */
    if (g1 == G_SPACE && (tok_is(t, p1, "pt") || tok_is(t, p1, "patient") ||
                          tok_is(t, p1, "resident") || tok_is(t, p1, "client")))
        return (p1->shape == PHI_SH_CAP || p1->shape == PHI_SH_UPPER) ? 0.75f : 0.7f;
    if (g1 == G_OTHER && p1->end + 3 >= k[i].start && tok_is(t, p1, "i") && t[p1->end] == '\'' &&
        t[p1->end + 1] == 'm')
        return 0.85f;
    return 0;
}

/* Why a lower-case word may be a name (CUE_NONE: it may not). After the strongest
 * (title, label, the word after a first name) even a word in no list is a name. */
enum { CUE_NONE = 0, CUE_TITLE, CUE_LABEL, CUE_NEXT, CUE_BY, CUE_PT, CUE_SIGN };

/* Lower-case credentials that are also words or abbreviations of other things. */
static bool weak_cred(const uint8_t *t, const phi_tok *k)
{
    return tok_is(t, k, "do") || tok_is(t, k, "pa") || tok_is(t, k, "pt") || tok_is(t, k, "ot") ||
           tok_is(t, k, "rd");
}

/* The context of lower-case token i (i > 0): by the gap before it, as most words
 * have a plain space there and most of those no cue. */
static int lower_cue(const uint8_t *t, const phi_tok *k, size_t i)
{
    const phi_tok *p1 = &k[i - 1];
    uint16_t pw = p1->wflags;
#define after_name (p1->score >= 0.7f && k[i].start - p1->end <= 2)
    switch (k[i].gap) {
    case G_SPACE:
        /* "wife mary", "dr smith" */
        if (pw & (PHI_W_TITLE | PHI_W_RELATION)) return CUE_TITLE;
        /* "mary jones": the word after a lower-case name found so; "kwame n smith" */
        if (after_name && (p1->shape == PHI_SH_LOWER || p1->shape == PHI_SH_INITIAL))
            return CUE_NEXT;
        switch (t[p1->start] | 0x20) {
        case 'p': /* "pt brightwater", "per dawn" */
            if (tok_is(t, p1, "pt") || tok_is(t, p1, "patient")) return CUE_PT;
            if (tok_is(t, p1, "per")) return CUE_BY;
            break;
        case 'd': /* "dear jane," */
            if (tok_is(t, p1, "dear")) return CUE_LABEL;
            break;
        case 'h': /* "hi sarah,", "hello tom" */
            if (tok_is(t, p1, "hi") || tok_is(t, p1, "hello")) return CUE_LABEL;
            break;
        case 'n': /* "pt named harold" */
            if (tok_is(t, p1, "named")) return CUE_LABEL;
            break;
        case 'i': /* "my name is john", "wife's name is mary" */
            if (i >= 2 && p1->gap == G_SPACE && tok_is(t, p1, "is") && tok_is(t, &k[i - 2], "name"))
                return CUE_LABEL;
            break;
        case 'b': /* "seen by mary", "signed by karen" */
            if (i >= 2 && p1->gap == G_SPACE && tok_is(t, p1, "by")) {
                const phi_tok *p2 = &k[i - 2];
                if (tok_is(t, p2, "seen") || tok_is(t, p2, "signed") ||
                    tok_is(t, p2, "cosigned") || tok_is(t, p2, "dictated") ||
                    tok_is(t, p2, "transcribed") || tok_is(t, p2, "examined") ||
                    tok_is(t, p2, "evaluated") || tok_is(t, p2, "reviewed") ||
                    tok_is(t, p2, "verified") || tok_is(t, p2, "attested") ||
                    tok_is(t, p2, "referred") || tok_is(t, p2, "authored"))
                    return CUE_BY;
            }
            break;
        case 'w': /* "spoke with mary", "talked to john", "ask for ana" */
        case 't':
        case 'f':
            if (i >= 2 && p1->gap == G_SPACE &&
                (tok_is(t, p1, "with") || tok_is(t, p1, "to") || tok_is(t, p1, "for"))) {
                const phi_tok *p2 = &k[i - 2];
                if (tok_is(t, p1, "for") ? tok_is(t, p2, "ask") || tok_is(t, p2, "asked")
                                         : tok_is(t, p2, "spoke") || tok_is(t, p2, "speak") ||
                                               tok_is(t, p2, "spoken") ||
                                               tok_is(t, p2, "talked") || tok_is(t, p2, "talk") ||
                                               tok_is(t, p2, "met"))
                    return CUE_BY;
            }
            break;
        }
        /* "call mary", "paged john" */
        if (pw & PHI_W_CONTACT) return CUE_BY;
        return CUE_NONE;
    case G_DOTSPACE:
        /* "dr. smith", "kwame n. smith" */
        if (pw & (PHI_W_TITLE | PHI_W_RELATION)) return CUE_TITLE;
        if (after_name && p1->shape == PHI_SH_INITIAL) return CUE_NEXT;
        return CUE_NONE;
    case G_COMMA:
        /* "son, robert" */
        if (pw & (PHI_W_TITLE | PHI_W_RELATION)) return CUE_TITLE;
        /* "patient: collins, michelle" */
        if (after_name && p1->shape == PHI_SH_LOWER && i >= 2 && p1->gap == G_COLON &&
            (k[i - 2].wflags & PHI_W_LABEL))
            return CUE_LABEL;
        /* "the patient, ottoline" */
        if (tok_is(t, p1, "patient") || tok_is(t, p1, "pt")) return CUE_PT;
        break; /* "thanks, robert" */
    case G_COLON:
        /* "name: alice", "signed: john", "wife: mary", "read by: laura" */
        if ((pw & (PHI_W_LABEL | PHI_W_RELATION)) || tok_is(t, p1, "by")) return CUE_LABEL;
        return CUE_NONE;
    default: /* a line break or other bytes */
        /* "-- hope clark": a signature line */
        if (k[i].start >= 3 && t[k[i].start - 1] == ' ' && t[k[i].start - 2] == '-' &&
            t[k[i].start - 3] == '-')
            return CUE_SIGN;
        break; /* "thanks,\nrobert" */
    }
    if (t[p1->end] == ',' &&
        (tok_is(t, p1, "thanks") || tok_is(t, p1, "regards") || tok_is(t, p1, "sincerely")))
        return CUE_SIGN;
    return CUE_NONE;
#undef after_name
}

/* After "pt" or "the patient," (cue CUE_PT) a word is a name only where a name ends
 * there (a comma, a line or sentence end) or goes on with another name word: "pt john
 * smith", "the patient, ottoline" (then even a word in no list), not "pt ted hose". ok:
 * what the lists say of word i (flags f). */
static bool pt_name(const phi_detector *d, const phi_tok *k, size_t i, size_t n, uint8_t f, bool ok)
{
    int gn = i + 1 < n ? k[i + 1].gap : G_NEWLINE;
    bool ends = gn == G_COMMA || gn == G_NEWLINE || gn == G_DOTSPACE;
    if (!ok && ends && k[i].gap == G_COMMA && f == 0 && k[i].wflags == 0 &&
        k[i].end - k[i].start >= 4)
        return true;
    if (!ok || ends) return ok;
    if (gn != G_SPACE || k[i + 1].shape != PHI_SH_LOWER || k[i + 1].start - k[i].end > 2)
        return false;
    uint8_t f2 = (uint8_t)phi_dict_get(&d->words, k[i + 1].hash);
    return (f2 & (PHI_D_FIRST | PHI_D_LAST)) && !(f2 & (PHI_D_COMMON | PHI_D_AMBIG));
}

/* "oluwaseun campbell rn", "joe quillfeather, md": two lower-case words before the
 * credential k[c] (c >= 2), the first a first name, the second a surname or a word in
 * no list, are a name. Scores them and adds them to ix (sorted; *nn entries); says
 * whether it did. */
static bool lower_before_cred(const phi_detector *d, const uint8_t *t, phi_tok *k, size_t c,
                              uint32_t *ix, size_t *nn)
{
    phi_tok *a = &k[c - 2], *b = &k[c - 1];
    if (a->shape != PHI_SH_LOWER || b->shape != PHI_SH_LOWER || b->gap != G_SPACE ||
        !(k[c].gap == G_SPACE || k[c].gap == G_COMMA) || weak_cred(t, &k[c]) ||
        b->start - a->end > 2)
        return false;
    if (a->score >= 0.45f && b->score >= 0.45f) return false; /* found already */
    if ((a->wflags | b->wflags) & (NOT_A_NAME | PHI_W_BY | PHI_W_INTRO | PHI_W_FILLER)) return false;
    uint8_t fa = (uint8_t)phi_dict_get(&d->words, a->hash);
    uint8_t fb = (uint8_t)phi_dict_get(&d->words, b->hash);
    if (!(fa & PHI_D_FIRST) || (fa & (PHI_D_COMMON | PHI_D_AMBIG))) return false;
    if (!((fb & PHI_D_LAST) || (fb == 0 && b->wflags == 0 && b->end - b->start >= 4))) return false;
    while (*nn && ix[*nn - 1] >= c - 2) /* either of them, scored before */
        (*nn)--;
    a->dflags = fa, b->dflags = fb;
    a->score = b->score = 0.7f;
    ix[(*nn)++] = (uint32_t)(c - 2);
    ix[(*nn)++] = (uint32_t)(c - 1);
    return true;
}

/* Sentence start: first token, or after . ! ? or a line break or a quote. */
static bool sentence_start(const uint8_t *t, const phi_tok *k, size_t i)
{
    if (i == 0) return true;
    /* The kind of the gap decides the frequent cases without reading it again: spaces
     * only, or with one comma, hold none of the bytes below; with one dot, that dot is
     * the nearest. */
    int g = k[i].gap;
    if (g == G_SPACE || g == G_COMMA) return false;
    if (g == G_DOTSPACE)
        return !(k[i - 1].shape == PHI_SH_INITIAL || (k[i - 1].wflags & PHI_W_TITLE));
    size_t j = k[i].start;
    while (j > k[i - 1].end) {
        uint8_t c = t[j - 1];
        if (c == '.' || c == '!' || c == '?' || c == '\n' || c == '"' || c == '*' || c == '-' ||
            c == '>' || c == '(' || c == '[')
            return !(c == '.' &&
                     (k[i - 1].shape == PHI_SH_INITIAL || (k[i - 1].wflags & PHI_W_TITLE)));
        j--;
    }
    return false;
}

/* Does token i open a line or follow a colon ("Patient: X", "\nX")? */
static bool line_start(const uint8_t *t, const phi_tok *k, size_t i)
{
    if (i == 0) return true;
    for (size_t j = k[i - 1].end; j < k[i].start; j++)
        if (t[j] == '\n' || t[j] == ':') return true;
    return false;
}

/* Is the token one of the possessives/articles before a relation word? */
static bool poss_word(const uint8_t *t, const phi_tok *k)
{
    return tok_is(t, k, "the") || tok_is(t, k, "his") || tok_is(t, k, "her") ||
           tok_is(t, k, "my") || tok_is(t, k, "our") || tok_is(t, k, "their");
}

/* ---- the document name set ---- */

static int set_reset(phi_scratch *s, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2)
        cap <<= 1;
    if (phi_vec_reserve(&s->nameset, cap, sizeof(uint64_t)) != PHI_OK) return PHI_ENOMEM;
    memset(s->nameset.p, 0, cap * sizeof(uint64_t));
    s->nameset.n = cap; /* n is the table size here */
    return PHI_OK;
}

static void set_add(phi_scratch *s, uint64_t h)
{
    uint64_t *tab = s->nameset.p;
    size_t mask = s->nameset.n - 1, i = (size_t)(h >> 7) & mask;
    while (tab[i] && tab[i] != h)
        i = (i + 1) & mask;
    tab[i] = h;
}

static bool set_has(const phi_scratch *s, uint64_t h)
{
    const uint64_t *tab = s->nameset.p;
    size_t mask = s->nameset.n - 1, i = (size_t)(h >> 7) & mask;
    while (tab[i]) {
        if (tab[i] == h) return true;
        i = (i + 1) & mask;
    }
    return false;
}

/* Are tokens a and b (a before b) adjacent inside one name? */
static bool joined(const uint8_t *t, const phi_tok *a, const phi_tok *b)
{
    int g = b->gap; /* b follows a */
    if (g == G_SPACE) return b->start - a->end <= 2;
    if (g == G_DOTSPACE) return a->shape == PHI_SH_INITIAL && b->start - a->end <= 2;
    return false;
}

int phi_names_run(const phi_detector *d, phi_scratch *s)
{
    int rc = tokens_finish(d, s);
    if (rc) return rc;
    const uint8_t *t = s->text;
    phi_tok *k = s->toks.p;
    size_t n = s->toks.n;
    float *evid = NULL; /* own evidence is kept in score; runs write to a second pass */
    (void)evid;
    size_t strong = 0;
    bool lower_named = false; /* a lower-case word scored as a name (by context) */
    bool lower_rec = false;   /* a lower-case recurrence of a name scored (step 4) */
    /* Only capitalized words, initials and the lower-case words scored below can ever
     * score (every rule below starts from one of them): the later loops walk this list
     * of their indices instead of every token. */
    if (phi_vec_reserve(&s->named, n ? n : 1, sizeof(uint32_t)) != PHI_OK) return PHI_ENOMEM;
    uint32_t *ix = s->named.p;
    size_t nn = 0;
    /* 1-2: own evidence and context. */
    for (size_t i = 0; i < n; i++) {
        if (k[i].shape == PHI_SH_LOWER || k[i].shape == PHI_SH_OTHER) {
            /* "wife mary jones", "dr. smith", "name: alice smith", "signed by karen white,
             * rn": lower-case names only after strong context. */
            if (k[i].wflags & (NOT_A_NAME | PHI_W_BY | PHI_W_INTRO | PHI_W_FILLER)) {
                if ((k[i].wflags & PHI_W_CRED) && i >= 2 &&
                    lower_before_cred(d, t, k, i, ix, &nn))
                    strong += 2, lower_named = true;
                continue;
            }
            if (k[i].shape == PHI_SH_LOWER && i > 0 &&
                ((k[i - 1].wflags & (PHI_W_TITLE | PHI_W_RELATION | PHI_W_LABEL | PHI_W_BY |
                                     PHI_W_CONTACT | PHI_W_INTRO)) ||
                 k[i].gap >= G_NEWLINE || (lower_named && k[i - 1].score >= 0.7f))) {
                int cue = lower_cue(t, k, i);
                uint8_t f = cue ? (uint8_t)phi_dict_get(&d->words, k[i].hash) : 0;
                bool ok = (f & (PHI_D_FIRST | PHI_D_LAST)) && !(f & (PHI_D_COMMON | PHI_D_AMBIG));
                /* a word in no list ("pt: ravensworth", "forrest quillfeather") */
                if (!ok && f == 0 && k[i].wflags == 0 && k[i].end - k[i].start >= 4 &&
                    (cue == CUE_TITLE || cue == CUE_LABEL ||
                     (cue == CUE_NEXT && (k[i - 1].dflags & PHI_D_FIRST))))
                    ok = true;
                if (cue == CUE_PT) /* "pt ted hose", "pt amber urine": not names */
                    ok = pt_name(d, k, i, n, f, ok);
                /* "dr jones", "dr brown", "mr white": after a title a surname, even one that
                 * is also a word (not "dr will see") */
                if (!ok && cue == CUE_TITLE && (k[i - 1].wflags & PHI_W_TITLE) &&
                    (f & PHI_D_LAST) && !tok_is(t, &k[i], "will"))
                    ok = true;
                /* After a first name: a surname that is also a word ("mary jones"), or
                 * a common word that is a surname where the name ends ("robert miller,",
                 * "karen white, rn", "john doe MD"), but not "mary will see". */
                if (!ok && cue == CUE_NEXT && (f & PHI_D_LAST) && (k[i - 1].dflags & PHI_D_FIRST)) {
                    int gn = i + 1 < n ? k[i + 1].gap : G_NEWLINE;
                    ok = !(f & PHI_D_COMMON) || gn == G_COMMA || gn == G_NEWLINE ||
                         gn == G_DOTSPACE ||
                         (gn == G_SPACE && (k[i + 1].wflags & PHI_W_CRED));
                }
                if (ok) {
                    k[i].dflags = f;
                    k[i].score = 0.7f;
                    strong++;
                    lower_named = true;
                    ix[nn++] = (uint32_t)i;
                } else if (cue == CUE_NEXT && k[i - 1].shape == PHI_SH_LOWER &&
                           k[i].end - k[i].start == 1 && k[i].end < s->len &&
                           t[k[i].end] == '.' && i + 1 < n && k[i + 1].gap == G_DOTSPACE) {
                    /* "kwame n. smith": a middle initial */
                    k[i].shape = PHI_SH_INITIAL;
                    k[i].score = 0.7f;
                    ix[nn++] = (uint32_t)i;
                }
            }
            continue;
        }
        ix[nn++] = (uint32_t)i; /* capitalized, upper case or an initial */
        if (!nameable(&k[i])) {
            if ((k[i].wflags & PHI_W_CRED) && i >= 2) { /* "john doe MD" */
                nn--;                                   /* i comes after them */
                if (lower_before_cred(d, t, k, i, ix, &nn)) strong += 2, lower_named = true;
                ix[nn++] = (uint32_t)i;
            }
            /* "wife June", "Patient: April Young", "Dr. Washington": strong context makes
             * a month or state word that is also a name a name. */
            if ((k[i].shape == PHI_SH_CAP || k[i].shape == PHI_SH_UPPER) &&
                (k[i].wflags & (PHI_W_MONTH | PHI_W_STATE)) &&
                !(k[i].wflags & (NOT_A_NAME & ~(PHI_W_MONTH | PHI_W_STATE))) &&
                (k[i].dflags & (PHI_D_FIRST | PHI_D_LAST))) {
                float cx = context_score(t, k, i);
                if (cx >= 0.85f) {
                    k[i].wflags &= (uint16_t) ~(PHI_W_MONTH | PHI_W_STATE);
                    k[i].score = cx;
                    strong++;
                }
            }
            continue;
        }
        float sc = own_score(&k[i], sentence_start(t, k, i));
        float cx = context_score(t, k, i);
        /* Context cannot make an ordinary word a name ("Dr. Emergency"). */
        if (cx > 0 && (k[i].dflags & PHI_D_COMMON) && !(k[i].dflags & (PHI_D_FIRST | PHI_D_LAST)))
            cx = 0;
        if (cx > sc) sc = cx;
        /* ", MD" / " RN" after the word. */
        if (i + 1 < n && (k[i + 1].wflags & PHI_W_CRED) &&
            (k[i + 1].shape == PHI_SH_UPPER || k[i + 1].shape == PHI_SH_CAP ||
             k[i + 1].shape == PHI_SH_INITIAL)) {
            int g = k[i + 1].gap;
            if ((g == G_COMMA || g == G_SPACE) && k[i].shape != PHI_SH_INITIAL &&
                !((k[i].dflags & PHI_D_COMMON) && !(k[i].dflags & (PHI_D_FIRST | PHI_D_LAST))))
                if (sc < 0.85f) sc = 0.85f;
        }
        /* "Prosper, the neighbor": a relation in apposition after the word. */
        if (i + 2 < n && k[i + 1].gap == G_COMMA && poss_word(t, &k[i + 1]) &&
            (k[i + 2].wflags & PHI_W_RELATION) && k[i + 2].gap == G_SPACE &&
            !((k[i].dflags & PHI_D_COMMON) && !(k[i].dflags & (PHI_D_FIRST | PHI_D_LAST))))
            if (sc < 0.85f) sc = 0.85f;
        /* "DUNMORROW, CLIFF", "Kellerby, Chidi, a 102 year old": Last, First opening a line
         * or after a label, the second word a first name, no lower-case word right after
         * ("Boston, Mary said" is a sentence). */
        if (i + 1 < n && k[i].shape != PHI_SH_INITIAL && k[i + 1].shape == k[i].shape &&
            (k[i + 1].dflags & PHI_D_FIRST) && nameable(&k[i + 1]) && k[i + 1].gap == G_COMMA &&
            line_start(t, k, i) &&
            ((k[i].dflags & (PHI_D_FIRST | PHI_D_LAST)) || !(k[i].dflags & PHI_D_COMMON))) {
            int ga = i + 2 < n ? k[i + 2].gap : G_NONE;
            if (!((ga == G_SPACE || ga == G_DOTSPACE) && k[i + 2].shape == PHI_SH_LOWER)) {
                if (sc < 0.8f) sc = 0.8f;
                if (k[i + 1].score < 0.8f) k[i + 1].score = 0.8f;
            }
        }
        if (k[i].score > sc) sc = k[i].score; /* raised by the word before it */
        k[i].score = sc;
        if (sc >= 0.6f) strong++;
    }
    /* Speaker labels of transcripts and chats: "Ubul: What a wife." at a line start. */
    for (size_t x = 0; x < nn; x++) {
        size_t i = ix[x];
        if (k[i].shape != PHI_SH_CAP || !nameable(&k[i]) || k[i].score >= 0.7f) continue;
        if ((k[i].dflags & PHI_D_COMMON) && !(k[i].dflags & (PHI_D_FIRST | PHI_D_LAST))) continue;
        size_t a = k[i].start;
        while (a > 0 && (t[a - 1] == ' ' || t[a - 1] == '\t' || t[a - 1] == '>'))
            a--;
        if (a > 0 && t[a - 1] != '\n') continue;
        if (k[i].end + 1 >= s->len || t[k[i].end] != ':' || t[k[i].end + 1] != ' ') continue;
        k[i].score = 0.7f;
        strong++;
    }
    /* Coordinated names share evidence: "Kónya, Becker and Vasquez". */
    for (size_t x = 0; x < nn; x++) {
        size_t i = ix[x];
        if (k[i].score < 0.6f || k[i].shape != PHI_SH_CAP) continue;
        for (int dir = -1; dir <= 1; dir += 2) {
            size_t q = i;
            for (int hops = 0; hops < 6; hops++) {
                size_t b;
                if (dir < 0) {
                    if (q < 1) break;
                    b = q - 1;
                } else {
                    if (q + 1 >= n) break;
                    b = q + 1;
                }
                size_t hi = dir < 0 ? q : b; /* the later of the two tokens */
                int g = k[hi].gap;
                size_t nxt = b;
                if (g != G_COMMA) {
                    /* " and " between */
                    if (g != G_SPACE || !tok_is(t, &k[b], "and")) break;
                    if (dir < 0 ? b < 1 : b + 1 >= n) break;
                    nxt = dir < 0 ? b - 1 : b + 1;
                    size_t hi2 = dir < 0 ? b : nxt;
                    if (k[hi2].gap != G_SPACE) break;
                }
                phi_tok *o = &k[nxt];
                if (o->shape != PHI_SH_CAP || !nameable(o)) break;
                if ((o->dflags & PHI_D_COMMON) && !(o->dflags & (PHI_D_FIRST | PHI_D_LAST)) &&
                    !o->foreign)
                    break;
                if (o->score < 0.6f) o->score = 0.6f;
                q = nxt;
            }
        }
    }
    /* 3: runs share their best evidence. */
    for (size_t x = 0, next = 0; x < nn; x++) {
        size_t i = ix[x];
        if (i < next || !nameable(&k[i])) continue; /* inside the run before, or not a name */
        size_t j = i + 1;
        while (j < n && j - i < 5 && nameable(&k[j]) && joined(t, &k[j - 1], &k[j]))
            j++;
        /* [i, j) is a run */
        float best = 0;
        int named = 0, unknown = 0, words = 0;
        for (size_t q = i; q < j; q++) {
            if (k[q].score > best) best = k[q].score;
            if (k[q].shape == PHI_SH_INITIAL) continue;
            words++;
            if (k[q].dflags & (PHI_D_FIRST | PHI_D_LAST))
                named++;
            else if (!(k[q].dflags & PHI_D_COMMON))
                unknown++;
        }
        bool first_start = sentence_start(t, k, i);
        if (best < 0.6f && words >= 2 && named + unknown == words && j - i <= 3) {
            /* Two or three name-like words together: "Hope Young", "Sigurlaug Karlsdottir". */
            best = named ? 0.55f : (first_start ? 0.4f : 0.5f);
        }
        /* Eponyms and organizations: "Foley catheter", "Parkinson's disease", "Smith Inc". */
        bool kill = false;
        if (j < n && best < 0.95f) {
            const phi_tok *nx = &k[j];
            size_t gapb = nx->start - k[j - 1].end;
            bool poss = gapb <= 3 && t[k[j - 1].end] == '\'';
            if ((nx->wflags & PHI_W_EPONYM) && nx->shape == PHI_SH_LOWER && (gapb <= 2 || poss))
                kill = true;
            if ((nx->wflags & PHI_W_ORG) && gapb <= 2 && nx->shape != PHI_SH_LOWER) kill = true;
            if (poss && j + 1 < n && (k[j + 1].wflags & PHI_W_EPONYM)) kill = true;
        }
        if (j - i == 1 && k[i].shape == PHI_SH_INITIAL) best = 0;
        /* The surname of a strong full name recurs alone, even when it is a word ("Fox"). */
        if (!kill && words >= 2 && best >= 0.75f && k[j - 1].shape != PHI_SH_INITIAL)
            k[j - 1].surname = 1;
        for (size_t q = i; q < j; q++) {
            if (kill) {
                k[q].score = 0;
                continue;
            }
            /* "Later Kowalski": a sentence-initial ordinary word is not absorbed. */
            if (q == i && first_start && k[q].score < 0.6f && (k[q].dflags & PHI_D_COMMON) &&
                !(k[q].dflags & PHI_D_FIRST))
                continue;
            if (best >= 0.5f && k[q].score < best - 0.05f) k[q].score = best - 0.05f;
        }
        next = j;
    }
    /* 4: names found on their own evidence recur elsewhere in the document. */
    if (strong) {
        rc = set_reset(s, strong);
        if (rc) return rc;
        size_t added = 0;
        for (size_t x = 0; x < nn; x++) {
            size_t q = ix[x];
            if (k[q].score >= 0.7f && k[q].shape != PHI_SH_INITIAL && k[q].end - k[q].start >= 2 &&
                !(k[q].wflags & NOT_A_NAME)) {
                bool ambig_only = (k[q].dflags & (PHI_D_COMMON | PHI_D_AMBIG)) &&
                                  k[q].score < 0.8f && !k[q].surname;
                if (!ambig_only) set_add(s, k[q].hash), added++;
            }
        }
        for (size_t x = 0; added && x < nn; x++) {
            size_t q = ix[x];
            if (k[q].score < 0.7f && (k[q].shape == PHI_SH_CAP || k[q].shape == PHI_SH_UPPER) &&
                !(k[q].wflags & NOT_A_NAME) && set_has(s, k[q].hash)) {
                k[q].score = 0.7f;
                /* "Saoirse Brackwater" on a letter's first line, once "Mr. Brackwater"
                 * is known: a name-like neighbour joins the known word. */
                for (int dir = -1; dir <= 1; dir += 2) {
                    if (dir < 0 ? q == 0 : q + 1 >= n) continue;
                    phi_tok *o = &k[dir < 0 ? q - 1 : q + 1];
                    if (o->score >= 0.45f || !nameable(o) || o->shape == PHI_SH_INITIAL) continue;
                    if ((o->dflags & PHI_D_COMMON) && !(o->dflags & PHI_D_FIRST)) continue;
                    if (!joined(t, dir < 0 ? o : &k[q], dir < 0 ? &k[q] : o)) continue;
                    o->score = 0.6f;
                }
            }
        }
        /* ... in lower case too, in a text that writes names in lower case ("alice" after
         * "name: alice smith"), when the word is no ordinary word. The run emission below
         * then walks every token. */
        for (size_t q = 0; added && lower_named && q < n; q++) {
            if (k[q].shape != PHI_SH_LOWER || k[q].score >= 0.45f || k[q].end - k[q].start < 3 ||
                (k[q].wflags & (NOT_A_NAME | PHI_W_BY | PHI_W_INTRO | PHI_W_FILLER)) ||
                !set_has(s, k[q].hash))
                continue;
            uint8_t f = (uint8_t)phi_dict_get(&d->words, k[q].hash);
            if (!(f & (PHI_D_FIRST | PHI_D_LAST)) || (f & (PHI_D_COMMON | PHI_D_AMBIG))) continue;
            k[q].dflags = f;
            k[q].score = 0.7f;
            lower_rec = true;
        }
    }
    /* Known cities after a preposition: "in Durham", "from Providence". */
    for (size_t x = 0; x < nn; x++) {
        size_t q = ix[x];
        if (q == 0 || !(k[q].dflags & PHI_D_CITY) || k[q].shape != PHI_SH_CAP) continue;
        const phi_tok *p = &k[q - 1];
        if (p->shape != PHI_SH_LOWER || k[q].gap != G_SPACE) continue;
        if (!(tok_is(t, p, "in") || tok_is(t, p, "from") || tok_is(t, p, "to") ||
              tok_is(t, p, "near") || tok_is(t, p, "outside") || tok_is(t, p, "of") ||
              tok_is(t, p, "at")))
            continue;
        size_t e = q + 1;
        while (e < n && e < q + 3 && k[e].shape == PHI_SH_CAP && joined(t, &k[e - 1], &k[e]) &&
               (k[e].dflags & PHI_D_CITY))
            e++;
        phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
        if (!c) return PHI_ENOMEM;
        k = s->toks.p;
        c->start = k[q].start, c->end = k[e - 1].end;
        c->pat = 0xFFFF, c->type = PHI_CITY, c->dead = 0, c->score = 0.8f;
    }
    /* Emit runs of named tokens as candidates. */
    for (size_t x = 0, next = 0; x < (lower_rec ? n : nn); x++) {
        size_t i = lower_rec ? x : ix[x];
        if (i < next || k[i].score < 0.45f) continue; /* inside the run before, or too weak */
        size_t j = i + 1;
        float best = k[i].score;
        while (j < n && k[j].score >= 0.45f && joined(t, &k[j - 1], &k[j])) {
            if (k[j].score > best) best = k[j].score;
            j++;
        }
        /* A lone initial is not a name. */
        if (!(j - i == 1 && k[i].shape == PHI_SH_INITIAL)) {
            phi_cand *c = phi_vec_push(&s->cands, sizeof *c);
            if (!c) return PHI_ENOMEM;
            c->start = k[i].start;
            c->end = k[j - 1].end;
            if (k[j - 1].shape == PHI_SH_INITIAL && c->end < s->len && t[c->end] == '.') c->end++;
            c->pat = 0xFFFF, c->type = PHI_NAME, c->dead = 0, c->score = best;
        }
        next = j;
    }
    return PHI_OK;
}
