/*
 * args: split a configuration or ACL file line into arguments, with the quoting
 * rules of redis.conf ("..." with \n \r \t \b \a \\ \" \xHH escapes, '...' with
 * \'), so phidb.conf and the ACL file read like Redis's.
 */
#ifndef ARGS_H
#define ARGS_H

#include <stddef.h>

typedef struct {
    char **v;    /* arguments, each NUL-terminated (may contain NULs: use len) */
    size_t *len; /* their lengths */
    int n;       /* count */
} args;

/* Split line[0..n). Returns 0 (a->n may be 0 for blank lines and comments) or -1 on
 * unbalanced quotes. Free with args_free. */
int args_split(const char *line, size_t n, args *a);
/* Free the arguments (wiping them: ACL lines may hold passwords). */
void args_free(args *a);

#endif
