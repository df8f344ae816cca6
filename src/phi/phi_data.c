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

/* Lower case of each byte (ASCII letters only), for phi_lower. */
const uint8_t phi_lowercase[256] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  18,
    19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,
    38,  39,  40,  41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,
    57,  58,  59,  60,  61,  62,  63,  64,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107,
    108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 91,  92,  93,  94,
    95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132,
    133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151,
    152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170,
    171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
    190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208,
    209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227,
    228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255,
};
