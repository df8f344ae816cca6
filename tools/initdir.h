/*
 * initdir: the pieces of a ready-to-run instance directory that `phidb init` and
 * `phidb restore` both make: files created with O_EXCL (never overwritten), the private
 * CA with server and client certificates, random passwords.
 */
#ifndef INITDIR_H
#define INITDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INITDIR_UNDO_MAX 16

/* What a run created, so that a failed run can remove exactly that (never a file or
 * directory that was there before). Zero-initialise; the paths are owned by it. */
typedef struct {
    char *path[INITDIR_UNDO_MAX]; /* created, oldest first */
    int is_dir[INITDIR_UNDO_MAX]; /* 1 for a directory */
    int n;                        /* count */
} initdir_undo;

/* Program name used in messages ("phidb init" by default). */
extern const char *initdir_prog;
/* Create path (O_EXCL) with mode and write n bytes, fsynced; recorded in u (when not NULL)
 * as soon as it exists. 0, or -1 (message printed). */
int initdir_write_file(initdir_undo *u, const char *path, const void *p, size_t n, mode_t mode);
/* DIR/tls/: ca.crt, server.crt/.key (localhost, 127.0.0.1, ::1), client.crt/.key (CN=admin),
 * each recorded in u (when not NULL). 0, or -1 (message printed). */
int initdir_make_tls(initdir_undo *u, const char *dir);
/* Lowercase hex of n bytes into out (2n + 1). */
void initdir_hex(const uint8_t *p, size_t n, char *out);
/* chars random letters and digits (no modulo bias) into out (chars + 1). */
void initdir_random_password(char *out, size_t chars);
/* mkdir 0700 (an existing directory is fine); recorded in u (when not NULL) only when this
 * call made it. 0, or -1 (message printed). */
int initdir_mkdir(initdir_undo *u, const char *path);
/* Remove everything u recorded, newest first (a directory only if empty by then), and
 * forget it. */
void initdir_undo_run(initdir_undo *u);
/* Forget what u recorded, keeping the files (the run succeeded). */
void initdir_undo_forget(initdir_undo *u);

#endif
