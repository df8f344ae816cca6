/*
 * keyring_cli: `phidb keyring ...`, offline operations on a data directory's keyring.
 *
 *   phidb keyring status DIR
 *   phidb keyring rewrap DIR (--new-key-file PATH | --new-key-command CMD | --new-passphrase)
 *
 * Passphrases never come from the command line (other users can read it in ps):
 * --new-passphrase takes PHIDB_NEW_PASSPHRASE, else asks on /dev/tty without echo; a current
 * passphrase master key comes from PHIDB_PASSPHRASE (as for the server), else the terminal.
 *
 * DIR is a directory made by `phidb init` (its phidb.conf says where the data and the
 * current master key are). rewrap re-wraps every data key under a new master key and
 * touches nothing else (no value, log record or audit segment changes). It needs the data
 * directory lock, so it refuses to run next to a live server (whose in-memory keyring would
 * otherwise write the old wrapping back). Afterwards point phidb.conf at the new key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "store/keyring.h"
#include "tools.h"
#include "toolutil.h"

static void usage_to(FILE *out)
{
    fprintf(out,
            "usage: phidb keyring status DIR\n"
            "       phidb keyring rewrap DIR (--new-key-file PATH | --new-key-command CMD |\n"
            "                                 --new-passphrase)\n"
            "  The server must be stopped for rewrap. Passphrases are never taken as arguments:\n"
            "  --new-passphrase reads the new one from PHIDB_NEW_PASSPHRASE, else asks on the\n"
            "  terminal (no echo); a current master key that is a passphrase (phidb.conf has\n"
            "  master-key-passphrase yes) comes from PHIDB_PASSPHRASE, else the terminal.\n");
}

static void usage(void)
{
    usage_to(stderr);
}

/* Load DIR/phidb.conf. */
static config *load_conf(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/phidb.conf", dir);
    config *c = config_new();
    if (config_load(c, path, 0, NULL, err, errlen) != 0) {
        config_free(c);
        return NULL;
    }
    return c;
}

/* Read a line from the terminal without echo into line (cap bytes): each caller passes a
 * buffer of its own, so that a second question does not overwrite the first answer. */
static char *ask(const char *prompt, char *line, size_t cap)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) return NULL;
    struct termios old, noecho;
    tcgetattr(tty, &old);
    noecho = old;
    noecho.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(tty, TCSAFLUSH, &noecho);
    ssize_t w = write(tty, prompt, strlen(prompt));
    ssize_t n = read(tty, line, cap - 1);
    tcsetattr(tty, TCSAFLUSH, &old);
    w = write(tty, "\n", 1);
    (void)w;
    close(tty);
    if (n <= 0) return NULL;
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* The current master key source, as the server would use it. */
static int current_source(const config *c, keyring_kek_source *src)
{
    memset(src, 0, sizeof *src);
    if (c->master_key_command && *c->master_key_command) {
        src->command = c->master_key_command;
    } else if (c->master_key_passphrase) {
        const char *p = getenv("PHIDB_PASSPHRASE");
        static char line[1024];
        src->passphrase = p && *p ? p : ask("current master key passphrase: ", line, sizeof line);
        if (!src->passphrase) return -1;
    } else {
        src->key_file = c->master_key_file;
    }
    return 0;
}

static keyring *open_existing(const config *c, keyring_kek_source *src)
{
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/keyring", c->dir);
    if (current_source(c, src) != 0) {
        fprintf(stderr, "phidb keyring: no passphrase given\n");
        return NULL;
    }
    keyring *k = keyring_open(path, src, 0, err, sizeof err);
    if (!k) fprintf(stderr, "phidb keyring: %s\n", err);
    return k;
}

static int do_status(const config *c)
{
    keyring_kek_source src;
    keyring *k = open_existing(c, &src);
    if (!k) return 1;
    printf("keyring %s\n", keyring_path(k));
    for (int p = 0; p < KR_NPURPOSES; p++) {
        uint32_t v[64];
        size_t n = keyring_versions(k, p, v, 64);
        printf("  %-7s current v%u, versions:", keyring_purpose_name(p), keyring_current(k, p));
        for (size_t i = 0; i < n && i < 64; i++)
            printf(" v%u%s", v[i], keyring_key(k, p, v[i]) ? "" : " (retired)");
        printf("\n");
    }
    keyring_close(k);
    return 0;
}

static int do_rewrap(const config *c, int argc, char **argv)
{
    keyring_kek_source nsrc = {0};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--new-key-file") == 0 && i + 1 < argc)
            nsrc.key_file = argv[++i];
        else if (strcmp(argv[i], "--new-key-command") == 0 && i + 1 < argc)
            nsrc.command = argv[++i];
        else if (strcmp(argv[i], "--new-passphrase") == 0) {
            static char line[1024], again[1024];
            const char *p = getenv("PHIDB_NEW_PASSPHRASE");
            nsrc.passphrase = p && *p ? p : ask("new master key passphrase: ", line, sizeof line);
            if (!nsrc.passphrase) {
                fprintf(stderr, "phidb keyring: no passphrase given\n");
                return 2;
            }
            if (strlen(nsrc.passphrase) < 12) {
                fprintf(stderr, "phidb keyring: the new passphrase must have at least 12 "
                                "characters\n");
                return 2;
            }
            /* Typed at the terminal: a typo would wrap the keys under a passphrase nobody
             * knows. */
            if (!(p && *p) && (!ask("new master key passphrase again: ", again, sizeof again) ||
                               strcmp(again, line) != 0)) {
                fprintf(stderr, "phidb keyring: the two passphrases differ; nothing changed\n");
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (!nsrc.key_file && !nsrc.command && !nsrc.passphrase) {
        usage();
        return 2;
    }
    if (nsrc.key_file) {
        /* As the server refuses to start on it: the master key lives apart from the data
         * (and out of backups), else the re-wrap would end in a server that does not start
         * and a key next to the keyring it unlocks. */
        char *key = realpath(nsrc.key_file, NULL), *dir = realpath(c->dir, NULL);
        size_t dl = dir ? strlen(dir) : 0;
        int inside = key && dir && strncmp(key, dir, dl) == 0 && (key[dl] == '/' || !key[dl]);
        if (inside)
            fprintf(stderr,
                    "phidb keyring: the new master key file %s is inside the data directory %s; "
                    "keep it apart from the data (nothing was changed)\n",
                    key, dir);
        free(key);
        free(dir);
        if (inside) return 1;
    }
    int lock = tool_lock_dir_offline("phidb keyring", c->dir);
    if (lock < 0) return 1;
    keyring_kek_source src;
    keyring *k = open_existing(c, &src);
    if (!k) return 1;
    char err[1024];
    int rc = keyring_rewrap(k, &nsrc, err, sizeof err);
    keyring_close(k);
    close(lock);
    if (rc != 0) {
        fprintf(stderr, "phidb keyring: %s (nothing was changed)\n", err);
        return 1;
    }
    printf("Re-wrapped every data key of %s/keyring under the new master key.\n"
           "Nothing else changed. Now point phidb.conf at the new key (%s) before the next "
           "start.\n",
           c->dir,
           nsrc.key_file ? "master-key-file" : nsrc.command ? "master-key-command"
                                                            : "master-key-passphrase yes");
    return 0;
}

int keyring_cli_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage_to(stdout);
        return 0;
    }
    if (argc < 3) {
        usage();
        return 2;
    }
    char err[1024];
    config *c = load_conf(argv[2], err, sizeof err);
    if (!c) {
        fprintf(stderr, "phidb keyring: %s\n", err);
        return 1;
    }
    int rc;
    if (strcmp(argv[1], "status") == 0 && argc == 3)
        rc = do_status(c);
    else if (strcmp(argv[1], "rewrap") == 0)
        rc = do_rewrap(c, argc - 3, argv + 3);
    else {
        usage();
        rc = 2;
    }
    config_free(c);
    return rc;
}
