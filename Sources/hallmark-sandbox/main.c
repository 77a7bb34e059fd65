// hallmark-sandbox: runs a program of an untrusted root filesystem so that nothing of the host is
// reachable from it. Hallmark starts it inside new mount and PID namespaces (`unshare --mount
// --pid --fork`), with the root already mounted at ROOT. It then
//   1. opens what it must bring in from the host (--copy-in, --bind-ro) while the host is visible;
//   2. makes ROOT the root with pivot_root(".", ".") and detaches the host's tree, so no chroot
//      escape, `..`, symbolic link or file handle leads back to it;
//   3. mounts what the program needs inside the new root (paths resolve there, never on the host);
//   4. stays PID 1 of the namespace: it forks the program with only the kept capabilities, no new
//      privileges and exactly the environment given, reaps every orphan, and exits with the
//      program's status, which ends every process the program left behind.
//
// Usage: hallmark-sandbox [options] ROOT -- PROGRAM [ARG...]
//   --bind-self            bind-mount ROOT onto itself first (ROOT is a plain directory)
//   --read-only            remount that bind read-only, nosuid, nodev
//   --dev                  a fresh /dev: tmpfs with null zero full random urandom tty, pts, shm
//   --proc                 a fresh /proc of the new PID namespace; kernel tunables read-only
//   --sys                  sysfs, read-only
//   --run                  tmpfs on /run
//   --tmpdir PATH          mkdir -m 1777 PATH once the mounts are made
//   --copy-in HOST:PATH    copy a host file to PATH (on a tmpfs made above), mode 0500
//   --bind-ro HOST:PATH    bind a host file read-only at PATH; PATH is created empty when missing
//                          and removed again afterwards if the program left it untouched
//   --keep-cap NAME        a capability the program keeps (repeatable); every other one is dropped
//   --stdin HOST           the program's standard input: a host file opened before the change of root
//   --env NAME=VALUE       the program's environment (repeatable); nothing else is passed on
//   --chdir PATH           the program's working directory (default /)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ITEMS 64

static void die(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("hallmark-sandbox: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    exit(125);
}

static void check(int result, const char *what, const char *path) {
    if (result < 0) die("%s %s: %s", what, path ? path : "", strerror(errno));
}

static const struct { const char *name; int value; } capabilities[] = {
    {"chown", CAP_CHOWN}, {"dac_override", CAP_DAC_OVERRIDE}, {"dac_read_search", CAP_DAC_READ_SEARCH},
    {"fowner", CAP_FOWNER}, {"fsetid", CAP_FSETID}, {"kill", CAP_KILL}, {"setgid", CAP_SETGID},
    {"setuid", CAP_SETUID}, {"setpcap", CAP_SETPCAP}, {"net_bind_service", CAP_NET_BIND_SERVICE},
    {"net_raw", CAP_NET_RAW}, {"sys_chroot", CAP_SYS_CHROOT}, {"audit_write", CAP_AUDIT_WRITE},
    {"setfcap", CAP_SETFCAP}, {"mknod", CAP_MKNOD}, {"sys_admin", CAP_SYS_ADMIN},
};

static int capability_named(const char *name) {
    for (size_t i = 0; i < sizeof capabilities / sizeof capabilities[0]; i++)
        if (strcmp(capabilities[i].name, name) == 0) return capabilities[i].value;
    die("unknown capability '%s'", name);
    return -1;
}

struct host_file { char *host, *path; int fd; };

// Splits HOST:PATH; PATH must be absolute, so it is resolved inside the new root.
static struct host_file host_file(char *argument) {
    char *colon = strchr(argument, ':');
    if (!colon || colon[1] != '/') die("expected HOST:/PATH, got '%s'", argument);
    *colon = 0;
    return (struct host_file){argument, colon + 1, -1};
}

static void make_node(const char *path, mode_t type, int major_number, int minor_number) {
    check(mknod(path, type | 0666, makedev(major_number, minor_number)), "mknod", path);
    check(chmod(path, 0666), "chmod", path);
}

// A /dev of its own: device nodes made here, not the host's devtmpfs, whose other nodes a file
// handle could reach.
static void mount_dev(void) {
    check(mount("hallmark-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m"), "mount tmpfs on", "/dev");
    make_node("/dev/null", S_IFCHR, 1, 3);
    make_node("/dev/zero", S_IFCHR, 1, 5);
    make_node("/dev/full", S_IFCHR, 1, 7);
    make_node("/dev/random", S_IFCHR, 1, 8);
    make_node("/dev/urandom", S_IFCHR, 1, 9);
    make_node("/dev/tty", S_IFCHR, 5, 0);
    check(mkdir("/dev/pts", 0755), "mkdir", "/dev/pts");
    check(mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"), "mount devpts on", "/dev/pts");
    check(symlink("pts/ptmx", "/dev/ptmx"), "symlink", "/dev/ptmx");
    check(mkdir("/dev/shm", 01777), "mkdir", "/dev/shm");
    check(mount("hallmark-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m"), "mount tmpfs on", "/dev/shm");
    check(symlink("/proc/self/fd", "/dev/fd"), "symlink", "/dev/fd");
    check(symlink("/proc/self/fd/0", "/dev/stdin"), "symlink", "/dev/stdin");
    check(symlink("/proc/self/fd/1", "/dev/stdout"), "symlink", "/dev/stdout");
    check(symlink("/proc/self/fd/2", "/dev/stderr"), "symlink", "/dev/stderr");
}

static void bind_read_only(const char *path) {
    check(mount(path, path, NULL, MS_BIND | MS_REC, NULL), "bind", path);
    check(mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "remount read-only", path);
}

// The PID namespace's own /proc; what tunes the host's kernel stays read-only, as in a container.
static void mount_proc(void) {
    check(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount proc on", "/proc");
    const char *read_only[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"};
    for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
        if (access(read_only[i], F_OK) == 0) bind_read_only(read_only[i]);
    // Kernel memory, and the host's keys and timers, are nobody's business here.
    const char *masked[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/kallsyms"};
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
        if (access(masked[i], F_OK) == 0) check(mount("/dev/null", masked[i], NULL, MS_BIND, NULL), "mask", masked[i]);
}

// A directory of the image that a mount will cover must be one: a symbolic link would be followed.
static void require_directory(const char *path) {
    struct stat status;
    if (lstat(path, &status) < 0 || !S_ISDIR(status.st_mode)) die("the image's %s is not a directory", path);
}

static void copy_in(struct host_file *file) {
    int target = open(file->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0500);
    check(target, "create", file->path);
    char buffer[65536];
    ssize_t count;
    while ((count = read(file->fd, buffer, sizeof buffer)) > 0) {
        for (ssize_t written = 0; written < count;) {
            ssize_t n = write(target, buffer + written, (size_t)(count - written));
            check((int)n, "write", file->path);
            written += n;
        }
    }
    check((int)count, "read", file->host);
    close(target);
    close(file->fd);
}

struct placeholder { const char *path; dev_t device; ino_t inode; int made; };

// Attaches a detached copy of a host file's mount, made before the change of root (open_tree), over
// PATH: the mount API needs no path of the host once the root has changed.
static void bind_in(struct host_file *file, struct placeholder *placeholder) {
    struct stat status;
    placeholder->path = file->path;
    placeholder->made = 0;
    if (lstat(file->path, &status) < 0) {
        if (errno != ENOENT) die("lstat %s: %s", file->path, strerror(errno));
        int made = open(file->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        check(made, "create", file->path);
        check(fstat(made, &status), "fstat", file->path);
        close(made);
        placeholder->made = 1;
        placeholder->device = status.st_dev;
        placeholder->inode = status.st_ino;
    } else if (!S_ISREG(status.st_mode)) {
        close(file->fd);
        return;  // a symbolic link or anything else of the image's own stays as it is
    }
    check((int)syscall(SYS_move_mount, file->fd, "", AT_FDCWD, file->path, MOVE_MOUNT_F_EMPTY_PATH), "move_mount", file->path);
    check(mount(NULL, file->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "remount read-only", file->path);
    close(file->fd);
}

// A placeholder the program did not replace or fill is removed, so the tree keeps only its own.
static void remove_placeholder(const struct placeholder *placeholder) {
    if (!placeholder->made) return;
    umount2(placeholder->path, MNT_DETACH);
    struct stat status;
    if (lstat(placeholder->path, &status) == 0 && status.st_dev == placeholder->device && status.st_ino == placeholder->inode &&
        status.st_size == 0)
        unlink(placeholder->path);
}

static void drop_capabilities(const int *kept, int kept_count) {
    for (int capability = 0; capability <= 63; capability++) {
        int keep = 0;
        for (int i = 0; i < kept_count; i++) keep |= kept[i] == capability;
        if (!keep && prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) < 0 && errno != EINVAL) die("drop capability %d: %s", capability, strerror(errno));
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < kept_count; i++) {
        data[kept[i] / 32].effective |= 1u << (kept[i] % 32);
        data[kept[i] / 32].permitted |= 1u << (kept[i] % 32);
    }
    check((int)syscall(SYS_capset, &header, data), "capset", NULL);
    check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities", NULL);
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs", NULL);
}

static volatile sig_atomic_t stop_signal = 0;
static void on_stop(int signal) { stop_signal = signal; }

int main(int argc, char **argv) {
    int bind_self = 0, read_only = 0, dev = 0, proc = 0, sys = 0, run = 0;
    const char *tmpdir = NULL, *workdir = "/", *stdin_path = NULL;
    int stdin_fd = -1;
    struct host_file copies[MAX_ITEMS], binds[MAX_ITEMS];
    int copy_count = 0, bind_count = 0, kept[MAX_ITEMS], kept_count = 0;
    char *environment[MAX_ITEMS + 1];
    int environment_count = 0;

    int index = 1;
    for (; index < argc && strncmp(argv[index], "--", 2) == 0 && argv[index][2] != 0; index++) {
        const char *option = argv[index];
        int has_value = index + 1 < argc;
        if (strcmp(option, "--bind-self") == 0) bind_self = 1;
        else if (strcmp(option, "--read-only") == 0) read_only = 1;
        else if (strcmp(option, "--dev") == 0) dev = 1;
        else if (strcmp(option, "--proc") == 0) proc = 1;
        else if (strcmp(option, "--sys") == 0) sys = 1;
        else if (strcmp(option, "--run") == 0) run = 1;
        else if (!has_value) die("%s needs a value", option);
        else if (strcmp(option, "--tmpdir") == 0) tmpdir = argv[++index];
        else if (strcmp(option, "--chdir") == 0) workdir = argv[++index];
        else if (strcmp(option, "--stdin") == 0) stdin_path = argv[++index];
        else if (strcmp(option, "--copy-in") == 0 && copy_count < MAX_ITEMS) copies[copy_count++] = host_file(argv[++index]);
        else if (strcmp(option, "--bind-ro") == 0 && bind_count < MAX_ITEMS) binds[bind_count++] = host_file(argv[++index]);
        else if (strcmp(option, "--keep-cap") == 0 && kept_count < MAX_ITEMS) kept[kept_count++] = capability_named(argv[++index]);
        else if (strcmp(option, "--env") == 0 && environment_count < MAX_ITEMS) environment[environment_count++] = argv[++index];
        else die("unknown option or too many values: %s", option);
    }
    environment[environment_count] = NULL;
    if (index + 2 >= argc || strcmp(argv[index + 1], "--") != 0) die("usage: hallmark-sandbox [options] ROOT -- PROGRAM [ARG...]");
    const char *root = argv[index];
    char **program = argv + index + 2;
    if (getpid() != 1) die("must run as PID 1 of a new PID namespace (unshare --mount --pid --fork)");

    // Nothing done here may reach the host's mount table.
    check(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", "/");
    for (int i = 0; i < copy_count; i++) check(copies[i].fd = open(copies[i].host, O_RDONLY | O_CLOEXEC), "open", copies[i].host);
    for (int i = 0; i < bind_count; i++)
        check(binds[i].fd = (int)syscall(SYS_open_tree, AT_FDCWD, binds[i].host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), "open_tree", binds[i].host);
    if (stdin_path) check(stdin_fd = open(stdin_path, O_RDONLY | O_CLOEXEC), "open", stdin_path);
    if (bind_self) check(mount(root, root, NULL, MS_BIND | MS_REC, NULL), "bind", root);
    if (read_only) check(mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "remount read-only", root);

    check(chdir(root), "chdir", root);
    check((int)syscall(SYS_pivot_root, ".", "."), "pivot_root", root);
    check(umount2(".", MNT_DETACH), "detach the host's root", NULL);
    check(chdir("/"), "chdir", "/");

    if (dev) { require_directory("/dev"); mount_dev(); }
    if (proc) { require_directory("/proc"); mount_proc(); }
    if (sys) {
        require_directory("/sys");
        check(mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL), "mount sysfs on", "/sys");
    }
    if (run) {
        require_directory("/run");
        check(mount("hallmark-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=256m"), "mount tmpfs on", "/run");
    }
    if (tmpdir) {
        check(mkdir(tmpdir, 01777), "mkdir", tmpdir);
        check(chmod(tmpdir, 01777), "chmod", tmpdir);
    }
    for (int i = 0; i < copy_count; i++) copy_in(&copies[i]);
    struct placeholder placeholders[MAX_ITEMS];
    for (int i = 0; i < bind_count; i++) bind_in(&binds[i], &placeholders[i]);

    // PID 1 gets only the signals it handles: a stop request ends the namespace, and with it everything in it.
    // No SA_RESTART: the wait below must return when one arrives.
    struct sigaction stop = {0};
    stop.sa_handler = on_stop;
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGHUP, &stop, NULL);
    pid_t child = fork();
    check(child, "fork", NULL);
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        check(chdir(workdir), "chdir", workdir);
        if (stdin_fd >= 0) check(dup2(stdin_fd, 0), "dup2", stdin_path);
        drop_capabilities(kept, kept_count);
        execve(program[0], program, environment);
        die("cannot run %s: %s", program[0], strerror(errno));
    }
    int status = 0, exit_code = 125;
    for (;;) {
        pid_t ended = wait(&status);
        if (ended == child) {
            exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (ended < 0 && errno == EINTR && stop_signal) {
            exit_code = 128 + stop_signal;
            break;
        }
        if (ended < 0 && errno == ECHILD) break;
    }
    // Whatever the program started is still ours: end it before the namespace goes.
    kill(-1, SIGKILL);
    while (wait(NULL) > 0 || errno == EINTR) {}
    for (int i = 0; i < bind_count; i++) remove_placeholder(&placeholders[i]);
    return exit_code;
}
