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

#include <linux/random.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int vhpc_reseed_crng(const unsigned char *seed, int length) {
    int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct rand_pool_info *info = malloc(sizeof(struct rand_pool_info) + (size_t)length);
    if (!info) { close(fd); return -1; }
    info->entropy_count = length * 8;
    info->buf_size = length;
    memcpy(info->buf, seed, (size_t)length);
    int rc = ioctl(fd, RNDADDENTROPY, info);
    explicit_bzero(info->buf, (size_t)length);
    free(info);
    if (rc == 0) rc = ioctl(fd, RNDRESEEDCRNG);
    close(fd);
    return rc;
}

int vhpc_set_realtime_ms(unsigned long long milliseconds) {
    struct timespec ts = { .tv_sec = (time_t)(milliseconds / 1000), .tv_nsec = (long)(milliseconds % 1000) * 1000000L };
    return clock_settime(CLOCK_REALTIME, &ts);
}
