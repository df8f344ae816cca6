/*
 * phi: detection, redaction and Safe Harbor de-identification of protected
 * health information (PHI) in free text and in structured field values.
 *
 * Shape of the API (LMDB-like: opaque handles, object_verb names):
 *   - phi_detector: immutable after phi_detector_new(). It holds the compiled
 *     Hyperscan database and the dictionaries (names, common words, context
 *     words), embedded in the binary at build time and turned into read-only
 *     hash tables at creation. One detector is shared by every thread.
 *   - phi_scratch: per-thread working memory (Hyperscan scratch, candidate,
 *     token and result arrays). A scratch is used by one thread at a time; its
 *     arrays grow geometrically when a document needs more room than any
 *     before it, so the scan itself never allocates per match.
 *
 * Offsets are byte offsets into the caller's buffer, end exclusive. Input is
 * any byte string (UTF-8 expected, invalid bytes tolerated: they are treated
 * as letters of unknown words, never cause a read outside the buffer, and
 * entity boundaries always fall inside [0, len]). Documents are limited to
 * PHI_MAX_INPUT bytes.
 *
 * Every function returns 0 or a negative phi_status; phi_strerror() names it.
 * Nothing here logs, and no error message ever contains input text.
 */
#ifndef PHI_H
#define PHI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Largest document one call accepts (offsets are kept in 32 bits). */
#define PHI_MAX_INPUT ((size_t)0xFFFFFFF0u)

/* Status codes (0 is success). */
typedef enum phi_status {
    PHI_OK = 0,
    PHI_ENOMEM = -1,    /* allocation failed */
    PHI_EINVAL = -2,    /* bad argument (NULL pointer, unknown mode or kind) */
    PHI_EENGINE = -3,   /* Hyperscan refused to compile or scan */
    PHI_ETRUNC = -4,    /* more entities than the caller's array holds */
    PHI_ENOSPACE = -5,  /* output buffer too small; the needed size is reported */
    PHI_EPARSE = -6,    /* a field value could not be parsed (date, age, zip) */
    PHI_ETOOBIG = -7,   /* input longer than PHI_MAX_INPUT */
    PHI_ECANCELED = -8, /* stopped by the scratch's cancel flag (phi_scratch_set_cancel) */
} phi_status;

/* Entity types: the Safe Harbor identifiers that occur in text. */
typedef enum phi_type {
    PHI_NAME = 0,    /* person: patient, relative, clinician */
    PHI_DATE,        /* any date element more precise than a year */
    PHI_AGE,         /* an age over 89 */
    PHI_PHONE,       /* telephone number */
    PHI_FAX,         /* fax number */
    PHI_EMAIL,       /* e-mail address */
    PHI_SSN,         /* US social security number (SSA rules checked) */
    PHI_MRN,         /* medical record number */
    PHI_ACCOUNT,     /* account, bank routing (ABA), IBAN */
    PHI_HEALTH_PLAN, /* health plan beneficiary / member / policy number */
    PHI_LICENSE,     /* licence or certificate number (driver, professional) */
    PHI_VEHICLE,     /* VIN (check digit) or licence plate */
    PHI_DEVICE,      /* device identifier or serial number */
    PHI_URL,         /* web address */
    PHI_IP,          /* IPv4 or IPv6 address */
    PHI_ADDRESS,     /* street address, PO box */
    PHI_CITY,        /* city or town */
    PHI_ZIP,         /* ZIP / postal code */
    PHI_FACILITY,    /* hospital, clinic or other facility name */
    PHI_CARD,        /* payment card number (Luhn) */
    PHI_ID,          /* other unique identifying number (NPI, DEA, unlabelled ids) */
    PHI_TYPE_COUNT
} phi_type;

/* Bit for a type in a type mask. */
#define PHI_TYPE_BIT(t) (1u << (t))
/* Mask of every type. */
#define PHI_TYPES_ALL ((1u << PHI_TYPE_COUNT) - 1u)

/* One finding. */
typedef struct phi_entity {
    uint32_t start; /* first byte of the entity */
    uint32_t end;   /* one past its last byte */
    phi_type type;  /* what it is */
    float score;    /* confidence in [0, 1] */
} phi_entity;

/* Detector settings; a zeroed struct (or NULL) means the defaults. */
typedef struct phi_config {
    float min_score; /* findings below it are not reported; 0 means 0.5 */
    uint32_t types;  /* PHI_TYPE_BIT mask of types to report; 0 means all */
} phi_config;

typedef struct phi_detector phi_detector;
typedef struct phi_scratch phi_scratch;

/* Name of a status code; static string, never NULL. */
const char *phi_strerror(int status);

/* Upper-case name of a type ("NAME", "DATE", ...); "UNKNOWN" when out of range. */
const char *phi_type_name(phi_type type);

/* Type whose name (case-insensitive) is (p, len); returns the type or PHI_EINVAL. */
int phi_type_from_name(const char *p, size_t len);

/* ---- lifetime ---------------------------------------------------------------------------- */

/* Build a detector (compiles patterns, loads the embedded dictionaries). cfg may
 * be NULL; it is copied. On success *out owns the detector: free it with
 * phi_detector_free() after every scratch made from it is freed. */
int phi_detector_new(const phi_config *cfg, phi_detector **out);

/* Free a detector (NULL is fine). */
void phi_detector_free(phi_detector *d);

/* Bytes of heap the detector holds (dictionaries, database), for reports. */
size_t phi_detector_memory(const phi_detector *d);

/* Make a per-thread scratch for d. *out is owned by the caller (phi_scratch_free). */
int phi_scratch_new(const phi_detector *d, phi_scratch **out);

/* Free a scratch (NULL is fine). */
void phi_scratch_free(phi_scratch *s);

/* Let another thread stop the scans that use s: while *flag is non-zero (flag NULL: no
 * flag), a scan, batch or redaction with s returns PHI_ECANCELED instead of finishing.
 * It is checked before each pass and every few thousand candidates, so even a crafted
 * text stops within milliseconds; a single pass over clinical text is not interrupted
 * (about 10 ms per MB). For a server that must not wait for a large scan at shutdown. */
void phi_scratch_set_cancel(phi_scratch *s, const atomic_int *flag);

/* ---- detection ---------------------------------------------------------------------------- */

/* Find PHI in (text, len). Entities, sorted by start and not overlapping, are
 * written to out[0..cap); *n_found gets the total number found. Returns
 * PHI_ETRUNC when *n_found > cap (out then holds the first cap entities);
 * out may be NULL when cap is 0 (to count). text is only read during the call. */
int phi_scan(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
             phi_entity *out, size_t cap, size_t *n_found);

/* Like phi_scan, but *ents points into the scratch (valid until the next call
 * with s, owned by s) so no caller array is needed and nothing is truncated. */
int phi_scan_view(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                  const phi_entity **ents, size_t *n);

/* One document of phi_scan_batch. */
typedef struct phi_batch_doc {
    const uint8_t *text;    /* in: the document (read only during the call) */
    size_t len;             /* in: its length */
    const phi_entity *ents; /* out: its entities (owned by the scratch, valid until the next
                             * call with it); NULL when status is not PHI_OK */
    size_t n;               /* out: how many */
    int status;             /* out: PHI_OK, or this document's error (PHI_ETOOBIG ...) */
} phi_batch_doc;

/* Scan n documents, each on its own (the same entities as phi_scan_view on each),
 * faster than n calls for short texts: each pass of the detector runs over
 * several documents before the next pass, so its code stays in the caches.
 * Returns PHI_OK with each document's status set, or PHI_EINVAL / PHI_ENOMEM
 * for the whole call (then no status is set). */
int phi_scan_batch(const phi_detector *d, phi_scratch *s, phi_batch_doc *docs, size_t n);

/* Does (text, len) hold PHI of a type in `types` (0 = all) with score >= threshold?
 * Sets *found to 1 or 0. For dlp checks of key names and undeclared fields. It
 * runs a full scan (microseconds for a key name); a threshold below the
 * detector's min_score acts as min_score. */
int phi_contains(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                 float threshold, uint32_t types, int *found);

/* ---- redaction ---------------------------------------------------------------------------- */

typedef enum phi_redact_mode {
    PHI_REDACT_TAG = 0,   /* each finding becomes "[TYPE]" */
    PHI_REDACT_MASK,      /* each byte of a finding becomes '*' (newlines kept): length kept */
    PHI_REDACT_SURROGATE, /* invented stand-ins, consistent within the document; dates shifted
                             by one offset per document so intervals are kept */
} phi_redact_mode;

typedef struct phi_redact_opts {
    phi_redact_mode mode;
    uint64_t seed; /* surrogate mode: same seed, same stand-ins; 0 = random per call */
} phi_redact_opts;

/* Scan and redact (text, len). The result is malloc'ed: *out is owned by the
 * caller (free()), *out_len its length (a NUL byte follows, not counted).
 * opts may be NULL (tag mode). */
int phi_redact(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
               const phi_redact_opts *opts, uint8_t **out, size_t *out_len);

/* Same, into the caller's buffer (buf, cap). Returns PHI_ENOSPACE when it does
 * not fit; *out_len is then the size needed (call again with a bigger buffer). */
int phi_redact_into(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                    const phi_redact_opts *opts, uint8_t *buf, size_t cap, size_t *out_len);

/* Redact with entities the caller already has (sorted, non-overlapping, e.g.
 * from phi_scan). Output as phi_redact (malloc'ed, caller frees). */
int phi_redact_entities(const phi_detector *d, phi_scratch *s, const uint8_t *text, size_t len,
                        const phi_entity *ents, size_t n, const phi_redact_opts *opts,
                        uint8_t **out, size_t *out_len);

/* ---- Safe Harbor de-identification of field values (45 CFR 164.514(b)(2)) ----------------- */

/* Restricted three-digit ZIP prefixes (population of 20,000 or fewer) that become "000". */
typedef struct phi_zip_policy {
    const uint16_t *restricted; /* prefixes as numbers (36 for "036"); NULL = the default list */
    size_t n;                   /* entries in restricted */
} phi_zip_policy;

/* A date (any form phi recognizes, or a plain year) becomes its four-digit year; a
 * two-digit year is read as the latest year it can be that is not in the future (in
 * 2026, "35" is 1935 and "20" is 2020). Writes the year and a NUL into out (cap >= 5),
 * *out_len = 4. Returns
 * PHI_EPARSE when no year can be found: the caller must then withhold the value. */
int phi_deid_date(const uint8_t *p, size_t len, char *out, size_t cap, size_t *out_len);

/* An age: 0..89 is copied as its number; 90 or more becomes "90+". Accepts
 * "92", "92 years", "92y", "92 yo". PHI_EPARSE otherwise (withhold it). cap >= 4. */
int phi_deid_age(const uint8_t *p, size_t len, char *out, size_t cap, size_t *out_len);

/* A ZIP (5 digits, or ZIP+4) becomes its first three digits, or "000" for a
 * restricted prefix. pol may be NULL (the default 17 prefixes). cap >= 4.
 * PHI_EPARSE for anything else (withhold it). */
int phi_deid_zip(const phi_zip_policy *pol, const uint8_t *p, size_t len, char *out, size_t cap,
                 size_t *out_len);

/* De-identify one field value by the PHI kind the schema declares ("text",
 * "date", "age", "zip", or a type name such as "name", "ssn", "phone", ...):
 * text is redacted with tags, date/age/zip as above, any other kind becomes
 * its "[TYPE]" tag. A value that cannot be parsed is withheld ("[DATE]",
 * "[AGE]", "[ZIP]"), never passed through. Result malloc'ed, owned by the
 * caller (free()), NUL-terminated. PHI_EINVAL for an unknown kind. */
int phi_deid_field(const phi_detector *d, phi_scratch *s, const char *kind, const uint8_t *p,
                   size_t len, const phi_zip_policy *pol, uint8_t **out, size_t *out_len);

#endif
