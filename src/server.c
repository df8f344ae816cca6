/* server: wiring (placeholder until the modules land). */
#include "server.h"

#include <stdio.h>

int server_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "phidb-server: not built yet\n");
    return 1;
}
