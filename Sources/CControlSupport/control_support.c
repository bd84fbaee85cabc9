#define _GNU_SOURCE
#include "control_support.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void mark_cloexec_from(int first) {
    if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = first; fd < max; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

static int move_to(int fd, int target) {
    if (fd < 0) return 0;
    if (fd == target) {
        int flags = fcntl(fd, F_GETFD);
        return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2(fd, target) < 0 ? -1 : 0;
}

pid_t vhpc_spawn(const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd,
                 int new_process_group, int pdeathsig, int *error_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *error_out = errno; return -1; }
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        int err = 0;
        if (new_process_group && setpgid(0, 0) != 0) err = errno;
        if (!err && pdeathsig > 0) {
            if (prctl(PR_SET_PDEATHSIG, pdeathsig) != 0) err = errno;
            else if (getppid() != parent) _exit(127);
        }
        for (int s = 1; s < NSIG; s++) {
            if (s == SIGKILL || s == SIGSTOP) continue;
            struct sigaction action = {0};
            action.sa_handler = SIG_DFL;
            sigemptyset(&action.sa_mask);
            sigaction(s, &action, NULL);
        }
        // Duplicate high first so a source fd equal to a lower target is not clobbered.
        int in = stdin_fd, out = stdout_fd, errfd = stderr_fd;
        if (!err && in >= 0 && in < 3 && in != 0) { in = fcntl(in, F_DUPFD_CLOEXEC, 3); }
        if (!err && out >= 0 && out < 3 && out != 1) { out = fcntl(out, F_DUPFD_CLOEXEC, 3); }
        if (!err && errfd >= 0 && errfd < 3 && errfd != 2) { errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3); }
        if (!err && (move_to(in, 0) || move_to(out, 1) || move_to(errfd, 2))) err = errno;
        if (!err) {
            mark_cloexec_from(3);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            execve(path, argv, envp);
            err = errno;
        }
        ssize_t ignored = write(report[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (pid < 0) { close(report[0]); *error_out = fork_errno; return -1; }
    int child_err = 0;
    ssize_t n;
    do { n = read(report[0], &child_err, sizeof child_err); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_err) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error_out = child_err;
        return -1;
    }
    *error_out = 0;
    return pid;
}

int vhpc_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1); }

int vhpc_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig); }
int vhpc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
