#define _GNU_SOURCE
#include "control_support.h"
#include <fcntl.h>

int vhpc_open_direct_write(const char *path) {
    return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
}
