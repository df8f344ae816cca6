/*
 * phidb: the admin command line. Each subcommand lives in its own tools/<name>.c
 * and exports <name>_cli_main(argc, argv) with argv[0] being the subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"
#include "util/secmem.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: phidb <command> [args]   (phidb <command> --help: its own usage)\n"
                 "commands:\n"
                 "  init DIR [--port N]   create a ready-to-run data directory\n"
                 "  keyring status|rewrap DIR ...  show the keyring; re-wrap the data keys\n"
                 "                        under a new master key (server stopped)\n"
                 "  check-log DIR [--repair]\n"
                 "                        check (or repair) the durable log\n"
                 "  phi scan|redact ...   detect or redact PHI in free text (the evaluator is\n"
                 "                        the separate program phi-eval)\n"
                 "  backup DIR [--to PATH] [--passphrase-file F] [--no-verify]\n"
                 "                        encrypted, signed, verified backup (online through\n"
                 "                        PHI.BACKUP when the server runs)\n"
                 "  backup verify PATH [--from DIR | --master-key-file F] [--passphrase-file F]\n"
                 "                        check a backup without restoring it\n"
                 "  restore PATH --to DIR [--from SRC | --master-key-file F]\n"
                 "          [--passphrase-file F] [--port N]\n"
                 "                        restore into a new, empty instance directory\n"
                 "  restore --drill PATH [--from SRC | --master-key-file F]\n"
                 "          [--passphrase-file F] [--sample N]\n"
                 "                        restore into a temporary directory, start a server on\n"
                 "                        it, compare with the backup, clean up\n"
                 "  user mfa DIR NAME [--issuer NAME] [--no-qr] [--no-confirm]\n"
                 "  user mfa DIR NAME --check CODE | --remove\n"
                 "                        enroll a user in TOTP, check a code, or remove it\n"
                 "                        (server stopped)\n"
                 "  audit verify|report|accounting|tail|export|prune DIR ...\n"
                 "                        check and read the audit trail (phidb audit for help)\n"
                 "  breach-report DIR --incident ID --start T --end T [--user U] [--key PATTERN]\n"
                 "          [--discovered T] [--policy FILE] [--states FILE] [--format text|json]\n"
                 "                        who and what an incident exposed, deadlines\n");
}

int main(int argc, char **argv)
{
    /* Before OpenSSL allocates anything: expanded keys go to its secure heap (util/secmem),
     * locked when RLIMIT_MEMLOCK allows, kept out of core dumps and wiped either way. */
    secmem_init(1u << 20);
    secmem_warm_up();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "init") == 0) return init_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "keyring") == 0) return keyring_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "phi") == 0) return phi_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "check-log") == 0) return checklog_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "backup") == 0) return backup_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "restore") == 0) return restore_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "user") == 0) return user_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "audit") == 0) return audit_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "breach-report") == 0) return breach_cli_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "phidb: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
