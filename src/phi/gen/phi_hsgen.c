/*
 * phi_hsgen: build-time tool. Compiles the pattern table (phi_patterns.c)
 * into a Hyperscan database and writes it serialized to the file named on
 * the command line; phi_data.c embeds that file.
 *
 * Why: compiling the ~70 patterns with start-of-match tracking takes
 * Hyperscan a few seconds, far too long for detector creation. Deserializing
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
    hs_database_t *db = NULL;
    if (phi_patterns_compile(&db) != PHI_OK) return 1;
    char *bytes = NULL;
    size_t len = 0;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
        fprintf(stderr, "phi-hsgen: serialize failed\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }
    free(bytes);
    hs_free_database(db);
    return 0;
}
