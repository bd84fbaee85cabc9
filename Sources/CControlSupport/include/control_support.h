#ifndef VHPC_CONTROL_SUPPORT_H
#define VHPC_CONTROL_SUPPORT_H

#include "thread_cpu_clock.h"

/// Opens an existing file for writing with `O_DIRECT` (no page cache); -1 with errno if the file system
/// refuses it.
int vhpc_open_direct_write(const char *path);

#endif
