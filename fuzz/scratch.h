/*
 * scratch: a file for a fuzz target to write and read, in a directory of its own under
 * /tmp made at the first call and removed (with the file) at exit. One per process.
 */
#ifndef FUZZ_SCRATCH_H
#define FUZZ_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_dir[64], scratch_file[128];

static void scratch_cleanup(void)
{
    unlink(scratch_file);
    rmdir(scratch_dir);
}

/* The path of the scratch file named name (the same on every call); NULL if the
 * directory cannot be made. */
static inline const char *scratch_path(const char *target, const char *name)
{
    if (!scratch_file[0]) {
        snprintf(scratch_dir, sizeof scratch_dir, "/tmp/fuzz-%s-XXXXXX", target);
        if (!mkdtemp(scratch_dir)) return NULL;
        snprintf(scratch_file, sizeof scratch_file, "%s/%s", scratch_dir, name);
        atexit(scratch_cleanup);
    }
    return scratch_file;
}

#endif
