// The step keeper: a Slurm job step's task on each node is `vhpc-agent --role step`, which must outlive the
// agent as a child subreaper (see step_keeper.h). This constructor runs before Swift's runtime or any thread
// exists, so the process can fork and go on as the agent in the child without a second exec of vhpc-agent (a
// Swift process start: 65-100 ms of the step's launch on a loaded 2-core node), while the parent stays
// behind as a small C keeper that runs no Swift code.
#define _GNU_SOURCE
#include "step_keeper.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kept;

int vhpc_step_keeper_kept(void) { return kept; }

/// Signals the keeper passes on to the agent (srun forwards SIGTERM, SIGINT… to the step's tasks).
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

static void append_children(pid_t pid, pid_t *out, size_t *count, size_t capacity);

/// Every descendant of `pid` (children first), read from /proc/PID/task/TID/children; at most `capacity`.
static size_t descendants(pid_t pid, pid_t *out, size_t capacity) {
    size_t count = 0;
    append_children(pid, out, &count, capacity);
    for (size_t i = 0; i < count; i++) append_children(out[i], out, &count, capacity);
    return count;
}

static void append_children(pid_t pid, pid_t *out, size_t *count, size_t capacity) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL) return;
    struct dirent *task;
    while ((task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.') continue;
        char children_path[96];
        snprintf(children_path, sizeof children_path, "/proc/%d/task/%s/children", (int)pid, task->d_name);
        FILE *children = fopen(children_path, "re");
        if (children == NULL) continue;
        int child;
        while (*count < capacity && fscanf(children, "%d", &child) == 1) out[(*count)++] = (pid_t)child;
        fclose(children);
    }
    closedir(tasks);
}

/// Reaps every exited child; records the agent's status when it is among them.
static void reap(pid_t agent, int *agent_status, int *agent_done) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == agent) {
            *agent_status = status;
            *agent_done = 1;
        }
    }
}

/// Kills what is still below the keeper (tasks the agent left behind, re-parented here), for at most 2 s.
static void sweep(void) {
    enum { capacity = 65536 };
    static pid_t leftovers[capacity];
    struct timespec start, now, pause = {0, 5 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int ignored_status, ignored_done;
        reap(-1, &ignored_status, &ignored_done);
        size_t count = descendants(getpid(), leftovers, capacity);
        if (count == 0) return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 2) return;
        for (size_t i = 0; i < count; i++) {
            kill(-leftovers[i], SIGKILL);
            kill(leftovers[i], SIGKILL);
        }
        nanosleep(&pause, NULL);
    }
}

/// The keeper's whole life after the fork: forward signals, reap, sweep, exit with the agent's status.
static void keep(pid_t agent, const sigset_t *waited) {
    int agent_status = 0, agent_done = 0;
    while (!agent_done) {
        int number;
        if (sigwait(waited, &number) != 0) continue;
        if (number == SIGCHLD) {
            reap(agent, &agent_status, &agent_done);
        } else {
            kill(agent, number);
        }
    }
    sweep();
    if (WIFSIGNALED(agent_status)) _exit(128 + WTERMSIG(agent_status));
    _exit(WEXITSTATUS(agent_status));
}

static int is_step_agent(int argc, char **argv) {
    return argc >= 3 && strcmp(argv[1], "--role") == 0 && (strcmp(argv[2], "step") == 0 || strcmp(argv[2], "resident") == 0);
}

__attribute__((constructor)) static void vhpc_step_keeper(int argc, char **argv, char **envp) {
    (void)envp;
    if (argv == NULL || !is_step_agent(argc, argv)) return;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        fprintf(stderr, "vhpc-agent --role step: cannot become a child subreaper: %s\n", strerror(errno));
        _exit(1);
    }
    // Blocked before the fork, so nothing sent in between is lost; waited for synchronously by the keeper.
    sigset_t waited, previous;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&waited, forwarded[i]);
    signal(SIGCHLD, SIG_DFL);  // an inherited SIG_IGN would reap the agent behind the keeper's back
    sigprocmask(SIG_BLOCK, &waited, &previous);
    pid_t agent = fork();
    if (agent < 0) {
        fprintf(stderr, "vhpc-agent --role step: cannot fork the agent: %s\n", strerror(errno));
        _exit(1);
    }
    if (agent == 0) {
        // The agent: what the step started, with the keeper as its parent.
        // No setenv here: it moves `environ` off the initial stack, and the static Swift runtime finds argv
        // from there (the agent then saw no arguments at all).
        sigprocmask(SIG_SETMASK, &previous, NULL);
        prctl(PR_SET_CHILD_SUBREAPER, 0);
        kept = 1;
        return;
    }
    keep(agent, &waited);
}
