/*
 * initdir: instance directory helpers shared by init and restore (see initdir.h).
 * Moved out of init.c unchanged.
 */
#include "initdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

const char *initdir_prog = "phidb init";

static void undo_add(initdir_undo *u, const char *path, int is_dir)
{
    if (!u) return;
    if (u->n == INITDIR_UNDO_MAX) abort(); /* a programming error: raise the limit */
    u->path[u->n] = strdup(path);
    if (!u->path[u->n]) abort();
    u->is_dir[u->n++] = is_dir;
}

void initdir_undo_run(initdir_undo *u)
{
    while (u->n > 0) {
        u->n--;
        if (u->is_dir[u->n])
            rmdir(u->path[u->n]); /* fails, and keeps it, if something else is in it */
        else
            unlink(u->path[u->n]);
        free(u->path[u->n]);
    }
}

void initdir_undo_forget(initdir_undo *u)
{
    while (u->n > 0)
        free(u->path[--u->n]);
}

int initdir_write_file(initdir_undo *u, const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", initdir_prog, path, strerror(errno));
        return -1;
    }
    undo_add(u, path, 0);
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "%s: cannot write %s: %s\n", initdir_prog, path, strerror(errno));
            close(fd);
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", initdir_prog, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_pem_key(initdir_undo *u, const char *path, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = -1;
    if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        rc = initdir_write_file(u, path, data, (size_t)n, 0600);
    }
    BIO_free(b);
    return rc;
}

static int write_pem_cert(initdir_undo *u, const char *path, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc = -1;
    if (b && PEM_write_bio_X509(b, x)) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        rc = initdir_write_file(u, path, data, (size_t)n, 0644);
    }
    BIO_free(b);
    return rc;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) return -1;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* Make a certificate for key signed by (issuer, issuer_key); issuer NULL means self-signed. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int days,
                       int is_ca, const char *eku, const char *san)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_set_version(x, 2);
    uint8_t serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"phidb", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    int bad = 0;
    if (is_ca) {
        bad |= add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        bad |= add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        bad |= add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE");
        bad |= add_ext(x, iss, NID_key_usage, "critical,digitalSignature,keyAgreement");
        bad |= add_ext(x, iss, NID_ext_key_usage, eku);
    }
    bad |= add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer) bad |= add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    if (san) bad |= add_ext(x, iss, NID_subject_alt_name, san);
    if (bad || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int initdir_make_tls(initdir_undo *u, const char *dir)
{
    char path[4096];
    int rc = -1;
    EVP_PKEY *cak = EVP_EC_gen("P-256");
    EVP_PKEY *sk = EVP_EC_gen("P-256");
    EVP_PKEY *ck = EVP_EC_gen("P-256");
    X509 *ca = NULL, *srv = NULL, *cli = NULL;
    int made = 0; /* keys and certificates exist: a failure after it is path's (said) */
    if (!cak || !sk || !ck) goto done;
    ca = make_cert(cak, "phidb private CA", NULL, NULL, 3650, 1, NULL, NULL);
    srv = make_cert(sk, "localhost", ca, cak, 825, 0, "serverAuth",
                    "DNS:localhost,IP:127.0.0.1,IP:::1");
    cli = make_cert(ck, "admin", ca, cak, 825, 0, "clientAuth", NULL);
    if (!ca || !srv || !cli) goto done;
    made = 1;
    snprintf(path, sizeof path, "%s/tls/ca.crt", dir);
    if (write_pem_cert(u, path, ca)) goto done;
    snprintf(path, sizeof path, "%s/tls/server.crt", dir);
    if (write_pem_cert(u, path, srv)) goto done;
    snprintf(path, sizeof path, "%s/tls/server.key", dir);
    if (write_pem_key(u, path, sk)) goto done;
    snprintf(path, sizeof path, "%s/tls/client.crt", dir);
    if (write_pem_cert(u, path, cli)) goto done;
    snprintf(path, sizeof path, "%s/tls/client.key", dir);
    if (write_pem_key(u, path, ck)) goto done;
    rc = 0;
done:
    if (rc != 0) {
        /* A file that could not be written has said which and why (initdir_write_file);
         * this names the step. OpenSSL's own failures carry its reason, when it gave one. */
        unsigned long e = made ? 0 : ERR_get_error();
        char reason[256] = "OpenSSL could not generate the keys or sign the certificates";
        if (e) ERR_error_string_n(e, reason, sizeof reason);
        if (made)
            fprintf(stderr, "%s: cannot create TLS certificates: %s could not be written\n",
                    initdir_prog, path);
        else
            fprintf(stderr, "%s: cannot create TLS certificates: %s\n", initdir_prog, reason);
    }
    X509_free(ca);
    X509_free(srv);
    X509_free(cli);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(ck);
    return rc;
}

void initdir_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

void initdir_random_password(char *out, size_t chars)
{
    /* Letters and digits only, so it pastes into any shell or client. */
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    size_t m = sizeof alphabet - 1;
    size_t i = 0;
    while (i < chars) {
        uint8_t b;
        RAND_bytes(&b, 1);
        if (b >= 256 - (256 % m)) continue; /* no modulo bias */
        out[i++] = alphabet[b % m];
    }
    out[chars] = '\0';
}

int initdir_mkdir(initdir_undo *u, const char *path)
{
    if (mkdir(path, 0700) == 0) {
        undo_add(u, path, 1);
        return 0;
    }
    if (errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", initdir_prog, path, strerror(errno));
        return -1;
    }
    return 0;
}
