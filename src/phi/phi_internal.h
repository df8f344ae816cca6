/*
 * phi_internal: structures shared by the files of the phi module (not part of
 * the public API; only the src/phi sources include it).
 *
 * The detector is split by responsibility:
 *   phi.c           lifetime of detector and scratch, errors, type names
 *   phi_data.c      the dictionaries embedded at build time (.incbin)
 *   phi_dict.c      compact read-only hash tables built from them
 *   phi_patterns.c  the Hyperscan pattern table and its compilation
 *   phi_validate.c  checksums and parsers (SSN, Luhn, DEA, ABA, VIN, IBAN, dates, IPs)
 *   phi_detect.c    the scan: one Hyperscan pass, validation, context, overlaps
 *   phi_labels.c    context labels ("MRN", "fax", "DOB") by a word walk
 *   phi_shapes.c    SSN, DEA, VIN shapes, ", ST" and "ST 02115", URLs, "on the 3rd" in C
 *   phi_starts.c    starts of frequent value matches found by walking back
 *   phi_walk.c      one walk over the words: C matchers and the name pass's tokens
 *   phi_names.c     the token pass: names, with dictionaries and context
 *   phi_places.c    addresses, cities ("in X" in C), facilities
 *   phi_redact.c    tags, masks and surrogates
 *   phi_deid.c      Safe Harbor de-identification of field values
 */
#ifndef PHI_INTERNAL_H
#define PHI_INTERNAL_H

#include <hs/hs.h>
#include <stdbool.h>
#include <string.h>

#include "phi.h"

/* ---- embedded data (phi_data.c) ---- */

/* A newline-separated word list embedded in the binary (read-only, static). */
typedef struct phi_blob {
    const uint8_t *p; /* first byte */
    size_t len;       /* bytes */
} phi_blob;

phi_blob phi_data_first_names(void);   /* lower-case first names */
phi_blob phi_data_last_names(void);    /* lower-case surnames */
phi_blob phi_data_common_words(void);  /* allow-list: words that are not names */
phi_blob phi_data_ambiguous(void);     /* English words that are names too (need context) */
phi_blob phi_data_name_override(void); /* allow-list entries that are names after all */
phi_blob phi_data_cities(void);        /* US cities and towns */
phi_blob phi_data_hsdb(void);          /* serialized Hyperscan database of phi_patterns */

/* ---- dictionaries (phi_dict.c) ---- */

/* Big table flags (8 bits). */
enum {
    PHI_D_FIRST = 1 << 0,  /* a first name */
    PHI_D_LAST = 1 << 1,   /* a surname */
    PHI_D_COMMON = 1 << 2, /* an ordinary or clinical word */
    PHI_D_AMBIG = 1 << 3,  /* a name that is also a common English word */
    PHI_D_CITY = 1 << 4,   /* first word of a city name */
};

/* Context word flags (16 bits). */
enum {
    PHI_W_TITLE = 1 << 0,    /* Mr, Dr, ...: the next capitalized word is a name */
    PHI_W_RELATION = 1 << 1, /* wife, son, ...: a name may follow */
    PHI_W_LABEL = 1 << 2,    /* Name, Patient, Attending ...: a name follows ':' */
    PHI_W_CRED = 1 << 3,     /* MD, RN, ...: the words before are a name */
    PHI_W_MONTH = 1 << 4,    /* month name */
    PHI_W_NOTNAME = 1 << 5,  /* never a name, even capitalized (stop words, headings) */
    PHI_W_BY = 1 << 6,       /* by, with, per: a name may follow */
    PHI_W_INTRO = 1 << 7,    /* named, called, is (after "name"): a name follows */
    PHI_W_EPONYM = 1 << 8,   /* disease, sign, score ...: the word before is an eponym */
    PHI_W_STATE = 1 << 9,    /* US state name or abbreviation */
    PHI_W_FILLER = 1 << 10,  /* is, no, number ...: allowed between a label and a value */
    PHI_W_ORG = 1 << 11,     /* Inc, Corp, University ...: the words before are not a person */
    PHI_W_UNIT = 1 << 12,    /* mg, tabs, strength ...: the number before is a quantity */
    PHI_W_CONTACT = 1 << 13, /* call, paged, notified ...: a person's name may follow */
    PHI_W_PLACE = 1 << 14,   /* bed, rm, room, bay: "bed 12 Name" */
    PHI_W_LABELS = 1 << 15,  /* first word of a label phrase or a weak cue (phi_labels.c) */
};

/* An open-addressing hash set of words with flags; read-only after build. */
typedef struct phi_dict {
    uint64_t *slots; /* hash fingerprint (high bits) | flags (low 16 bits); 0 = empty */
    uint32_t mask;   /* slot count - 1 (a power of two) */
    uint32_t count;  /* entries */
} phi_dict;

/* Hash of a word, lower-cased (ASCII) on the fly (inline, below). */
static inline uint64_t phi_hash_word(const uint8_t *p, size_t len);
/* phi_hash_word in pieces, for loops that look at each byte anyway:
 * h = PHI_HASH_SEED; h = phi_hash_step(h, byte)...; phi_hash_finish(h). */
#define PHI_HASH_SEED 0xcbf29ce484222325ull
/* Add every line of blob with flags (OR-ed into an existing entry). */
int phi_dict_add_lines(phi_dict *d, phi_blob blob, uint16_t flags);
/* Add one NUL-terminated word. */
int phi_dict_add(phi_dict *d, const char *word, uint16_t flags);
/* Allocate an empty table for about n words. */
int phi_dict_init(phi_dict *d, size_t n);
/* Release the table. */
void phi_dict_free(phi_dict *d);
/* Add a word by its hash (phi_hash_word) with flags. */
int phi_dict_add_hash(phi_dict *d, uint64_t h, uint16_t flags);
/* Flags of the word with hash h (0 when absent). Inline: called for most
 * words of a text. */
static inline uint16_t phi_dict_get(const phi_dict *d, uint64_t h)
{
    uint64_t fp = h & ~(uint64_t)0xFFFF;
    uint32_t i = (uint32_t)(h >> 20) & d->mask;
    for (;;) {
        uint64_t v = d->slots[i];
        if (v == 0) return 0;
        if ((v & ~(uint64_t)0xFFFF) == fp) return (uint16_t)(v & 0xFFFF);
        i = (i + 1) & d->mask;
    }
}
/* Start loading the slot of hash h (a lookup soon after finds it in cache). */
static inline void phi_dict_prefetch(const phi_dict *d, uint64_t h)
{
    __builtin_prefetch(&d->slots[(uint32_t)(h >> 20) & d->mask]);
}
/* Build the context-word table (titles, relations, months ...). */
int phi_dict_build_context(phi_dict *d);

/* ---- patterns (phi_patterns.c) ---- */

/* What a pattern match means. */
typedef enum phi_pkind {
    PHI_PK_VALUE = 0, /* a candidate value of some type */
    PHI_PK_CONTEXT,   /* a context keyword (label) */
    PHI_PK_TOKEN,     /* not compiled: candidates made by the C id scanner */
    PHI_PK_VALUE_END, /* a value whose start its validator finds (literal anchor at the end) */
    PHI_PK_CSCAN,     /* not compiled: the expression is matched by C code (phi_city_prep_scan) */
    PHI_PK_VALUE_C,   /* a value matched by C code instead of the main database (after the
                       * pass or in the walk); its start is found later, as a VALUE's is */
} phi_pkind;

/* Context classes of keywords. */
typedef enum phi_ctx {
    PHI_C_MRN = 0,
    PHI_C_ACCOUNT,
    PHI_C_PLAN,
    PHI_C_LICENSE,
    PHI_C_DEVICE,
    PHI_C_VEHICLE,
    PHI_C_SSN,
    PHI_C_PHONE,
    PHI_C_FAX,
    PHI_C_CARD,
    PHI_C_NPI,
    PHI_C_DEA,
    PHI_C_ROUTING,
    PHI_C_ID,
    PHI_C_DATE,   /* dob, admitted, seen on ... */
    PHI_C_NODATE, /* pain, strength, BP ...: m/d is not a date */
    PHI_C_ZIP,
    PHI_C_PAGER,     /* pager, beeper: 4-5 digit numbers are phone numbers */
    PHI_C_ADDR,      /* "address:", "lives at": an address may follow */
    PHI_C_ADDR_WEAK, /* "at 12", "to 4": an address may follow if it looks like one */
    PHI_C_COUNT
} phi_ctx;

/* Validators / interpreters of value patterns. */
typedef enum phi_val {
    PHI_V_NONE = 0,
    PHI_V_DATE_NUM,    /* m/d/y, y-m-d */
    PHI_V_DATE_MD,     /* m/d without year: context decides */
    PHI_V_DATE_MY,     /* m/yyyy */
    PHI_V_DATE_TEXT,   /* month names */
    PHI_V_MONTH_ONLY,  /* "in March": trim to the month */
    PHI_V_ORDINAL,     /* "on the 3rd": trim to the ordinal */
    PHI_V_AGE,         /* number 90..119 inside the match */
    PHI_V_PHONE,       /* NANP */
    PHI_V_PHONE_LOOSE, /* other layouts: need context unless strongly formatted */
    PHI_V_EMAIL,
    PHI_V_URL,
    PHI_V_IPV4,
    PHI_V_IPV6,
    PHI_V_SSN,
    PHI_V_DIGITS, /* long digit runs: card (Luhn), NPI, ABA, or an id */
    PHI_V_DEA,
    PHI_V_IBAN,
    PHI_V_VIN,
    PHI_V_IDVAL, /* an id-looking token: labelled ids */
    PHI_V_ADDRESS,
    PHI_V_CITY_STATE, /* "City, ST": trim to the city */
    PHI_V_ZIP_STATE,  /* "ST 02115": trim to the zip */
    PHI_V_ZIP_CTX,    /* "zip: 02115": trim to the zip */
    PHI_V_FACILITY,
    PHI_V_CITY_CTX, /* "lives in Springfield": trim to the place */
    PHI_V_PLAIN,    /* accept as is */
} phi_val;

/* One pattern of the table. */
typedef struct phi_pattern {
    const char *re;  /* Hyperscan expression */
    unsigned flags;  /* HS_FLAG_* besides SOM_LEFTMOST */
    uint8_t kind;    /* phi_pkind */
    uint8_t what;    /* phi_type for values, phi_ctx for context */
    uint8_t val;     /* phi_val */
    float score;     /* base score of a value */
    uint16_t maxlen; /* longest match (bytes) a value can have; 0 = default (160) */
    uint8_t start;   /* phi_start: how phi_start_fast finds the start (0: window scan) */
} phi_pattern;

/* Start finders of frequent value patterns (phi_starts.c). */
typedef enum phi_start {
    PHI_S_NONE = 0,
    PHI_S_MDY,        /* m/d/y (a time after it: window scan) */
    PHI_S_DMY,        /* d/m/yyyy */
    PHI_S_YMD,        /* yyyy-m-d (a time after it: window scan) */
    PHI_S_MD,         /* m/d */
    PHI_S_MY,         /* m/yyyy */
    PHI_S_MONTH_DAY,  /* "Jan 5", "March 3rd, 2021" */
    PHI_S_NANP,       /* (617) 555-0142, 617-555-0142, +1 617 555 0142 (extensions: window scan) */
    PHI_S_GROUPS,     /* "12 34 5678": digit groups */
    PHI_S_URL,        /* http://, https://, ftp://, www. and what follows */
    PHI_S_DOMAIN,     /* example.com (a path after it: window scan) */
    PHI_S_PAREN,      /* (030) 1234-5678: an area code in parentheses */
    PHI_S_INTL,       /* +41 (0)69 979 80 58: international numbers */
    PHI_S_DAY_MONTH,  /* "22 May", "3rd of March 2021", "4-Feb-21" */
    PHI_S_MONTH_YEAR, /* "March 2020", "Dec. of 2019", "Jan '21" */
    PHI_S_AGE,        /* "92-year-old", "101 y/o" */
    PHI_S_IN_MONTH,   /* "in March", "since December" */
    PHI_S_ON_THE,     /* "on the 3rd", "since 21st" */
    PHI_S_AGE_LABEL,  /* "age 92", "aged: 101" */
    PHI_S_IPV6,       /* fe80::1, 2001:db8:0:0:1:0:0:1 (as find_start's window sees it) */
    /* For patterns of kind PHI_PK_CSCAN: which C loop matches them. */
    PHI_S_SCAN_PREP,        /* "in X" (phi_city_prep_scan) */
    PHI_S_SCAN_SSN,         /* 123-45-6789 (phi_shapes_scan, as the rest) */
    PHI_S_SCAN_SSN_SPACED,  /* 123 45 6789 */
    PHI_S_SCAN_DEA,         /* AB1234563 */
    PHI_S_SCAN_VIN,         /* 17 VIN characters */
    PHI_S_SCAN_COMMA_STATE, /* ", MA", ", Ohio" (end-anchored) */
    PHI_S_SCAN_STATE_ZIP,   /* "MA 01103" */
    PHI_S_SCAN_PHONE_DASH,  /* 555-0142 */
    PHI_S_SCAN_PHONE_001,   /* 001-617-555-0142 */
    PHI_S_SCAN_PHONE_DOTS,  /* 617.555.0142, 617.555.0142x12 */
    PHI_S_SCAN_STREET,      /* street suffix words (end-anchored) */
    PHI_S_SCAN_EMAIL,       /* local@domain.tld */
    PHI_S_SCAN_IPV4,        /* dotted quad */
} phi_start;

/* Indices in phi_patterns of the patterns phi_shapes_scan matches. */
typedef struct phi_cscan_pats {
    uint16_t ssn, ssn_spaced, dea, vin; /* number shapes */
    uint16_t comma_state, state_zip;    /* ", ST" and "ST 01103" */
    uint16_t phone_dash, phone_001;     /* 555-0142, 001-617-555-0142 */
    uint16_t phone_dots, street;        /* 617.555.0142, "Street", "Ave" */
    uint16_t email, ipv4;               /* e-mail addresses, dotted quads */
    uint16_t zero_groups, ordinal;      /* "0161 496 0000", "on the 3rd" (PHI_PK_VALUE_C) */
    uint16_t url;                       /* http://, www. (PHI_PK_VALUE_C) */
} phi_cscan_pats;

/* Start of the match of pattern pat that ends at end, when it can be found by
 * walking back (exactly the leftmost start Hyperscan would report); SIZE_MAX
 * when the caller must scan a window instead. */
size_t phi_start_fast(const uint8_t *t, size_t len, uint16_t pat, size_t end);
/* phi_start_fast's answer when it knows that the window scan would find no match ending
 * at end (the candidate is dropped); SIZE_MAX means it does not know. */
#define PHI_START_DEAD ((size_t)-2)
/* The IPv6 expression's longest match (48: "1234" + 7 x "::abcd" + "::"); find_start's
 * window for it, and so phi_start_fast's emulation of that window, depend on it. */
#define PHI_IPV6_MAX 48

/* The table and its size. */
extern const phi_pattern phi_patterns[];
extern const size_t phi_patterns_count;

/* The compiled patterns. One pass of `main` (no start-of-match tracking,
 * which would make Hyperscan several times slower) reports where matches
 * end; the start of each value match is then found by scanning a short
 * window before its end with that pattern's own start-tracking database. */
typedef struct phi_dbset {
    hs_database_t *main; /* every compiled pattern, ends only */
    hs_database_t **som; /* per pattern index: start-tracking database (values), else NULL */
    uint32_t *width;     /* per pattern index: longest match in bytes (Hyperscan's max_width) */
    uint32_t *minw;      /* per pattern index: shortest match (equal to width: fixed length) */
    size_t n;            /* entries in som and width (= phi_patterns_count) */
} phi_dbset;

/* Compile the table (slow: seconds). */
int phi_patterns_compile(phi_dbset *set);
/* Serialize set into a malloc'ed buffer (build time). */
int phi_patterns_serialize(const phi_dbset *set, uint8_t **out, size_t *len);
/* Load a serialized set; PHI_EENGINE if it was made from another table or CPU. */
int phi_patterns_deserialize(const uint8_t *p, size_t len, phi_dbset *set);
/* Free the databases (not the struct). */
void phi_dbset_free(phi_dbset *set);

/* ---- context labels in C (phi_labels.c) ---- */

/* The label phrases indexed by their first word (read-only after build). */
/* A label phrase (phi_labels.c). */
typedef struct phi_label_phrase {
    uint64_t hash;   /* phi_hash_word of its first word */
    const char *txt; /* the phrase in phi_labels.c's notation */
    uint8_t n1;      /* letters of its first word */
    uint8_t cls;     /* phi_ctx */
} phi_label_phrase;

typedef struct phi_labels {
    /* hash of a first word -> 1 + index into ph of its first phrase (low 15 bits; 0:
     * none), and PHI_LABELS_WEAK for "at", "on", "in" ...: weak address cues before a
     * number */
    phi_dict first;
    phi_label_phrase *ph; /* the phrases sorted by the hash of their first word */
    size_t n;             /* phrases */
    /* One bit per (length, first letter, second letter) of the first words of
     * the phrases and of the weak cues: most words of a text have no bit, and
     * are passed over without hashing (PHI_LABELS_KEY gives the bit). */
    uint8_t maybe[(16 * 26 * 27 + 7) / 8];
} phi_labels;
/* The flag of a weak address cue in labels.first. */
#define PHI_LABELS_WEAK 0x8000
/* The bit of labels.maybe for a run of n (1..16) ASCII letters starting at p. */
#define PHI_LABELS_KEY(p, n)                                                                       \
    (((n)-1) * 26 * 27 + (size_t)(phi_lower((p)[0]) - 'a') * 27 +                                  \
     ((n) > 1 ? (size_t)(phi_lower((p)[1]) - 'a') + 1 : 0))

/* Can a phrase or weak cue start with the n ASCII letters at p? (the first test of
 * phi_labels_word, inline so the word walk calls it only for the words that pass) */
static inline bool phi_labels_maybe(const phi_labels *l, const uint8_t *p, size_t n);
/* Build the phrase index. */
int phi_labels_build(phi_labels *l);
/* Mark the first words of the phrases and the weak cues PHI_W_LABELS in the context-word
 * table, so the word walk, which looks every word up there, calls the label matcher
 * only for them. */
int phi_labels_mark(const phi_labels *l, phi_dict *ctx);
/* Release it. */
void phi_labels_free(phi_labels *l);

/* ---- detector and scratch ---- */

struct phi_detector {
    phi_config cfg;       /* effective settings */
    phi_dbset db;         /* compiled patterns */
    phi_dict words;       /* names and common words */
    phi_dict ctx;         /* context words */
    phi_dict addrw;       /* address words (PHI_A_*) for the free-form address grabber */
    phi_labels labels;    /* context label phrases */
    uint32_t *sur_first;  /* offsets into first-name blob usable as surrogates */
    uint32_t n_sur_first; /* count */
    uint32_t *sur_last;   /* offsets into last-name blob usable as surrogates */
    uint32_t n_sur_last;  /* count */
    double build_ms;      /* time phi_detector_new took */
    uint16_t idscan_pat;  /* index of the id scanner's pseudo-pattern in phi_patterns */
    uint16_t prep_pat;    /* index of the "in X" pattern that phi_city_prep_scan matches */
    phi_cscan_pats cscan; /* indices of the patterns phi_shapes_scan matches */
};

/* A candidate from the regex pass or the name pass. */
typedef struct phi_cand {
    uint32_t start; /* first byte */
    uint32_t end;   /* one past */
    uint16_t pat;   /* pattern index (0xFFFF for names) */
    uint8_t type;   /* phi_type after validation */
    uint8_t dead;   /* dropped by validation */
    float score;    /* after validation and context */
} phi_cand;

/* A context keyword hit. */
typedef struct phi_kw {
    uint32_t start; /* first byte */
    uint32_t end;   /* one past */
    uint8_t cls;    /* phi_ctx */
} phi_kw;

/* A word token of the name pass. */
typedef struct phi_tok {
    uint32_t start;  /* first byte */
    uint32_t end;    /* one past */
    uint64_t hash;   /* phi_hash_word of the word */
    uint16_t wflags; /* context word flags */
    uint8_t dflags;  /* dictionary flags */
    uint8_t shape;   /* PHI_SH_* */
    uint8_t foreign; /* holds non-ASCII letters: a name rather than an English word */
    uint8_t surname; /* last word of a strong multi-word name ("Winifred Fox") */
    uint8_t gap;     /* kind of the gap from the previous token (phi_names.c G_*) */
    float score;     /* name score so far */
} phi_tok;

enum { PHI_SH_LOWER = 0, PHI_SH_CAP, PHI_SH_UPPER, PHI_SH_INITIAL, PHI_SH_OTHER };

/* Kinds of the bytes between two tokens (phi_tok.gap): spaces only; one dot; one comma;
 * a colon; a line break; anything else (also before the first token). */
enum { PHI_G_SPACE = 0, PHI_G_DOTSPACE, PHI_G_COMMA, PHI_G_COLON, PHI_G_NEWLINE, PHI_G_OTHER };

/* A growable array owned by a scratch (grows geometrically, never shrinks). */
typedef struct phi_vec {
    void *p;    /* elements */
    size_t n;   /* used */
    size_t cap; /* allocated */
} phi_vec;

/* Make room for want elements in total. */
int phi_vec_reserve(phi_vec *v, size_t want, size_t sz);
/* Make room for one more element of size sz; returns the slot or NULL (no memory).
 * Inline: the callers push per word or per match; only growing is a call. */
static inline void *phi_vec_push(phi_vec *v, size_t sz)
{
    if (v->n == v->cap && phi_vec_reserve(v, v->cap ? v->cap * 2 : 256, sz) != PHI_OK) return NULL;
    return (uint8_t *)v->p + sz * v->n++;
}

/* The state of one document of a batch while the passes of the others run
 * (phi_detect_batch swaps it with the scratch's fields of the same names). */
typedef struct phi_docst {
    const uint8_t *text; /* the document */
    size_t len;          /* its length */
    phi_vec cands;       /* phi_cand */
    phi_vec kws;         /* phi_kw */
    phi_vec toks;        /* phi_tok */
    phi_vec caps;        /* uint32_t */
    phi_vec ents;        /* phi_entity: its result */
    size_t ids_pos;      /* phi_ids_word state */
    size_t ids_kc;       /* phi_ids_word state */
    int rc;              /* PHI_OK, or the error that stopped this document */
} phi_docst;

/* Documents a batch runs side by side (phi_detect_batch). */
#define PHI_BATCH_CHUNK 256

struct phi_scratch {
    const phi_detector *d; /* detector this scratch belongs to */
    hs_scratch_t *hs;      /* Hyperscan scratch */
    phi_vec cands;         /* phi_cand */
    phi_vec tmp;           /* phi_cand: merge buffer for sorting cands */
    phi_vec kws;           /* phi_kw */
    phi_vec toks;          /* phi_tok */
    phi_vec caps;          /* uint32_t: indices in toks of the capitalized and upper-case tokens */
    phi_vec ents;          /* phi_entity: the last result */
    phi_vec nameset;       /* uint64_t open-addressing set of name hashes */
    phi_vec named;         /* uint32_t: the tokens that can score as names (phi_names.c) */
    phi_vec surmap;        /* redaction: uint64_t original hash -> surrogate (packed) */
    phi_vec out;           /* redaction output buffer */
    phi_vec prep;          /* phi_city_prep_scan: matches before they become candidates */
    size_t ids_pos;        /* phi_ids_word: where the id loop stopped */
    size_t ids_kc;         /* phi_ids_word: its keyword cursor */
    size_t url_end;        /* phi_shapes_url_at: the end of the last URL (one walk) */
    int oom;               /* set by callbacks when a push failed */
    const atomic_int *cancel; /* phi_scratch_set_cancel's flag, or NULL */
    uint32_t tick;            /* on_match calls, for checking cancel now and then */
    int cancelled;            /* set by on_match when it stopped the scan for cancel */
    phi_docst *docst;      /* PHI_BATCH_CHUNK document states (first batch allocates) */
    phi_vec batch_ents;    /* phi_entity: the results of the last batch, in order */
    const uint8_t *text;   /* document being scanned */
    size_t len;            /* its length */
    phi_vec fold;          /* uint8_t: folded copies of the texts of a call (phi_fold.c) */
    phi_vec fold_map;      /* uint32_t: for each folded byte, its offset in the text */
};

/* ---- folding (phi_fold.c) ---- */

/* 1 when (t, n) holds a Unicode spelling of an ASCII character (full-width forms, hyphens and
 * dashes, no-break spaces) that the scan reads folded. */
int phi_fold_needed(const uint8_t *t, size_t n);
/* Append the folded copy of (text, len) to s->fold and its offsets to s->fold_map, which
 * must have room for len + 1 more each (reserved by the caller): *out / *outlen is the
 * copy, *map_off where its offsets begin. */
void phi_fold_append(phi_scratch *s, const uint8_t *text, size_t len, const uint8_t **out,
                     size_t *outlen, size_t *map_off);
/* Map n entities of a folded copy (flen bytes, offsets at map_off) back to its text. */
void phi_fold_remap(const phi_scratch *s, size_t map_off, size_t flen, phi_entity *e, size_t n);

/* ---- the passes ---- */

/* Whether the scan with s is to stop (phi_scratch_set_cancel). */
static inline bool phi_cancelled(const phi_scratch *s)
{
    return s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed);
}

/* Run the whole scan; leaves sorted, non-overlapping entities in s->ents. */
int phi_detect_run(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len);
/* Run the whole scan on each document of docs, each pass over up to
 * PHI_BATCH_CHUNK documents before the next pass; fills each document's result
 * (into s->batch_ents) and status. PHI_ENOMEM when no state could be allocated. */
int phi_detect_batch(const phi_detector *d, phi_scratch *s, phi_batch_doc *docs, size_t n);

/* A value candidate whose start is still to be found (pass_validate's find_start). */
#define PHI_START_UNKNOWN UINT32_MAX

/* The shapes of phi_shapes.c (patterns in d->cscan): appends candidates. */
int phi_shapes_scan(const phi_detector *d, phi_scratch *s);
/* Its pieces, for one walk over the text: the word [i, e) (a \b-delimited run);
 * the non-word byte at i (',' and '@' start shapes). */
int phi_shapes_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e);
int phi_shapes_punct(const phi_detector *d, phi_scratch *s, size_t i);
/* The ends of the digit groups after a leading 0 (d->cscan.zero_groups), as candidates
 * with PHI_START_UNKNOWN, in order of end; run after the Hyperscan pass. */
int phi_shapes_zero_groups(const phi_detector *d, phi_scratch *s);
/* The URL (d->cscan.url) whose prefix may start at the word start p, as a candidate with
 * PHI_START_UNKNOWN (one a run of consecutive ends); the same for every word start of
 * the text (the piece the walk replaces, for tests). */
int phi_shapes_url_at(const phi_detector *d, phi_scratch *s, size_t p);
int phi_shapes_urls(const phi_detector *d, phi_scratch *s);
/* "on the 3rd" (d->cscan.ordinal) ending with the word [i, e) (a \b-delimited run that
 * holds a digit), as a candidate with PHI_START_UNKNOWN; the same for every word of the
 * text (the piece the walk replaces, for tests). */
int phi_shapes_ordinal(const phi_detector *d, phi_scratch *s, size_t i, size_t e);
int phi_shapes_ordinal_scan(const phi_detector *d, phi_scratch *s);
/* Can phi_shapes_word find anything in the word t[i, e) (t has len bytes)? False only
 * when it cannot (most words: lower-case ones, long ones, most capitalized ones, most
 * numbers), so the walk skips the call. */
static inline bool phi_shapes_maybe(const uint8_t *t, size_t len, size_t i, size_t e);
/* Bit n of entry c - 'A': a street suffix word of n letters starts with c; bit x - 'a'
 * of the second: one has the second letter x (phi_shapes.c). */
extern const uint16_t phi_shapes_street_lens[26];
extern const uint32_t phi_shapes_street_second[26];
/* Context labels: fills s->kws (sorted by end, then class) from the text. */
int phi_labels_scan(const phi_detector *d, phi_scratch *s);
/* Its pieces: the labels that begin at the word start i (a letter), whose letters
 * end at e; a '#' at i. */
int phi_labels_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e);
/* The same for a word that passed phi_labels_maybe, h its phi_hash_word. */
int phi_labels_word_hash(const phi_detector *d, phi_scratch *s, size_t i, size_t e, uint64_t h);
int phi_labels_hash(phi_scratch *s, size_t i);
/* Id scanner: appends id-shaped tokens (letters and digits) to s->cands; needs
 * s->kws filled. */
int phi_ids_run(const phi_detector *d, phi_scratch *s);
/* The same in pieces, for one walk over the text: reset, then every \b-delimited
 * word [i, e) that holds a digit, in order (a token without digits is never kept);
 * the keywords that end at or before i must be in s->kws by then. */
void phi_ids_reset(phi_scratch *s);
int phi_ids_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e);
/* Validate one id-shaped candidate (labelled ids, long numbers). */
void phi_validate_id(const phi_detector *d, phi_scratch *s, phi_cand *c);

/* The walk (phi_walk.c): one pass over the words of the text for the labels, "in X"
 * places, shapes and id tokens (appends to s->kws and s->cands) and the name pass's
 * tokens (s->toks). */
int phi_walk_run(const phi_detector *d, phi_scratch *s);
/* The name pass's tokens alone (appended to s->toks), by the word loop the walk
 * replaces: the tests compare the two. */
int phi_names_tokenize(const phi_detector *d, phi_scratch *s);
/* The gap kind (PHI_G_*) of t[a, b), the bytes between two tokens (phi_names.c; the walk
 * gives each token the kind of the gap before it). */
uint8_t phi_names_gap(const uint8_t *t, size_t a, size_t b);
/* A gap's bytes counted in 4-bit fields (the sum of phi_gap_count[byte] ^ PHI_GC_OTHER
 * over at most 6 bytes): dots, commas, colons, line breaks, other bytes. */
#define PHI_GC_DOT   1u
#define PHI_GC_COMMA (1u << 4)
#define PHI_GC_COLON (1u << 8)
#define PHI_GC_NL    (1u << 12)
#define PHI_GC_OTHER (1u << 16)
extern const uint32_t phi_gap_count[256];
/* The gap kind of such a count. */
static inline uint8_t phi_gap_of_count(uint32_t n)
{
    unsigned dot = n & 15, comma = (n >> 4) & 15, colon = (n >> 8) & 15, nl = (n >> 12) & 15;
    if (nl) return colon ? PHI_G_COLON : PHI_G_NEWLINE;
    if (n >> 16) return PHI_G_OTHER;
    if (colon) return PHI_G_COLON;
    if (comma == 1 && !dot) return PHI_G_COMMA;
    if (dot == 1 && !comma) return PHI_G_DOTSPACE;
    if (!dot && !comma) return PHI_G_SPACE;
    return PHI_G_OTHER;
}
/* Name pass: scores the tokens of the walk; appends name candidates to s->cands. */
int phi_names_run(const phi_detector *d, phi_scratch *s);

/* ---- context helpers (phi_context.c) ---- */

/* Bit of a phi_ctx class in a mask. */
#define CB(c) (1u << (c))

/* Is text[a, b) only separators and filler words ("is", "number")? */
bool phi_gap_ok(const phi_detector *d, const uint8_t *t, size_t a, size_t b);
/* Bit mask of phi_ctx classes of labels ending within window bytes before pos. */
uint32_t phi_ctx_before(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window);
/* The same, also writing the classes of those labels, nearest first, to cls (up to cap
 * of them); *n gets how many there are, even past cap. */
uint32_t phi_ctx_before_list(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                             uint8_t *cls, size_t cap, size_t *n);
/* Of the classes in mask, the bit of the label nearest before pos (0 if none). */
uint32_t phi_ctx_nearest(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window,
                         uint32_t mask);
/* Bit mask of classes of labels starting within window bytes after pos. */
uint32_t phi_ctx_after(const phi_detector *d, const phi_scratch *s, size_t pos, size_t window);
/* The next word after pos, lower-cased into buf (NUL-terminated); its length. */
size_t phi_next_word(const uint8_t *t, size_t len, size_t pos, char *buf, size_t cap);
/* Is the word after pos a unit or measure word (PHI_W_UNIT)? */
bool phi_next_is_unit(const phi_detector *d, const uint8_t *t, size_t len, size_t pos);
/* Is w one of the NULL-terminated list? */
bool phi_in_list(const char *w, const char *const *list);
/* Unit and measure words ("mg", "tabs", "strength") that make a number a quantity. */
extern const char *const phi_units[];
/* Digits and ASCII letters in t[a, b). */
void phi_count_chars(const uint8_t *t, size_t a, size_t b, int *nd, int *nl);
/* Shrink c to its last token (labels in front of a value). */
void phi_trim_to_last_token(const uint8_t *t, phi_cand *c);
/* Drop leading words that cannot begin a place name ("the", "at", "admitted"). */
void phi_trim_lead_words(const phi_detector *d, const uint8_t *t, phi_cand *c);
/* Are all words of t[a, b) states or countries (not PHI)? */
bool phi_not_phi_place(const phi_detector *d, const uint8_t *t, size_t a, size_t b);
/* Start of up to maxw capitalized words before pos; *nw gets how many. */
size_t phi_walk_caps(const uint8_t *t, size_t pos, int maxw, bool upper, int *nw);

/* ---- places (phi_places.c) ---- */

/* Each validator reads s->text, then sets c's span and score or marks it dead. */
/* A street suffix match: find the house number before it and the unit after it. */
void phi_validate_address(const phi_detector *d, phi_scratch *s, phi_cand *c);
/* ", ST" / ", State": the city is the capitalized words before the comma. */
void phi_validate_city_state(const phi_detector *d, phi_scratch *s, phi_cand *c);
/* "lives in X", "in X": keep the place; refuse states, countries, known words. */
void phi_validate_city_ctx(const phi_detector *d, phi_scratch *s, phi_cand *c);
/* A facility word: walk back over the facility's name. */
void phi_validate_facility(const phi_detector *d, phi_scratch *s, phi_cand *c);
/* Address word flags (phi_detector.addrw). */
enum {
    PHI_A_LOWER = 1 << 0,  /* lower-case word that may stand inside an address ("rua", "apt") */
    PHI_A_STRONG = 1 << 1, /* street or unit word ("street", "suite", "box") */
};
/* Build the address word table. */
int phi_places_build_dict(phi_dict *d);
/* "in X", "from X" (pattern prep_pat) matched in C; appends candidates with their starts. */
int phi_city_prep_scan(const phi_detector *d, phi_scratch *s, uint16_t pat);
/* Its pieces: the matches from the word start i (into s->prep, emptied by the caller
 * first); then the candidates from them. */
int phi_city_prep_at(phi_scratch *s, size_t i);
int phi_city_prep_finish(phi_scratch *s, uint16_t pat);
/* Free-form addresses after an address cue or opening a line; appends candidates. */
int phi_addr_grab(const phi_detector *d, phi_scratch *s);
/* ", ma 02118" in lower case at the comma t[i]: ZIP and city candidates (phi_places.c). */
int phi_lower_state_zip(const phi_detector *d, phi_scratch *s, size_t i);
/* Are capitals a, b a US state's abbreviation ("MA")? */
bool phi_state_abbr(uint8_t a, uint8_t b);

/* ---- validators (phi_validate.c) ---- */

/* Each returns true when the value passes its published check (see phi_validate.c). */

bool phi_luhn_ok(const uint8_t *digits, size_t n); /* digits are 0..9 values */
bool phi_ssn_ok(const uint8_t *p, size_t len);     /* "123-45-6789" or 9 digits */
bool phi_npi_ok(const uint8_t *digits, size_t n);  /* 10 digits */
bool phi_aba_ok(const uint8_t *digits, size_t n);  /* 9 digits */
bool phi_dea_ok(const uint8_t *p, size_t len);     /* 2 letters + 7 digits */
bool phi_vin_ok(const uint8_t *p, size_t len);     /* 17 chars, check digit */
bool phi_iban_ok(const uint8_t *p, size_t len);    /* mod-97 */
bool phi_ipv4_ok(const uint8_t *p, size_t len);    /* dotted quad, no leading zeros */
bool phi_ipv6_ok(const uint8_t *p, size_t len);    /* inet_pton, at least two colons */

/* A parsed date and how it was written (so a surrogate can be written alike). */
typedef struct phi_date {
    int y, m, d;     /* year (0 = none), month 1..12 (0 = none), day (0 = none) */
    int order;       /* PHI_DO_* */
    char sep;        /* numeric separator */
    uint8_t yd;      /* digits of the year as written (2 or 4) */
    uint8_t pad;     /* month/day zero-padded */
    uint8_t mstyle;  /* 0 numeric, 1 abbreviated name, 2 full name */
    uint8_t ordinal; /* day written with st/nd/rd/th */
    uint8_t comma;   /* comma before the year */
    uint8_t upper;   /* month name in capitals */
} phi_date;

enum { PHI_DO_MDY = 0, PHI_DO_YMD, PHI_DO_DMY, PHI_DO_MY, PHI_DO_MD, PHI_DO_DM };

/* Parse a date in any recognized form; returns 0 or PHI_EPARSE. */
int phi_date_parse(const uint8_t *p, size_t len, phi_date *out);
/* Month number of a month name at p (3+ letters); 0 when none. *used gets its length. */
int phi_month_name(const uint8_t *p, size_t len, size_t *used);
/* Days since 1970-01-01 and back. */
long phi_days_from_civil(int y, int m, int d);
void phi_civil_from_days(long z, int *y, int *m, int *d);

/* ---- small helpers ---- */

/* Byte classes (phi_ctype): one load instead of range tests in the loops that
 * look at every byte. The predicates return 0 or 1 (callers compare them). PHI_CT_WORD is
 * Hyperscan's \w ([A-Za-z0-9_]), PHI_CT_SPACE its \s ([\t\n\v\f\r ]). */
enum {
    PHI_CT_DIGIT = 1,
    PHI_CT_ALPHA = 2,
    PHI_CT_UPPER = 4,
    PHI_CT_LOWER = 8,
    PHI_CT_WORD = 16,
    PHI_CT_SPACE = 32,
    PHI_CT_HIGH = 64, /* >= 0x80 */
};
extern const uint8_t phi_ctype[256];

static inline int phi_is_digit(uint8_t c)
{
    return (phi_ctype[c] & PHI_CT_DIGIT) != 0;
}
static inline int phi_is_alpha(uint8_t c)
{
    return (phi_ctype[c] & PHI_CT_ALPHA) != 0;
}
static inline int phi_is_alnum(uint8_t c)
{
    return (phi_ctype[c] & (PHI_CT_DIGIT | PHI_CT_ALPHA)) != 0;
}
/* Hyperscan's word byte ([A-Za-z0-9_]) and white space (\s). */
static inline int phi_is_hs_word(uint8_t c)
{
    return (phi_ctype[c] & PHI_CT_WORD) != 0;
}
static inline int phi_is_hs_space(uint8_t c)
{
    return (phi_ctype[c] & PHI_CT_SPACE) != 0;
}
/* ASCII lower case (phi_data.c: one load instead of a compare and a select, in
 * the word hash and the phrase matchers that look at most bytes of a text). */
extern const uint8_t phi_lowercase[256];
static inline uint8_t phi_lower(uint8_t c)
{
    return phi_lowercase[c];
}

/* The letters t[a, b) equal the lower-case word w (ASCII, any case). */
static inline bool phi_word_is(const uint8_t *t, size_t a, size_t b, const char *w)
{
    size_t n = strlen(w);
    if (b - a != n) return false;
    for (size_t k = 0; k < n; k++)
        if (phi_lower(t[a + k]) != (uint8_t)w[k]) return false;
    return true;
}

/* One byte of phi_hash_word (FNV-1a over the lower-cased byte). */
static inline uint64_t phi_hash_step(uint64_t h, uint8_t c)
{
    return (h ^ phi_lower(c)) * 0x100000001b3ull;
}

/* The end of phi_hash_word: a final mix so the low bits depend on every byte;
 * never 0 in the fingerprint bits (0 marks an empty slot). */
static inline uint64_t phi_hash_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    if ((h & ~(uint64_t)0xFFFF) == 0) h |= 0x10000;
    return h;
}

static inline bool phi_labels_maybe(const phi_labels *l, const uint8_t *p, size_t n)
{
    if (n > 16) return false;
    size_t key = PHI_LABELS_KEY(p, n);
    return (l->maybe[key / 8] & (1u << (key % 8))) != 0;
}

static inline bool phi_shapes_maybe(const uint8_t *t, size_t len, size_t i, size_t e)
{
    size_t n = e - i;
    uint8_t c = t[i], ct = phi_ctype[c];
    /* A VIN (17 bytes); a DEA number (9, the last a digit). */
    if (n == 17 || (n == 9 && phi_is_digit(t[e - 1]))) return true;
    /* A state abbreviation (two capitals); a street suffix word (a capital, a second
     * letter and a length of one of that capital's street words). */
    if (ct & PHI_CT_UPPER) {
        if (n < 2) return false;
        uint8_t c1 = t[i + 1], ct1 = phi_ctype[c1];
        return (n == 2 && (ct1 & PHI_CT_UPPER)) ||
               (n <= 10 && (phi_shapes_street_lens[c - 'A'] >> n & 1) && (ct1 & PHI_CT_LOWER) &&
                (phi_shapes_street_second[c - 'A'] >> (c1 - 'a') & 1));
    }
    /* Up to three digits before a dot (IPv4, 617.555.0142) or a hyphen (SSN, 555-0142,
     * 001-...); three before white space and a digit (123 45 6789). */
    if (ct & PHI_CT_DIGIT) {
        if (n > 3 || e >= len) return false;
        uint8_t x = t[e];
        return x == '.' || x == '-' ||
               (n == 3 && phi_is_hs_space(x) && e + 1 < len && phi_is_digit(t[e + 1]));
    }
    return false;
}

static inline uint64_t phi_hash_word(const uint8_t *p, size_t len)
{
    /* FNV-1a over lower-cased bytes, then a final mix so the low bits (the
     * slot index) depend on every byte. */
    uint64_t h = PHI_HASH_SEED;
    for (size_t i = 0; i < len; i++)
        h = phi_hash_step(h, p[i]);
    return phi_hash_finish(h);
}

#endif
