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
/// Takes `name` down, sets its MAC (if any) and IPv4 address/prefix (if any), then up again when it has an
/// address: the work of five `ip` commands without a process (each costs tens of milliseconds under TCG).
int vhpc_configure_interface(const char *name, const char *mac, const char *address, int prefix);
/// Sets CLOCK_REALTIME.
int vhpc_set_realtime_ms(unsigned long long milliseconds);

#endif
