/* phi_cli: `phidb phi ...` (placeholder; the PHI detector replaces it). */
#include <stdio.h>

#include "tools.h"

int phi_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "phidb phi: the PHI detector is not built yet\n");
    return 1;
}
