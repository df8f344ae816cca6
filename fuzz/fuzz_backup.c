/*
 * Fuzz target for the backup reader: the input is written as a backup file, then
 *   1. verified (backup_verify) with the fixture master key;
 *   2. when it verifies, restored (backup_restore) into an empty directory, which must
 *      succeed and leave a keyring and a log; when it does not verify, a restore must
 *      fail too and leave nothing behind.
 * Beyond "no crash, no leak, no read out of bounds": verify and restore agree, and a
 * refused restore writes nothing.
 *
 * The backups of the seed corpus (fuzz/corpus/backup/) embed keyrings wrapped under the
 * fixture master key of fuzz/aof_fixture.h (TEST MATERIAL ONLY). Passphrase copies are
 * refused without Argon2 work (no passphrase is given), so inputs stay fast.
 *
 * Stream mode: an input starting with STREAM_MAGIC is not a file but a keyspace stream; it
 * is sealed into DATA records of a backup that is otherwise valid (keyring, wrapped file
 * key, a manifest, the hash and the signature), so the frame reassembly, the operation
 * walk, the counting and the value checks see arbitrary bytes (the fuzzer cannot forge
 * AES-GCM records by itself).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "aof_fixture.h"
#include "store/backup.h"
#include "store/backup_int.h"
#include "util/mem.h"

#define STREAM_MAGIC 0xB5

static char root[64];   /* temp directory */
static char keyf[96];   /* the master key file */
static char input[96];  /* the input as a file */
static char target[96]; /* restore target */
static keyring *fk;     /* stream mode: the keyring the built backups embed */

static void put(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) abort();
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) abort();
        b += w;
        n -= (size_t)w;
    }
    close(fd);
}

static void clear_target(void)
{
    static const char *const names[] = {"keyring",   "keyring.tmp", "users.acl", "policy.conf",
                                        "phidb.log", "phidb.lock",  NULL};
    char p[160];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", target, names[i]);
        unlink(p);
    }
    rmdir(target);
}

static void cleanup(void)
{
    char p[160];
    if (fk) keyring_close(fk);
    snprintf(p, sizeof p, "%s/keyring", root);
    unlink(p);
    snprintf(p, sizeof p, "%s/keyring.tmp", root);
    unlink(p);
    clear_target();
    unlink(input);
    unlink(keyf);
    rmdir(root);
}

static void init(void)
{
    snprintf(root, sizeof root, "/tmp/phidb-fuzz-backup-XXXXXX");
    if (!mkdtemp(root)) abort();
    snprintf(keyf, sizeof keyf, "%s/mk", root);
    snprintf(input, sizeof input, "%s/in.phib", root);
    snprintf(target, sizeof target, "%s/restored", root);
    put(keyf, aof_fixture_master_key, strlen(aof_fixture_master_key));
    atexit(cleanup);
    char krp[160], err[512];
    snprintf(krp, sizeof krp, "%s/keyring", root);
    keyring_kek_source src = {keyf, NULL, NULL};
    fk = keyring_open(krp, &src, 1, err, sizeof err);
    if (!fk) abort();
}

/* Append (p, n) to f and the hash. */
static void emit(FILE *f, EVP_MD_CTX *h, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n) abort();
    EVP_DigestUpdate(h, p, n);
}

static void record(FILE *f, EVP_MD_CTX *h, EVP_CIPHER_CTX *ctx, const uint8_t id[16], uint64_t seq,
                   uint8_t kind, const uint8_t *p, size_t n)
{
    uint8_t *out = malloc(5 + n + 16);
    bk_put32(out, (uint32_t)(n + 16));
    out[4] = kind;
    if (bk_record_crypt(ctx, 1, id, seq, kind, p, n, out + 5, out + 5 + n) != 0) abort();
    emit(f, h, out, 5 + n + 16);
    free(out);
}

/* Build a valid backup around the keyspace stream (in, n) into the input file. */
static void build_stream_backup(const uint8_t *in, size_t n)
{
    uint8_t hdr[BACKUP_HEADER_LEN] = {0}, fkey[32] = {0}, id[16] = {1, 2, 3};
    memcpy(hdr, BK_MAGIC, 8);
    bk_put32(hdr + 8, BACKUP_FORMAT);
    memcpy(hdr + BK_OFF_ID, id, 16);
    uint32_t bv = keyring_current(fk, KR_BACKUP), sv = keyring_current(fk, KR_SIGN);
    bk_put32(hdr + BK_OFF_KEYVER, bv);
    bk_put32(hdr + BK_OFF_SIGNVER, sv);
    if (bk_wrap_key(1, keyring_key(fk, KR_BACKUP, bv), hdr, fkey, hdr + BK_OFF_WRAP) != 0) abort();
    char err[256];
    size_t klen = 0;
    char *kr = keyring_export(fk, NULL, &klen, err, sizeof err);
    if (!kr) abort();
    FILE *f = fopen(input, "wb");
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    EVP_CIPHER_CTX *ctx = bk_record_ctx(fkey);
    uint8_t l4[4];
    bk_put32(l4, (uint32_t)klen);
    emit(f, h, hdr, sizeof hdr);
    emit(f, h, l4, 4);
    emit(f, h, kr, klen);
    mem_free(kr);
    uint64_t seq = 0;
    for (size_t off = 0; off < n; off += 4096) {
        size_t take = n - off < 4096 ? n - off : 4096;
        record(f, h, ctx, id, ++seq, BK_KIND_DATA, in + off, take);
    }
    static const char manifest[] = "{\"format\":1,\"counts\":{},\"parts\":[]}";
    record(f, h, ctx, id, ++seq, BK_KIND_MANIFEST, (const uint8_t *)manifest, sizeof manifest - 1);
    uint8_t tr[BACKUP_TRAILER_LEN] = {0}, hash[32];
    long at = ftell(f);
    EVP_DigestFinal_ex(h, hash, NULL);
    memcpy(tr, BK_SIG_MAGIC, 8);
    bk_put64(tr + 8, (uint64_t)at);
    memcpy(tr + 16, hash, 32);
    if (bk_sign(keyring_key(fk, KR_SIGN, sv), hash, tr + 48, NULL) != 0) abort();
    if (fwrite(tr, 1, sizeof tr, f) != sizeof tr) abort();
    fclose(f);
    EVP_MD_CTX_free(h);
    EVP_CIPHER_CTX_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (!root[0]) init();
    if (size > 0 && in[0] == STREAM_MAGIC)
        build_stream_backup(in + 1, size - 1);
    else
        put(input, in, size);
    backup_keys k = {{keyf, NULL, NULL}, NULL, NULL};
    backup_info info;
    char err[1024];
    int ok = backup_verify(input, &k, &info, err, sizeof err) == 0;
    if (!ok && strlen(err) == 0) abort(); /* a refusal always says why */
    backup_restore_opts o = {.data_dir = target};
    int rok = backup_restore(input, &k, &o, &info, err, sizeof err) == 0;
    if (ok != rok) abort();                         /* verify and restore must agree */
    if (!rok && !backup_dir_empty(target)) abort(); /* a refused restore writes nothing */
    if (rok) {
        char p[160];
        snprintf(p, sizeof p, "%s/keyring", target);
        if (access(p, F_OK) != 0) abort();
        snprintf(p, sizeof p, "%s/phidb.log", target);
        if (access(p, F_OK) != 0) abort();
    }
    clear_target();
    return 0;
}
