// A hostile program for the sandbox tests: it tries the classic chroot escape, then to write
// MARKER and read SECRET (both host paths), to mount and to make a block device, and says how
// each attempt went on stdout.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void report(const char *what, int result) { printf("%s: %s\n", what, result < 0 ? strerror(errno) : "ok"); }

int main(void) {
    mkdir("hallmark-escape", 0700);
    report("chroot", chroot("hallmark-escape"));
    for (int i = 0; i < 64; i++) chdir("..");
    report("chroot back", chroot("."));
    int marker = open(MARKER, O_WRONLY | O_CREAT, 0644);
    report("marker", marker);
    if (marker >= 0) { write(marker, "escaped\n", 8); close(marker); }
    char secret[256] = {0};
    int file = open(SECRET, O_RDONLY);
    report("secret", file);
    if (file >= 0 && read(file, secret, sizeof secret - 1) > 0) printf("secret text: %s\n", secret);
    report("mount", mount("hallmark", "/mnt", "tmpfs", 0, NULL));
    report("mknod", mknod("/hallmark-disk", S_IFBLK | 0600, makedev(8, 0)));
    return 0;
}
