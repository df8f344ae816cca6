/*
 * phi_data: the word lists of data/phi/ embedded in the binary at build time.
 *
 * Why .incbin: the server and the tools must be single self-contained
 * binaries that never read ../shared (or any data file) at run time. The
 * assembler copies each list verbatim into .rodata, so there is no generated
 * C file to keep in step and the data stays byte-for-byte the shipped list.
 * PHI_DATA_DIR is defined by cmake/phi.cmake, which also makes this object
 * depend on the lists so an edit to a list rebuilds it. The precompiled
 * Hyperscan database (written by phi-hsgen during the build) is embedded the
 * same way.
 */
#include "phi_internal.h"

#ifndef PHI_DATA_DIR
#error "PHI_DATA_DIR must name the data/phi directory (set by cmake/phi.cmake)"
#endif

/* One embedded file: symbols NAME and NAME_end around its bytes. */
#define PHI_INCBIN(name, file)                                                                     \
    __asm__(".section .rodata\n"                                                                   \
            ".global " #name "\n"                                                                  \
            ".type " #name ", @object\n"                                                           \
            ".balign 16\n" #name ":\n"                                                             \
            ".incbin \"" PHI_DATA_DIR "/" file "\"\n"                                              \
            ".global " #name "_end\n" #name "_end:\n"                                              \
            ".byte 0\n"                                                                            \
            ".previous\n");                                                                        \
    extern const uint8_t name[];                                                                   \
    extern const uint8_t name##_end[];

PHI_INCBIN(phi_blob_first, "first-names.txt")
PHI_INCBIN(phi_blob_last, "last-names.txt")
PHI_INCBIN(phi_blob_common, "common-words.txt")
PHI_INCBIN(phi_blob_ambig, "ambiguous.txt")
PHI_INCBIN(phi_blob_override, "name-override.txt")
PHI_INCBIN(phi_blob_cities, "us-cities.txt")

#ifndef PHI_HSDB
#error "PHI_HSDB must name the precompiled pattern database (set by cmake/phi.cmake)"
#endif
__asm__(".section .rodata\n"
        ".global phi_blob_hsdb\n"
        ".balign 16\nphi_blob_hsdb:\n"
        ".incbin \"" PHI_HSDB "\"\n"
        ".global phi_blob_hsdb_end\nphi_blob_hsdb_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const uint8_t phi_blob_hsdb[];
extern const uint8_t phi_blob_hsdb_end[];

static phi_blob mk(const uint8_t *a, const uint8_t *b)
{
    phi_blob r = {a, (size_t)(b - a)};
    return r;
}

phi_blob phi_data_first_names(void)
{
    return mk(phi_blob_first, phi_blob_first_end);
}

phi_blob phi_data_last_names(void)
{
    return mk(phi_blob_last, phi_blob_last_end);
}

phi_blob phi_data_common_words(void)
{
    return mk(phi_blob_common, phi_blob_common_end);
}

phi_blob phi_data_ambiguous(void)
{
    return mk(phi_blob_ambig, phi_blob_ambig_end);
}

phi_blob phi_data_name_override(void)
{
    return mk(phi_blob_override, phi_blob_override_end);
}

phi_blob phi_data_cities(void)
{
    return mk(phi_blob_cities, phi_blob_cities_end);
}

phi_blob phi_data_hsdb(void)
{
    return mk(phi_blob_hsdb, phi_blob_hsdb_end);
}

/* Byte classes for phi_is_digit and friends (phi_internal.h): digit 1, alpha 2,
 * upper 4, lower 8, Hyperscan word byte 16, Hyperscan white space 32, >= 0x80 64. */
const uint8_t phi_ctype[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  32, 32, 32, 32, 32, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  32, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 0,  0,  0,  0,  0,  0,  0,  22, 22, 22, 22, 22, 22, 22,
    22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 22, 0,  0,  0,  0,  16,
    0,  26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26, 26,
    26, 26, 26, 0,  0,  0,  0,  0,  64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};
