/*
 * tools: entry points of the phidb subcommands. Each takes the subcommand's
 * argv (argv[0] is the subcommand name) and returns the process exit status:
 * 0 success, 1 failure of the operation, 2 bad usage.
 */
#ifndef TOOLS_H
#define TOOLS_H

/* phidb init DIR [--port N] (tools/init.c) */
int init_cli_main(int argc, char **argv);
/* phidb keyring status|rewrap DIR ... (tools/keyring_cli.c) */
int keyring_cli_main(int argc, char **argv);
/* phidb phi scan|redact ... (tools/phi_cli.c) */
int phi_cli_main(int argc, char **argv);
/* phidb check-log DIR [--repair] (tools/checklog.c) */
int checklog_cli_main(int argc, char **argv);
/* phidb user mfa DIR NAME [...] (tools/user_cli.c) */
int user_cli_main(int argc, char **argv);

/* phidb backup DIR [--to PATH] ... | backup verify PATH ... (tools/backup_cli.c) */
int backup_cli_main(int argc, char **argv);
/* phidb restore PATH --to DIR ... (tools/restore_cli.c) */
int restore_cli_main(int argc, char **argv);
/* phidb restore --drill PATH ... (tools/drill.c) */
int drill_cli_main(int argc, char **argv);
/* phidb audit verify|report|accounting|tail|export|prune DIR ... (tools/audit_cli.c) */
int audit_cli_main(int argc, char **argv);
/* phidb breach-report DIR --incident ID --start T --end T ... (tools/breach.c) */
int breach_cli_main(int argc, char **argv);

#endif
