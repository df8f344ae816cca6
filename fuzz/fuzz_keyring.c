/*
 * fuzz_keyring: libFuzzer target for the keyring file reader (JSON parsed by jansson; the
 * fields, versions, wrapped keys and nonce reservations checked by keyring.c). Input: the
 * file's text, opened with keyring_open_buf under the fixed test master key of
 * aof_fixture.h (so the seed, that fixture's keyring, opens, and mutations of it reach
 * every check after the unwrapping).
 *
 * Checked: a refused text comes with a message; an opened keyring has a key for the
 * current version of every purpose, and its export opens again with the same current
 * versions. A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof_fixture.h"
#include "scratch.h"
#include "store/keyring.h"
#include "util/mem.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_keyring: invariant broken: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static const char *master_key_file(void)
{
    static const char *mk;
    if (!mk) {
        mk = scratch_path("keyring", "master.key");
        FILE *f = mk ? fopen(mk, "w") : NULL;
        if (!f || fputs(aof_fixture_master_key, f) < 0) fail("cannot write the master key", mk);
        fclose(f);
        chmod(mk, 0600);
    }
    return mk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keyring_kek_source src = {master_key_file(), NULL, NULL};
    char err[512] = "";
    keyring *k = keyring_open_buf((const char *)data, size, "fuzz", &src, err, sizeof err);
    if (!k) {
        if (!err[0]) fail("a refused keyring without a message", NULL);
        return 0;
    }
    uint32_t cur[KR_NPURPOSES];
    for (int p = 0; p < KR_NPURPOSES; p++) {
        cur[p] = keyring_current(k, p);
        if (!keyring_key(k, p, cur[p])) fail("no key for a purpose's current version", NULL);
    }
    size_t len;
    char *text = keyring_export(k, NULL, &len, err, sizeof err);
    if (!text) fail("an opened keyring does not export", err);
    keyring *k2 = keyring_open_buf(text, len, "export", &src, err, sizeof err);
    if (!k2) fail("an exported keyring does not open", err);
    for (int p = 0; p < KR_NPURPOSES; p++)
        if (keyring_current(k2, p) != cur[p]) fail("the export changed a current version", NULL);
    keyring_close(k2);
    mem_free(text);
    keyring_close(k);
    return 0;
}
