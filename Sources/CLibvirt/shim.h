// libvirt's C API (Debian: libvirt-dev), for the V2M libvirt plug-in.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
