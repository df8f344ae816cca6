/*
 * restore: what backup_cli.c, restore_cli.c and drill.c share.
 */
#ifndef RESTORE_H
#define RESTORE_H

#include <stddef.h>

#include "config.h"
#include "store/backup.h"

/* Print a backup's description (counts, parts, signer, audit head; never contents). */
void restore_print_info(const char *path, const backup_info *i);
/* Keys from the command line: --from DIR (its config's master key), --master-key-file F,
 * --passphrase-file F (or PHIDB_BACKUP_PASSPHRASE). pp (pplen) holds the passphrase; *cfg
 * the loaded config (caller frees; NULL without --from). Returns 0 or -1 (printed). */
int restore_keys_from_args(const char *prog, const char *from, const char *mkf, const char *ppfile,
                           backup_keys *k, config **cfg, char *pp, size_t pplen);
/* Add the file at path (if it exists) as part name. 0 or -1 with err. */
int restore_add_file_part(backup_writer *w, const char *name, const char *path, char *err,
                          size_t errlen);
/* The instance's backup directory (backup-dir). */
const char *restore_backup_dir(const config *c);
/* The instance's policy file (policy-file), or NULL when none. */
const char *restore_policy_file(const config *c);

/* Restore path into an instance directory dir (empty or absent): data, fresh TLS
 * certificates, phidb.conf on port. keys opens the backup; master_key_file (absolute) is
 * what the restored config names for a master-key backup (a passphrase copy gets a new
 * dir/master.key). tap/ud see every frame. Returns 0 (info filled) or -1 (printed). */
int restore_instance(const char *prog, const char *path, const backup_keys *keys,
                     const char *master_key_file, const char *dir, int port, backup_frame_fn *tap,
                     void *ud, backup_info *info);

#endif
