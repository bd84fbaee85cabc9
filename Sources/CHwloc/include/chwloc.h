// The machine's hardware topology as hwloc's XML, from the system's hwloc 2 library (libhwloc.so.15, which
// Debian's MPICH and OpenPMIx link), loaded on first use: only an agent whose job runs an MPICH program pays
// for it, and a machine without the library simply gets no XML. hwloc's headers are not needed: the five
// calls made take opaque pointers.
#ifndef VHPC_CHWLOC_H
#define VHPC_CHWLOC_H
#include <stddef.h>

/// Discovers this process's view of the machine (hwloc_topology_load) and returns it as XML in `*xml`
/// (malloc'd, NUL-terminated, `*length` bytes without the NUL; free with free()). Returns 0, or -1 with
/// `error` (of `error_size` bytes) saying why: the library is missing, too old, or failed.
int vhpc_hwloc_export_xml(char **xml, size_t *length, char *error, size_t error_size);

#endif
