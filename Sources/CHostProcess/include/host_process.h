#ifndef VHPC_HOST_PROCESS_H
#define VHPC_HOST_PROCESS_H

#include <sys/types.h>

/// Forks and execs `path` with `argv`/`envp`, in directory `cwd` (NULL: the parent's). In the child: a new process group if
/// `new_process_group` is 1, a new session (and so a new process group; `setsid`) if it is 2, optionally
/// `PR_SET_PDEATHSIG(pdeathsig)` (and exit if the parent already died), default signal dispositions and an
/// empty mask, fds 0/1/2 from `stdin_fd`/`stdout_fd`/`stderr_fd` (-1 keeps the parent's), every other fd
/// close-on-exec, except `extra_fd` (if >= 0) as fd 3 (e.g. a PMI socket). Returns the pid, or -1 with
/// `*error_out` = errno of the failed exec/fork.
pid_t vhpc_spawn(const char *path, const char *cwd, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd, int extra_fd,
                 int new_process_group, int pdeathsig, int *error_out);

/// One child of ``vhpc_spawn_batch``: the arguments of ``vhpc_spawn``.
struct vhpc_spawn_spec {
    const char *path;
    const char *cwd;
    char *const *argv;
    char *const *envp;
    int stdin_fd, stdout_fd, stderr_fd, extra_fd;
    int new_process_group, pdeathsig;
};

/// Starts `count` children as ``vhpc_spawn`` would, all at once instead of one after another (the caller
/// waits once, for the last of them to exec). The result is the same as spawning them in order and stopping
/// at the first failure: returns how many of `pids`/`errors` are filled (`count`, or the failed one's index +
/// 1); a failed one has pid -1 and its errno; children started after it are killed and reaped.
int vhpc_spawn_batch(const struct vhpc_spawn_spec *specs, int count, pid_t *pids, int *errors);

/// A batch whose children were started by ``vhpc_spawn_batch_start`` and not yet waited for.
struct vhpc_spawn_batch;

/// The first half of ``vhpc_spawn_batch`` (`count` >= 1): starts every child and returns without waiting, so
/// a thread can start several batches before it waits for any (each batch's children read `specs` and the
/// strings it points to until ``vhpc_spawn_batch_finish``: keep them alive until then). Fills `pids`/`errors`
/// of the children it could not start. NULL only if no memory for the batch (then `errors[0]` says why).
struct vhpc_spawn_batch *vhpc_spawn_batch_start(const struct vhpc_spawn_spec *specs, int count, pid_t *pids, int *errors);

/// The second half: waits until every child of `batch` has exec'd (or failed to), frees the batch, and returns
/// what ``vhpc_spawn_batch`` returns (1 for a NULL batch: its one failure).
int vhpc_spawn_batch_finish(struct vhpc_spawn_batch *batch, pid_t *pids, int *errors);

/// `prctl(PR_SET_CHILD_SUBREAPER, 1)`: orphaned descendants are re-parented to this process.
int vhpc_set_child_subreaper(void);

/// `pipe2(fds, O_CLOEXEC)`.
int vhpc_pipe_cloexec(int fds[2]);

/// `pidfd_open(pid, 0)`: a descriptor that polls readable once `pid` has exited (a zombie counts); -1 with
/// errno (`ESRCH`: no such process).
int vhpc_pidfd_open(pid_t pid);

/// `epoll_create1(EPOLL_CLOEXEC)`.
int vhpc_epoll_create(void);

/// Watches `fd` for reading (level-triggered) in `epfd`, under `token`: 0, or -1 with errno (`EPERM`: a
/// regular file, which epoll cannot watch).
int vhpc_epoll_watch(int epfd, int fd, unsigned long long token);

/// Stops watching `fd` in `epfd`.
int vhpc_epoll_forget(int epfd, int fd);

/// `epoll_wait(epfd, …, capacity, -1)`: fills `tokens` with the tokens of the ready descriptors; returns how
/// many, or -1 with errno.
int vhpc_epoll_wait(int epfd, unsigned long long *tokens, int capacity);

#endif
