/*
 * keyring_kek: where the master key comes from (see keyring.h): a key file (mode 0600), a
 * command that prints it (a KMS or Vault CLI; it must end within a timeout), or a
 * passphrase stretched with Argon2id. The key text is wiped once parsed.
 */
#include "keyring.h"

#include <argon2.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/strutil.h"

/* Parse 64 hex characters (either case; surrounding whitespace allowed) into a 32-byte key. */
static int parse_key_text(const char *text, size_t len, uint8_t key[KEYRING_KEY_LEN])
{
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    if (len != 2 * KEYRING_KEY_LEN) return -1;
    char tmp[2 * KEYRING_KEY_LEN];
    for (size_t i = 0; i < len; i++)
        tmp[i] = (char)tolower((unsigned char)text[i]);
    int rc = str_unhex(tmp, KEYRING_KEY_LEN, key);
    OPENSSL_cleanse(tmp, sizeof tmp);
    return rc;
}

static int read_key_file(const char *path, uint8_t kek[KEYRING_KEY_LEN], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open master key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "master key file %s is readable or writable by group or others (mode %03o); "
                 "run chmod 600 on it",
                 path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    char text[256];
    ssize_t n = read(fd, text, sizeof text);
    close(fd);
    int rc = n > 0 ? parse_key_text(text, (size_t)n, kek) : -1;
    OPENSSL_cleanse(text, sizeof text);
    if (rc != 0) snprintf(err, errlen, "master key file %s must hold 64 hex characters", path);
    return rc;
}

static int command_timeout_ms = 30000;

void keyring_set_command_timeout_ms(int ms)
{
    command_timeout_ms = ms > 0 ? ms : 30000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run src->command with sh -c in a process group of its own and keep what it prints (the
 * first sizeof text - 1 bytes). It must end within the timeout (default 30 s): a command that
 * hangs (a KMS that does not answer) would otherwise hold start-up, and the data directory's
 * lock, for good. On the deadline the whole group is killed. */
static int run_key_command(const keyring_kek_source *src, uint8_t kek[KEYRING_KEY_LEN], char *err,
                           size_t errlen)
{
    int timeout_ms = command_timeout_ms;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot run master-key-command: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot run master-key-command: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (dup2(fds[1], 1) < 0) _exit(127);
        execl("/bin/sh", "sh", "-c", src->command, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: the child may not have run yet */
    close(fds[1]);
    char text[4096], skip[4096];
    size_t n = 0;
    int timed_out = 0, status = 0;
    long long deadline = mono_ms() + timeout_ms;
    for (;;) { /* until end of file or the deadline */
        long long left = deadline - mono_ms();
        struct pollfd pf = {fds[0], POLLIN, 0};
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        ssize_t got = n < sizeof text ? read(fds[0], text + n, sizeof text - n)
                                      : read(fds[0], skip, sizeof skip);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (n < sizeof text) n += (size_t)got;
    }
    close(fds[0]);
    OPENSSL_cleanse(skip, sizeof skip);
    if (timed_out) kill(-pid, SIGKILL);
    for (;;) { /* ... and until it has exited (it may close its output and go on) */
        pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (!timed_out && mono_ms() >= deadline) {
            timed_out = 1;
            kill(-pid, SIGKILL);
        } else if (!timed_out) {
            usleep(10000);
        }
    }
    if (timed_out) kill(-pid, SIGKILL); /* what it started in its group goes too */
    int rc = -1;
    /* A wait status: say what the operator would see in a shell. */
    if (timed_out)
        snprintf(err, errlen, "master-key-command did not finish within %d s (stopped)",
                 timeout_ms / 1000 ? timeout_ms / 1000 : 1);
    else if (status == -1)
        snprintf(err, errlen, "cannot wait for master-key-command: %s", strerror(errno));
    else if (WIFSIGNALED(status))
        snprintf(err, errlen, "master-key-command was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        snprintf(err, errlen, "master-key-command could not be run (exit status %d: not found?)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    else if (WEXITSTATUS(status) != 0)
        snprintf(err, errlen, "master-key-command exited with status %d", WEXITSTATUS(status));
    else if (parse_key_text(text, n, kek) != 0)
        snprintf(err, errlen, "master-key-command must print 64 hex characters");
    else
        rc = 0;
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

int keyring_kek_load(const keyring_kek_source *src, const uint8_t *salt, size_t saltlen,
                     uint8_t kek[KEYRING_KEY_LEN], char *err, size_t errlen)
{
    if (src->command && *src->command) return run_key_command(src, kek, err, errlen);
    if (src->passphrase && *src->passphrase) {
        if (!salt || saltlen < 16) {
            snprintf(err, errlen, "passphrase keyring without a salt");
            return -1;
        }
        int rc = argon2id_hash_raw(3, 65536, 1, src->passphrase, strlen(src->passphrase), salt,
                                   saltlen, kek, KEYRING_KEY_LEN);
        if (rc != ARGON2_OK) {
            snprintf(err, errlen, "passphrase stretching failed: %s", argon2_error_message(rc));
            return -1;
        }
        return 0;
    }
    if (src->key_file && *src->key_file) return read_key_file(src->key_file, kek, err, errlen);
    snprintf(err, errlen,
             "no master key: set master-key-file, master-key-command or "
             "PHIDB_PASSPHRASE");
    return -1;
}
