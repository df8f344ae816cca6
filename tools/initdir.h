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

/* Program name used in messages ("phidb init" by default). */
extern const char *initdir_prog;
/* Create path (O_EXCL) with mode and write n bytes, fsynced. 0, or -1 (message printed). */
int initdir_write_file(const char *path, const void *p, size_t n, mode_t mode);
/* DIR/tls/: ca.crt, server.crt/.key (localhost, 127.0.0.1, ::1), client.crt/.key (CN=admin).
 * 0, or -1 (message printed). */
int initdir_make_tls(const char *dir);
/* Lowercase hex of n bytes into out (2n + 1). */
void initdir_hex(const uint8_t *p, size_t n, char *out);
/* chars random letters and digits (no modulo bias) into out (chars + 1). */
void initdir_random_password(char *out, size_t chars);
/* mkdir 0700 (an existing directory is fine). 0, or -1 (message printed). */
int initdir_mkdir(const char *path);

#endif
