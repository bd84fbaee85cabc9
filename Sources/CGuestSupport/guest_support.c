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

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

static int parse_mac(const char *text, unsigned char mac[6]) {
    unsigned int b[6];
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return -1;
    for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
    return 0;
}

int vhpc_configure_interface(const char *name, const char *mac, const char *address, int prefix) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFFLAGS, &request);
    if (rc == 0) {
        request.ifr_flags &= ~IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    if (rc == 0 && mac && *mac) {
        struct ifreq hw;
        memset(&hw, 0, sizeof hw);
        strncpy(hw.ifr_name, name, IFNAMSIZ - 1);
        hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        rc = parse_mac(mac, (unsigned char *)hw.ifr_hwaddr.sa_data);
        if (rc == 0) rc = ioctl(fd, SIOCSIFHWADDR, &hw);
    }
    if (rc == 0 && address && *address) {
        struct ifreq in;
        memset(&in, 0, sizeof in);
        strncpy(in.ifr_name, name, IFNAMSIZ - 1);
        struct sockaddr_in *sin = (struct sockaddr_in *)&in.ifr_addr;
        sin->sin_family = AF_INET;
        rc = inet_pton(AF_INET, address, &sin->sin_addr) == 1 ? 0 : -1;
        if (rc == 0) rc = ioctl(fd, SIOCSIFADDR, &in);
        if (rc == 0) {
            sin->sin_addr.s_addr = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - (prefix > 32 ? 32 : prefix)));
            rc = ioctl(fd, SIOCSIFNETMASK, &in);
        }
        if (rc == 0) {
            request.ifr_flags |= IFF_UP;
            rc = ioctl(fd, SIOCSIFFLAGS, &request);
        }
    }
    close(fd);
    return rc;
}
