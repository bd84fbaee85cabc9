#ifndef VHPC_CONTROL_SUPPORT_H
#define VHPC_CONTROL_SUPPORT_H

#include "thread_cpu_clock.h"

/// Opens an existing file for writing with `O_DIRECT` (no page cache); -1 with errno if the file system
/// refuses it.
int vhpc_open_direct_write(const char *path);

/// Asks the processor to bring the `bytes` at `address` into its caches ahead of use (one prefetch per
/// 64-byte line; no effect on what the program computes). The scale simulator prefetches the state of the
/// node whose event comes next while it runs the current one: at 100,000 modelled nodes that state is
/// nowhere in the caches, and every event used to start with a run of cache misses.
static inline void vhpc_prefetch(const void *address, unsigned long bytes) {
    for (unsigned long offset = 0; offset < bytes; offset += 64) __builtin_prefetch((const char *)address + offset);
}

#endif
