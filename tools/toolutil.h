/*
 * toolutil: what the tools share: finding and loading an instance's config, its master key
 * source, passphrase files, the data directory lock, the admin connection to a running
 * server, and strict parsing of numeric options.
 */
#ifndef TOOLUTIL_H
#define TOOLUTIL_H

#include <stddef.h>

#include "config.h"
#include "rclient.h"
#include "store/keyring.h"

/* Find the config for arg (the init directory, its phidb.conf, or its data directory) and
 * load it. prog names the tool in messages. Returns the config or NULL (message printed). */
config *tool_load_config(const char *prog, const char *arg);
/* Parse text, the value of option opt, as a whole decimal number from min to max into *out.
 * Returns 0, or -1 with a message naming prog, opt and text (no number, trailing junk, out
 * of range): a tool must refuse "-n abc" rather than read it as 0. */
/* Does any of argv[first..argc) ask for help ("-h", "--help")? */
int tool_asks_help(int argc, char **argv, int first);
int tool_parse_long(const char *prog, const char *opt, const char *text, long min, long max,
                    long *out);
/* The master key source a config names (PHIDB_PASSPHRASE for a passphrase master key). */
keyring_kek_source tool_kek_source(const config *c);
/* Read a passphrase from a file (refused when group or others may read it; trailing newline
 * dropped) into out. Returns 0, or -1 (message printed). */
int tool_read_passphrase(const char *prog, const char *path, char *out, size_t outlen);
/* Try to take the data directory's lock (dir/phidb.lock). Returns the fd holding it, -2 when
 * a server holds it, -1 on error (message printed). */
int tool_lock_dir(const char *prog, const char *dir);
/* The same for a tool that needs the server stopped: the fd, or -1 with a message (also
 * when a server holds the lock). */
int tool_lock_dir_offline(const char *prog, const char *dir);
/* The port of the running server of config c: the one its lock file (dir/phidb.lock) names,
 * which a --port on the server's command line may have changed, else c's. Call it while the
 * server holds the lock (tool_lock_dir returned -2): the file is stale otherwise. */
int tool_server_port(const config *c);
/* Connect to the running server of config c as admin, on tool_server_port(c) (password from
 * <base>/admin.password, client certificate from <base>/tls when present). NULL with a message
 * printed. */
rclient *tool_admin_connect(const char *prog, const config *c, int timeout_s);

#endif
