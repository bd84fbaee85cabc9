#ifndef VHPC_THREAD_CPU_CLOCK_H
#define VHPC_THREAD_CPU_CLOCK_H

#include <stdint.h>

/// Counter time after which `vhpc_thread_cpu_ns` goes back to the system call: its error bound (250 µs).
#define VHPC_THREAD_CPU_RESYNC_NS 250000

/// CPU time of the calling thread in nanoseconds, as `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` gives it, but
/// without a system call on most reads (the scale simulator reads it twice per event; the system call was a
/// tenth of its time). On x86-64 Linux it reads the time-stamp counter and a perf event's mmap page of the
/// thread: the kernel bumps that page's sequence number whenever the thread is switched out or in, so while
/// the number stays what it was at the last system-call reading, the thread has run all along and its CPU
/// time is that reading plus the counter's ticks since. When the number has moved (or perf events are not
/// allowed, or another architecture), it makes the system call and takes it as the new reading.
///
/// On a virtual machine the counter also runs while the hypervisor has stolen the CPU, which the thread's CPU
/// clock does not count, and no switch shows it: a counter reading can run ahead of the system call. So a
/// reading older than `VHPC_THREAD_CPU_RESYNC_NS` is taken again with the system call (the error stays under
/// that), and readings never go back (a later, lower one returns the last value instead).
uint64_t vhpc_thread_cpu_ns(void);

/// Whether `vhpc_thread_cpu_ns` reads the counter on this thread (0: every read is the system call).
int vhpc_thread_cpu_clock_is_fast(void);

#endif
