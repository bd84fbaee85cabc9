#define _GNU_SOURCE
#include "host_process.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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

/* What the child needs; shared with the parent (CLONE_VM), which waits until the child has exec'd or
 * exited, so `error` is read only after the child is done with it. */
struct spawn_request {
    struct vhpc_spawn_spec spec;
    pid_t parent;
    int error;
};

/* Runs in the child on its own stack: only system calls, no locks, no allocation. */
static int spawn_child(void *argument) {
    struct spawn_request *full = argument;
    const struct vhpc_spawn_spec *request = &full->spec;
    int err = 0;
    if (request->new_process_group == 2 && setsid() < 0) err = errno;
    else if (request->new_process_group == 1 && setpgid(0, 0) != 0) err = errno;
    if (!err && request->pdeathsig > 0) {
        if (prctl(PR_SET_PDEATHSIG, request->pdeathsig) != 0) err = errno;
        else if (getppid() != full->parent) _exit(127);
    }
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        struct sigaction action = {0};
        action.sa_handler = SIG_DFL;
        sigemptyset(&action.sa_mask);
        sigaction(s, &action, NULL);
    }
    // Duplicate high first so a source fd equal to a lower target is not clobbered.
    int in = request->stdin_fd, out = request->stdout_fd, errfd = request->stderr_fd, extra = request->extra_fd;
    if (!err && in >= 0 && in < 4 && in != 0 && (in = fcntl(in, F_DUPFD_CLOEXEC, 4)) < 0) err = errno;
    if (!err && out >= 0 && out < 4 && out != 1 && (out = fcntl(out, F_DUPFD_CLOEXEC, 4)) < 0) err = errno;
    if (!err && errfd >= 0 && errfd < 4 && errfd != 2 && (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 4)) < 0) err = errno;
    if (!err && extra >= 0 && extra < 4 && extra != 3 && (extra = fcntl(extra, F_DUPFD_CLOEXEC, 4)) < 0) err = errno;
    if (!err && (move_to(in, 0) || move_to(out, 1) || move_to(errfd, 2) || move_to(extra, 3))) err = errno;
    if (!err && request->cwd && chdir(request->cwd) != 0) err = errno;
    if (!err) {
        mark_cloexec_from(extra >= 0 ? 4 : 3);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(request->path, request->argv, request->envp);
        err = errno;
    }
    full->error = err ? err : ECHILD;
    _exit(127);
}

/* fork+exec without copying the parent's page tables: clone(CLONE_VM | CLONE_VFORK) on a private stack,
 * as posix_spawn does, plus what posix_spawn cannot do (PR_SET_PDEATHSIG). A large agent process
 * starting hundreds of tasks would otherwise spend most of its time in fork's page-table copies. */
pid_t vhpc_spawn(const char *path, const char *cwd, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd, int extra_fd,
                 int new_process_group, int pdeathsig, int *error_out) {
    enum { STACK_SIZE = 256 * 1024 };
    void *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) { *error_out = errno; return -1; }
    struct spawn_request request = {
        .spec = {
            .path = path, .cwd = cwd, .argv = argv, .envp = envp,
            .stdin_fd = stdin_fd, .stdout_fd = stdout_fd, .stderr_fd = stderr_fd, .extra_fd = extra_fd,
            .new_process_group = new_process_group, .pdeathsig = pdeathsig,
        },
        .parent = getpid(), .error = 0,
    };
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(spawn_child, (char *)stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &request);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, STACK_SIZE);
    if (pid < 0) { *error_out = clone_errno; return -1; }
    if (request.error != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error_out = request.error;
        return -1;
    }
    *error_out = 0;
    return pid;
}

/* Every child of a batch at once: clone(CLONE_VM | CLONE_CHILD_CLEARTID) on a stack of its own each, without
 * CLONE_VFORK, so the spawning thread does not sleep until each child has exec'd before starting the next.
 * With vfork, each start cost the spawner a wake-up after the child's exec; on a machine whose cores are
 * busy (the batch's first ranks already initialising) that was one scheduler slice per task, 4-16 ms each for
 * 64 MPICH ranks on 2 cores, against hydra's fork, which returns at once. The kernel clears a child's
 * `done` word (and wakes its futex) when the child no longer uses this address space — once it has exec'd or
 * exited — which is what CLONE_VFORK waits for; here the batch waits for all of them at the end. The
 * children run spawn_child concurrently with each other and this thread: each reads and writes only its own
 * request and stack; errno is the one location they share (this thread's), read by a child right after its
 * own failing call. Started and waited for in two halves, so that one thread can start several batches (the
 * tasks of several agents of one process) before it waits for any. */
enum { BATCH_STACK_SIZE = 256 * 1024 };

struct batch_slot {
    struct spawn_request request;
    void *stack;
    volatile pid_t done;
};

struct vhpc_spawn_batch {
    int count, started, failed_at;
    size_t bytes;
    struct batch_slot slots[];
};

struct vhpc_spawn_batch *vhpc_spawn_batch_start(const struct vhpc_spawn_spec *specs, int count, pid_t *pids, int *errors) {
    size_t bytes = sizeof(struct vhpc_spawn_batch) + sizeof(struct batch_slot) * (size_t)count;
    struct vhpc_spawn_batch *batch = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (batch == MAP_FAILED) { pids[0] = -1; errors[0] = errno; return NULL; }
    *batch = (struct vhpc_spawn_batch){.count = count, .started = 0, .failed_at = -1, .bytes = bytes};
    pid_t self = getpid();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < count; i++) {
        struct batch_slot *slot = &batch->slots[i];
        slot->request = (struct spawn_request){.spec = specs[i], .parent = self, .error = 0};
        slot->done = 1;
        slot->stack = mmap(NULL, BATCH_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (slot->stack == MAP_FAILED) { pids[i] = -1; errors[i] = errno; batch->failed_at = i; break; }
        pid_t pid = clone(spawn_child, (char *)slot->stack + BATCH_STACK_SIZE, CLONE_VM | CLONE_CHILD_CLEARTID | SIGCHLD,
                          &slot->request, NULL, NULL, (pid_t *)&slot->done);
        if (pid < 0) {
            errors[i] = errno;
            pids[i] = -1;
            munmap(slot->stack, BATCH_STACK_SIZE);
            batch->failed_at = i;
            break;
        }
        pids[i] = pid;
        batch->started = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return batch;
}

int vhpc_spawn_batch_finish(struct vhpc_spawn_batch *batch, pid_t *pids, int *errors) {
    if (batch == NULL) return 1;
    int failed_at = batch->failed_at;
    for (int i = 0; i < batch->started; i++) {
        struct batch_slot *slot = &batch->slots[i];
        // Not FUTEX_PRIVATE: the kernel's wake on a cleared child tid is a shared one. The timeout only bounds
        // a missed wake.
        while (__atomic_load_n(&slot->done, __ATOMIC_ACQUIRE) != 0) {
            struct timespec bound = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
            syscall(SYS_futex, &slot->done, FUTEX_WAIT, 1, &bound, NULL, 0);
        }
        munmap(slot->stack, BATCH_STACK_SIZE);
        if (slot->request.error != 0) {
            int status;
            while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {}
            errors[i] = slot->request.error;
            pids[i] = -1;
            if (failed_at < 0 || i < failed_at) failed_at = i;
        } else {
            errors[i] = 0;
        }
    }
    // As if started one after another, stopping at the first failure: what started after it is taken back.
    int results = failed_at >= 0 ? failed_at + 1 : batch->count;
    for (int i = results; i < batch->started; i++) {
        if (pids[i] <= 0) continue;
        kill(pids[i], SIGKILL);
        int status;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {}
    }
    munmap(batch, batch->bytes);
    return results;
}

int vhpc_spawn_batch(const struct vhpc_spawn_spec *specs, int count, pid_t *pids, int *errors) {
    if (count <= 0) return 0;
    return vhpc_spawn_batch_finish(vhpc_spawn_batch_start(specs, count, pids, errors), pids, errors);
}

int vhpc_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1); }

int vhpc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int vhpc_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int vhpc_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int vhpc_epoll_watch(int epfd, int fd, unsigned long long token) {
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int vhpc_epoll_forget(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int vhpc_epoll_wait(int epfd, unsigned long long *tokens, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, -1);
    for (int i = 0; i < count; i++) tokens[i] = events[i].data.u64;
    return count;
}
