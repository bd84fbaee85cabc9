#define _GNU_SOURCE
#include "guest_support.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/reboot.h>

int vhpc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int vhpc_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

short vhpc_spawn_flag_setsid(void) { return POSIX_SPAWN_SETSID; }

int vhpc_power_off(int reboot_instead) {
    sync();
    return reboot(reboot_instead ? RB_AUTOBOOT : RB_POWER_OFF);
}
