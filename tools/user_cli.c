/*
 * user_cli: `phidb user mfa ...`, offline enrollment of a user in TOTP.
 *
 *   phidb user mfa DIR NAME [--issuer NAME] [--no-qr] [--no-confirm]
 *   phidb user mfa DIR NAME --remove
 *   phidb user mfa DIR NAME --check CODE
 *
 * DIR is a directory made by `phidb init`. The command takes the data directory
 * lock (so it refuses to run next to a live server, whose in-memory ACL would
 * otherwise overwrite the file), generates a 160-bit secret, seals it with the
 * values key for that user (policy_totp.h) and stores it in the ACL file as
 * `mfa=totp totp-secret=<sealed>`, written atomically. It prints the otpauth://
 * URI and a QR code for an authenticator app; that is the only time the secret
 * is shown. On a terminal it then asks for a code from the app and saves only
 * when the code is right, so a mistyped scan cannot lock the user out.
 * --remove sets mfa=none (which also forgets the secret). --check tells whether a
 * code from the user's app is accepted now (for a helpdesk; nothing is changed,
 * and the server's replay protection is not involved).
 *
 * The user must exist in the ACL file already (ACL SETUSER + ACL SAVE, or the
 * file written by init).
 */
#include <errno.h>
#include <fcntl.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "access/acl.h"
#include "access/policy_totp.h"
#include "cmd/cmd.h"
#include "config.h"
#include "store/keyring.h"
#include "store/seal.h"
#include "tools.h"
#include "util/mem.h"
#include "toolutil.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: phidb user mfa DIR NAME [--issuer NAME] [--no-qr] [--no-confirm]\n"
                 "       phidb user mfa DIR NAME --remove\n"
                 "       phidb user mfa DIR NAME --check CODE\n");
}

/* Options of one run. */
typedef struct {
    const char *dir;    /* data directory (made by init) */
    const char *name;   /* user */
    const char *issuer; /* shown by the authenticator app */
    int qr;             /* print the QR code */
    int confirm;        /* ask for a code before saving (on a terminal) */
    int remove;         /* --remove */
    const char *check;  /* --check CODE */
} mfa_opts;

/* A line from the terminal (echo off for secrets); NULL without a terminal. */
static char *ask_tty(const char *prompt, int echo, char *line, size_t cap)
{
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0) return NULL;
    struct termios old, raw;
    tcgetattr(tty, &old);
    raw = old;
    if (!echo) raw.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(tty, TCSAFLUSH, &raw);
    ssize_t w = write(tty, prompt, strlen(prompt));
    ssize_t n = read(tty, line, cap - 1);
    tcsetattr(tty, TCSAFLUSH, &old);
    if (!echo) w = write(tty, "\n", 1);
    (void)w;
    close(tty);
    if (n <= 0) return NULL;
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* The ACL catalog from the command table (as the server builds it), so the ACL file's
 * command rules parse. */
static acl_cmd *build_catalog(size_t *count)
{
    size_t n;
    const cmd_def *t = cmd_table(&n);
    size_t total = n;
    for (size_t i = 0; i < n; i++)
        total += (size_t)t[i].nsubs;
    acl_cmd *cat = mem_calloc(sizeof(acl_cmd) * total);
    size_t id = 0;
    for (size_t i = 0; i < n; i++, id++) {
        cat[id].name = t[i].name;
        cat[id].parent = -1;
        cat[id].categories = t[i].categories;
        cat[id].by_name_only = (t[i].flags & CMD_DANGER) != 0;
    }
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < t[i].nsubs; j++, id++) {
            char *full = mem_alloc(strlen(t[i].name) + strlen(t[i].subs[j].name) + 2);
            sprintf(full, "%s|%s", t[i].name, t[i].subs[j].name);
            cat[id].name = full;
            cat[id].parent = (int)i;
            cat[id].categories = t[i].subs[j].categories;
            cat[id].by_name_only = (t[i].subs[j].flags & CMD_DANGER) != 0;
        }
    }
    *count = id;
    return cat;
}

static void free_catalog(acl_cmd *cat, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cat[i].parent >= 0) mem_free((char *)cat[i].name);
    mem_free(cat);
}

/* Print the QR code of text with half blocks, black on white (ANSI), quiet zone of 2. */
static int print_qr(const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr) return -1;
    int w = qr->width, q = 2;
#define DARK(x, y) ((x) >= 0 && (y) >= 0 && (x) < w && (y) < w && (qr->data[(y)*w + (x)] & 1))
    for (int y = -q; y < w + q; y += 2) {
        fputs("\033[47;30m", stdout);
        for (int x = -q; x < w + q; x++) {
            int top = DARK(x, y), bottom = DARK(x, y + 1);
            fputs(top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ", stdout);
        }
        fputs("\033[0m\n", stdout);
    }
#undef DARK
    QRcode_free(qr);
    return 0;
}

/* Apply rules to user name in a and save the ACL file. */
static int apply_and_save(acl *a, const config *c, const char *name, const char *const *rules,
                          int n)
{
    const uint8_t *r[4];
    size_t l[4];
    for (int i = 0; i < n; i++) {
        r[i] = (const uint8_t *)rules[i];
        l[i] = strlen(rules[i]);
    }
    acl_op *op;
    char err[512];
    if (acl_op_parse(a, (const uint8_t *)name, strlen(name), r, l, n, &op, err, sizeof err) != 0 ||
        acl_op_apply(a, op, err, sizeof err) != 0) {
        fprintf(stderr, "phidb user: %s\n", err);
        return -1;
    }
    acl_op_free(op);
    if (acl_save_file(a, c->aclfile, err, sizeof err) != 0) {
        fprintf(stderr, "phidb user: %s (nothing was changed)\n", err);
        return -1;
    }
    return 0;
}

static keyring *open_keyring(const config *c)
{
    keyring_kek_source src = {0};
    char pass[1024], path[4200], err[1024];
    if (c->master_key_command && *c->master_key_command) {
        src.command = c->master_key_command;
    } else if (c->master_key_passphrase) {
        const char *p = getenv("PHIDB_PASSPHRASE");
        src.passphrase = p && *p ? p : ask_tty("master key passphrase: ", 0, pass, sizeof pass);
        if (!src.passphrase) {
            fprintf(stderr, "phidb user: no passphrase given\n");
            return NULL;
        }
    } else {
        src.key_file = c->master_key_file;
    }
    char logpath[4200];
    snprintf(path, sizeof path, "%s/keyring", c->dir);
    snprintf(logpath, sizeof logpath, "%s/phidb.log", c->dir);
    /* As the server does: a fresh data directory (never started) gets its keyring now; a
     * missing keyring next to existing data is an error, never quietly replaced. */
    int create = access(path, F_OK) != 0 && access(logpath, F_OK) != 0;
    keyring *k = keyring_open(path, &src, create, err, sizeof err);
    OPENSSL_cleanse(pass, sizeof pass);
    if (!k) fprintf(stderr, "phidb user: %s\n", err);
    return k;
}

static int enroll(acl *a, const config *c, const mfa_opts *o, sealer *s)
{
    uint8_t secret[POLICY_TOTP_SECRET_LEN];
    buf sealed = {0}, uri = {0}, rule = {0};
    int rc = 1;
    if (policy_totp_secret_new(secret, sizeof secret) != 0 ||
        policy_totp_seal(s, o->name, secret, sizeof secret, &sealed) != 0) {
        fprintf(stderr, "phidb user: cannot make or seal a secret\n");
        goto wipe;
    }
    policy_totp_uri(o->issuer, o->name, secret, sizeof secret, &uri);
    char b32[64];
    policy_base32_encode(secret, sizeof secret, b32, sizeof b32);
    printf("TOTP enrollment of user %s (issuer %s).\n"
           "Scan the QR code with an authenticator app, or enter the key by hand.\n"
           "This is the only time the key is shown.\n\n",
           o->name, o->issuer);
    if (o->qr && print_qr(buf_cstr(&uri)) != 0)
        fprintf(stderr, "phidb user: no QR code (too long?)\n");
    printf("\n%s\nkey: %s (SHA1, 6 digits, 30 s)\n\n", buf_cstr(&uri), b32);
    fflush(stdout);
    OPENSSL_cleanse(b32, sizeof b32);
    if (o->confirm && isatty(STDIN_FILENO)) {
        int ok = 0;
        long long last = 0;
        for (int tries = 0; tries < 3 && !ok; tries++) {
            char line[64];
            if (!ask_tty("code from the app: ", 1, line, sizeof line)) break;
            ok = policy_totp_verify(secret, sizeof secret, (const uint8_t *)line, strlen(line),
                                    (long long)time(NULL), &last) == POLICY_TOTP_OK;
            if (!ok) fprintf(stderr, "that code is not right; try again\n");
        }
        if (!ok) {
            fprintf(stderr, "phidb user: not confirmed; nothing was changed\n");
            goto wipe;
        }
    }
    buf_printf(&rule, "totp-secret=%s", buf_cstr(&sealed));
    const char *rules[] = {"mfa=totp", buf_cstr(&rule)};
    if (apply_and_save(a, c, o->name, rules, 2) != 0) goto wipe;
    printf("User %s now needs a TOTP code after the password (PHI.MFA <code>).\n", o->name);
    rc = 0;
wipe:
    OPENSSL_cleanse(secret, sizeof secret);
    buf_wipe_free(&uri);
    buf_wipe_free(&sealed);
    buf_wipe_free(&rule);
    return rc;
}

static int check_code(acl *a, const mfa_opts *o, sealer *s)
{
    acl_user *u = acl_find(a, (const uint8_t *)o->name, strlen(o->name));
    if (acl_user_mfa(u) != ACL_MFA_TOTP || !acl_user_totp_secret(u)) {
        fprintf(stderr, "phidb user: %s is not enrolled in TOTP\n", o->name);
        return 1;
    }
    uint8_t secret[POLICY_TOTP_SECRET_MAX];
    size_t n = 0;
    long long last = -1;
    int rc = 1;
    if (policy_totp_unseal(s, o->name, acl_user_totp_secret(u), secret, sizeof secret, &n) != 0)
        fprintf(stderr,
                "phidb user: the stored secret of %s does not open (altered, or another "
                "master key)\n",
                o->name);
    else if (policy_totp_verify(secret, n, (const uint8_t *)o->check, strlen(o->check),
                                (long long)time(NULL), &last) == POLICY_TOTP_OK) {
        printf("code accepted\n");
        rc = 0;
    } else {
        printf("code not accepted (check the clock of the device)\n");
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

static int parse_args(int argc, char **argv, mfa_opts *o)
{
    memset(o, 0, sizeof *o);
    o->issuer = NULL; /* --issuer, else the mfa-issuer directive */
    o->qr = 1;
    o->confirm = 1;
    if (argc < 4 || strcmp(argv[1], "mfa") != 0) return -1;
    o->dir = argv[2];
    o->name = argv[3];
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--issuer") == 0 && i + 1 < argc && *argv[i + 1])
            o->issuer = argv[++i];
        else if (strcmp(argv[i], "--no-qr") == 0)
            o->qr = 0;
        else if (strcmp(argv[i], "--no-confirm") == 0)
            o->confirm = 0;
        else if (strcmp(argv[i], "--remove") == 0)
            o->remove = 1;
        else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
            o->check = argv[++i];
        else
            return -1;
    }
    return 0;
}

int user_cli_main(int argc, char **argv)
{
    mfa_opts o;
    if (tool_asks_help(argc, argv, 1)) {
        usage(stdout);
        return 0;
    }
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    char path[4096], err[1024];
    snprintf(path, sizeof path, "%s/phidb.conf", o.dir);
    config *c = config_new();
    if (config_load(c, path, 0, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "phidb user: %s\n", err);
        config_free(c);
        return 1;
    }
    if (!o.issuer) o.issuer = c->mfa_issuer && *c->mfa_issuer ? c->mfa_issuer : "phidb";
    int rc = 1, lock = tool_lock_dir_offline("phidb user", c->dir);
    if (lock < 0) goto free_conf;
    /* The values key opens the users' subjects and TOTP secrets in the file, and seals
     * them when it is written again. */
    keyring *k = open_keyring(c);
    if (!k) goto unlock;
    sealer *s = seal_new(k, KR_VALUES);
    size_t ncat;
    acl_cmd *cat = build_catalog(&ncat);
    acl_opts ao;
    acl_opts_default(&ao);
    acl *a = acl_new(&ao, cat, ncat);
    acl_set_sealer(a, s);
    if (acl_load_file(a, c->aclfile, err, sizeof err) != 0) {
        fprintf(stderr, "phidb user: %s\n", err);
        goto free_acl;
    }
    /* Seal above every nonce the users file holds, whatever the keyring file says. */
    if (seal_nonces_commit(s, err, sizeof err))
        fprintf(stderr,
                "phidb user: nonce counters raised above nonces found in the users "
                "file (%s): the keyring file is older than it\n",
                err);
    if (!acl_find(a, (const uint8_t *)o.name, strlen(o.name))) {
        fprintf(stderr,
                "phidb user: no user '%s' in %s (create it with ACL SETUSER and ACL SAVE "
                "first)\n",
                o.name, c->aclfile);
        goto free_acl;
    }
    if (o.check) {
        rc = check_code(a, &o, s);
    } else if (o.remove) {
        const char *rules[] = {"mfa=none"};
        if (apply_and_save(a, c, o.name, rules, 1) == 0) {
            printf("User %s no longer needs a TOTP code; the secret was removed.\n", o.name);
            rc = 0;
        }
    } else {
        rc = enroll(a, c, &o, s);
    }
free_acl:
    acl_free(a);
    free_catalog(cat, ncat);
    seal_free(s);
    keyring_close(k);
unlock:
    close(lock);
free_conf:
    config_free(c);
    return rc;
}
