#ifndef VHPC_GUEST_SUPPORT_H
#define VHPC_GUEST_SUPPORT_H
// Thin shims over GNU/Linux calls that Swift's Glibc module does not import.
#include <sys/types.h>
#include <spawn.h>

int vhpc_pipe_cloexec(int fds[2]);
int vhpc_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
short vhpc_spawn_flag_setsid(void);
int vhpc_power_off(int reboot_instead);
/// Credits `seed` to the kernel's input pool and reseeds the CRNG at once (RNDADDENTROPY, RNDRESEEDCRNG).
int vhpc_reseed_crng(const unsigned char *seed, int length);
/// Sets CLOCK_REALTIME.
int vhpc_set_realtime_ms(unsigned long long milliseconds);

#endif
