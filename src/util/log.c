/* log: timestamped lines in the style of redis-server's log (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_NOTICE;
static FILE *out;

void log_set_level(enum log_level level)
{
    min_level = level;
}

int log_set_file(const char *path)
{
    if (out && out != stderr) fclose(out);
    out = NULL;
    if (!path || !*path) return 0;
    out = fopen(path, "a");
    return out ? 0 : -1;
}

int log_level_parse(const char *name, enum log_level *level)
{
    static const char *names[] = {"debug", "verbose", "notice", "warning"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *level = (enum log_level)i;
            return 0;
        }
    return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level) return;
    FILE *f = out ? out : stderr;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%d %b %Y %H:%M:%S", &tm);
    const char mark[] = {'.', '-', '*', '#'};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(f, "%d:M %s.%03d %c %s\n", (int)getpid(), ts, (int)(tv.tv_usec / 1000), mark[level],
            line);
    fflush(f);
}
