/*
 * phi_hsgen: build-time tool. Compiles the pattern table (phi_patterns.c)
 * into a Hyperscan database and writes it serialized to the file named on
 * the command line; phi_data.c embeds that file.
 *
 * Why: compiling the ~70 patterns takes Hyperscan seconds, far too long
 * for detector creation. Deserializing
 * the precompiled database takes milliseconds. The database is compiled for
 * the build machine's CPU; phi_detector_new falls back to compiling at run
 * time when the running CPU cannot use it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "phi/phi_internal.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: phi-hsgen OUTPUT\n");
        return 2;
    }
    phi_dbset set;
    if (phi_patterns_compile(&set) != PHI_OK) return 1;
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (phi_patterns_serialize(&set, &bytes, &len) != PHI_OK) {
        fprintf(stderr, "phi-hsgen: serialize failed\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(bytes);
    phi_dbset_free(&set);
    return 0;
}
