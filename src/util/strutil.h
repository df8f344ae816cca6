/*
 * strutil: number parsing and formatting with Redis's exact rules (so replies
 * and errors match what clients expect), glob matching, and clocks.
 *
 * Parsing is strict: "01", "+1", " 1", "1 " and "-0" are not integers, as in
 * Redis; this matters because the same rule decides whether INCR works on a
 * stored value.
 */
#ifndef STRUTIL_H
#define STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Longest text a long double may be given as (Redis uses the same bound). */
#define STRUTIL_MAX_LD_CHARS 5120

/* Parse a signed 64-bit integer; returns 0 and sets *out, or -1. */
int str_to_ll(const uint8_t *p, size_t n, long long *out);
/* Parse an unsigned 64-bit integer (no sign allowed); returns 0 or -1. */
int str_to_ull(const uint8_t *p, size_t n, unsigned long long *out);
/* Parse a long double as INCRBYFLOAT does (no spaces, no nan); returns 0 or -1. */
int str_to_ld(const uint8_t *p, size_t n, long double *out);
/* Parse a double (for timeouts, scores); no spaces, no nan; returns 0 or -1. */
int str_to_d(const uint8_t *p, size_t n, double *out);
/* Format v in decimal into out (at least 21 bytes); returns the length. */
size_t str_from_ll(char *out, long long v);
/* Format v as Redis's "human" long double (17 digits, trailing zeros cut); returns length. */
size_t str_from_ld(char *out, size_t cap, long double v);
/* Format a double as Redis's RESP3 double / %.17g; returns length. */
size_t str_from_d(char *out, size_t cap, double v);
/* Glob match (Redis rules: * ? [set] [^set] [a-z] \x); nocase folds ASCII. 1 on match.
 * Time: at most about plen x slen steps (a pattern such as "*aaa...ab*" against a long run
 * of a's reaches it: 2.4 s for a 40 KB pattern and an 80 KB name). */
int str_glob(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, int nocase);
/* The same within a budget of steps shared by the calls of one command: *budget falls by
 * the steps taken; -1 (no answer) once it is spent. For patterns from clients. */
int str_glob_budget(const uint8_t *pat, size_t plen, const uint8_t *s, size_t slen, int nocase,
                    unsigned long long *budget);
/* Steps a client's command may spend matching its MATCH pattern (about 0.1-0.3 s). */
#define STR_GLOB_BUDGET 100000000ULL
/* Decode the UTF-8 sequence at s (n > 0 bytes left): its length, and the code point in *cp;
 * 0 when the bytes are not valid UTF-8 (overlong forms and surrogates included). ASCII
 * bytes are sequences of length 1. */
size_t str_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* ASCII case-insensitive compare of (p, n) with the C string s; 1 when equal. */
int str_eq_nocase(const uint8_t *p, size_t n, const char *s);
/* The value of a lower-case hex digit, or -1. */
int str_hexval(char c);
/* Decode 2 * n lower-case hex digits at s into n bytes at out. Returns 0, or -1 at a
 * character that is not one (out then holds a part). */
int str_unhex(const char *s, size_t n, uint8_t *out);
/* Wall clock in milliseconds and microseconds since the epoch. */
long long clock_ms(void);
long long clock_us(void);
/* Monotonic clock in milliseconds and microseconds. */
long long clock_mono_ms(void);
long long clock_mono_us(void);

#endif
