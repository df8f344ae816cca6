/*
 * server: wiring. Reads the configuration, builds each module, connects them
 * and runs the event loop. No other module includes this header.
 */
#ifndef SERVER_H
#define SERVER_H

/* Run phidb-server with its command line; returns the process exit status. */
int server_main(int argc, char **argv);

#endif
