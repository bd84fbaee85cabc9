// Loads libvirt.so.0 the first time the libvirt plug-in calls into it, instead of linking it: libvirt pulls
// in some 50 shared libraries (glib, gnutls, ICU, curl...), whose loading every vhpc process paid at start,
// agents included, although only the libvirt plug-in uses them.
#include "clibvirt.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static void *library;
static char load_error[512] = "libvirt is not loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load libvirt (apt-get install libvirt0): %s",
                 reason ? reason : "unknown error");
    }
}

static void *resolve(const char *name) {
    pthread_once(&load_once, load);
    return library ? dlsym(library, name) : NULL;
}

// One wrapper per function: resolved once, then called directly; `fail` is returned without libvirt.
#define FORWARD(ret, name, fail, params, args)                            \
    ret vhpc_##name params {                                              \
        static ret(*function) params;                                     \
        if (!function) function = (ret(*) params)resolve(#name);          \
        return function ? function args : fail;                           \
    }

FORWARD(int, virConnectClose, -1, (virConnectPtr conn), (conn))
FORWARD(int, virConnectGetLibVersion, -1, (virConnectPtr conn, unsigned long *libVer), (conn, libVer))
FORWARD(virConnectPtr, virConnectOpen, NULL, (const char *name), (name))
FORWARD(virDomainPtr, virDomainCreateXML, NULL, (virConnectPtr conn, const char *xml, unsigned int flags), (conn, xml, flags))
FORWARD(int, virDomainDestroy, -1, (virDomainPtr domain), (domain))
FORWARD(int, virDomainFree, -1, (virDomainPtr domain), (domain))
FORWARD(int, virDomainGetState, -1, (virDomainPtr domain, int *state, int *reason, unsigned int flags),
        (domain, state, reason, flags))
FORWARD(int, virDomainGetUUIDString, -1, (virDomainPtr domain, char *buf), (domain, buf))
FORWARD(char *, virDomainGetXMLDesc, NULL, (virDomainPtr domain, unsigned int flags), (domain, flags))
FORWARD(virDomainPtr, virDomainLookupByName, NULL, (virConnectPtr conn, const char *name), (conn, name))
FORWARD(virDomainPtr, virDomainMigrate3, NULL,
        (virDomainPtr domain, virConnectPtr dconn, virTypedParameterPtr params, unsigned int nparams, unsigned int flags),
        (domain, dconn, params, nparams, flags))
FORWARD(int, virDomainResume, -1, (virDomainPtr domain), (domain))
FORWARD(int, virDomainShutdown, -1, (virDomainPtr domain), (domain))
FORWARD(int, virDomainSuspend, -1, (virDomainPtr domain), (domain))
FORWARD(int, virTypedParamsAddString, -1,
        (virTypedParameterPtr *params, int *nparams, int *maxparams, const char *name, const char *value),
        (params, nparams, maxparams, name, value))

const char *vhpc_virGetLastErrorMessage(void) {
    static const char *(*function)(void);
    if (!function) function = (const char *(*)(void))resolve("virGetLastErrorMessage");
    return function ? function() : load_error;
}

void vhpc_virSetErrorFunc(void *userData, virErrorFunc handler) {
    static void (*function)(void *, virErrorFunc);
    if (!function) function = (void (*)(void *, virErrorFunc))resolve("virSetErrorFunc");
    if (function) function(userData, handler);
}

void vhpc_virTypedParamsFree(virTypedParameterPtr params, int nparams) {
    static void (*function)(virTypedParameterPtr, int);
    if (!function) function = (void (*)(virTypedParameterPtr, int))resolve("virTypedParamsFree");
    if (function) function(params, nparams);
}
