/*
 * log: the server log (stderr or a file). Messages are operational only: they
 * never contain stored values, key names or passwords, so callers pass
 * counts, user names, addresses and reasons, never request arguments.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

/* Set the minimum level written. */
void log_set_level(enum log_level level);
/* Send the log to path (appending); NULL or "" means stderr. Returns 0 or -1. */
int log_set_file(const char *path);
/* Parse a level name (debug verbose notice warning); returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *out);
/* Write one line at level. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)

#endif
