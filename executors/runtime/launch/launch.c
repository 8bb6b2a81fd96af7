/* The bwrap backend's launcher: confine this process, then become bubblewrap.
 *
 *   launch UID CPU_S NPROC FSIZE NOFILE AS [CGROUP_PROCS_FILE ...] -- BWRAP ARGS...
 *
 * In order, while still root: join the slot's cgroups (so nothing forks outside them),
 * set the rlimits (soft = hard; AS 0 = leave unset), lower the scheduling priority to
 * SANDBOX_NICE, clear the inheritable capabilities,
 * drop every group and all three uids and gids to UID (-1: stay, for hosts where the
 * backend does not run as root), then exec bubblewrap. Any failure exits 125 with a
 * message on stderr, before anything of the sandbox exists.
 *
 * It replaces the chain sh (join) -> prlimit -> setpriv, which cost three dynamically
 * linked executables per sandbox step (about half the host CPU of a trivial run); it is
 * built statically by the backend when it starts (executors/launcher.py).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sandboxed programs share the host's cores with the web process and the workers. Under
 * contention they yield to them, so that a burst of runs cannot delay live pages and
 * votes (on 2 cores with 50 raters, runs kept the load at 6-10); alone they still get
 * every idle cycle. Their CPU limit is CPU time, which niceness does not change. */
#define SANDBOX_NICE 10

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "arena launcher: %s %s: %s\n", what, detail, strerror(errno));
    _exit(125);
}

static long number(const char *text) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *text == '\0' || *end != '\0') {
        errno = EINVAL;
        fail("bad number", text);
    }
    return value;
}

static void limit(int resource, const char *text, const char *name) {
    long value = number(text);
    struct rlimit both = {(rlim_t)value, (rlim_t)value};
    if (setrlimit(resource, &both) != 0) fail("setrlimit", name);
}

static void join_cgroup(const char *procs_file) {
    char pid[32];
    int length = snprintf(pid, sizeof pid, "%d", (int)getpid());
    int fd = open(procs_file, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, (size_t)length) != length) fail("join cgroup", procs_file);
    close(fd);
}

static void clear_inheritable_caps(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0) fail("capget", "");
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) data[i].inheritable = 0;
    if (syscall(SYS_capset, &header, data) != 0) fail("capset", "");
}

static void drop_to(long uid) {
    if (setgroups(0, NULL) != 0) fail("setgroups", "");
    if (setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) != 0) fail("setresgid", "");
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) fail("setresuid", "");
}

int main(int argc, char **argv) {
    if (argc < 9) {
        errno = EINVAL;
        fail("usage:", "launch UID CPU NPROC FSIZE NOFILE AS [PROCS...] -- CMD...");
    }
    int at = 7;
    for (; at < argc && strcmp(argv[at], "--") != 0; at++) join_cgroup(argv[at]);
    if (at + 1 >= argc) {
        errno = EINVAL;
        fail("no command after", "--");
    }
    limit(RLIMIT_CPU, argv[2], "cpu");
    limit(RLIMIT_NPROC, argv[3], "nproc");
    limit(RLIMIT_FSIZE, argv[4], "fsize");
    limit(RLIMIT_NOFILE, argv[5], "nofile");
    limit(RLIMIT_CORE, "0", "core");
    if (number(argv[6]) > 0) limit(RLIMIT_AS, argv[6], "as");
    if (setpriority(PRIO_PROCESS, 0, SANDBOX_NICE) != 0) fail("setpriority", "");
    long uid = number(argv[1]);
    clear_inheritable_caps();
    if (uid >= 0) drop_to(uid);
    execv(argv[at + 1], &argv[at + 1]);
    fail("exec", argv[at + 1]);
    return 125;
}
