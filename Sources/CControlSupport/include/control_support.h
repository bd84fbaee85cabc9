#ifndef VHPC_CONTROL_SUPPORT_H
#define VHPC_CONTROL_SUPPORT_H

#include "thread_cpu_clock.h"

/// Opens an existing file for writing with `O_DIRECT` (no page cache); -1 with errno if the file system
/// refuses it.
int vhpc_open_direct_write(const char *path);

/// Asks the processor to bring the `bytes` at `address` into its caches ahead of use, to be written (one
/// prefetch per 64-byte line they touch; no effect on what the program computes). The scale simulator prefetches the state of the
/// node whose event comes next while it runs the current one: at 100,000 modelled nodes that state is
/// nowhere in the caches, and every event used to start with a run of cache misses.
static inline void vhpc_prefetch(const void *address, unsigned long bytes) {
    // From the line the first byte is in to the one the last byte is in (records are not 64-byte aligned).
    unsigned long first = (unsigned long)address & ~63UL;
    unsigned long end = (unsigned long)address + bytes;
    for (unsigned long line = first; line < end; line += 64) __builtin_prefetch((const void *)line, 1);
}

#endif
