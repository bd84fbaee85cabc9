// libvirt's C API for the V2M libvirt plug-in (types and constants from Debian's libvirt-dev), called
// through vhpc_* wrappers that load libvirt.so.0 on first use (see libvirt_loader.c).
#ifndef VHPC_CLIBVIRT_H
#define VHPC_CLIBVIRT_H
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

int vhpc_virConnectClose(virConnectPtr conn);
int vhpc_virConnectGetLibVersion(virConnectPtr conn, unsigned long *libVer);
virConnectPtr vhpc_virConnectOpen(const char *name);
virDomainPtr vhpc_virDomainCreateXML(virConnectPtr conn, const char *xmlDesc, unsigned int flags);
int vhpc_virDomainDestroy(virDomainPtr domain);
int vhpc_virDomainFree(virDomainPtr domain);
int vhpc_virDomainGetState(virDomainPtr domain, int *state, int *reason, unsigned int flags);
int vhpc_virDomainGetUUIDString(virDomainPtr domain, char *buf);
char *vhpc_virDomainGetXMLDesc(virDomainPtr domain, unsigned int flags);
virDomainPtr vhpc_virDomainLookupByName(virConnectPtr conn, const char *name);
virDomainPtr vhpc_virDomainMigrate3(virDomainPtr domain, virConnectPtr dconn, virTypedParameterPtr params,
                                    unsigned int nparams, unsigned int flags);
int vhpc_virDomainResume(virDomainPtr domain);
int vhpc_virDomainShutdown(virDomainPtr domain);
int vhpc_virDomainSuspend(virDomainPtr domain);
/// The last libvirt error on this thread, or why libvirt could not be loaded.
const char *vhpc_virGetLastErrorMessage(void);
void vhpc_virSetErrorFunc(void *userData, virErrorFunc handler);
int vhpc_virTypedParamsAddString(virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name,
                                 const char *value);
void vhpc_virTypedParamsFree(virTypedParameterPtr params, int nparams);
#endif
