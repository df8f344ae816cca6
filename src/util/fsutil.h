/*
 * fsutil: small file-system helpers shared by the modules that replace files
 * atomically (write a temporary, fsync, rename, then make the rename durable).
 */
#ifndef FSUTIL_H
#define FSUTIL_H

/* fsync the directory holding path ("." when path has no slash, "/" for a file at the root),
 * so a rename or creation in it survives a crash. Returns 0, or -1 with errno set. */
int fsync_dir_of(const char *path);

#endif
