// Loads libpmix.so.2 the first time a job serves PMIx, instead of linking it: OpenPMIx pulls in hwloc, libevent
// and its plug-ins, which no other agent, nor the front-end, needs. Only the calls vhpc makes are resolved.
#include "cpmix_server.h"
#include <dlfcn.h>
#include <pmix.h>
#include <pmix_server.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *library;
static char load_error[512] = "libpmix is not loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen("libpmix.so.2", RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load OpenPMIx (apt-get install libpmix2): %s",
                 reason ? reason : "unknown error");
    }
}

static void *resolve(const char *name) {
    pthread_once(&load_once, load);
    return library ? dlsym(library, name) : NULL;
}

// The library's own prototypes (from its headers) type each pointer.
#define RESOLVE(name)                                 \
    static __typeof__(&name) name##_fn;               \
    if (!name##_fn) name##_fn = (__typeof__(&name))resolve(#name)

// MARK: info lists

struct vhpc_pmix_info_list {
    pmix_info_t *items;
    size_t count, capacity;
};

vhpc_pmix_info_list *vhpc_pmix_info_new(void) { return calloc(1, sizeof(vhpc_pmix_info_list)); }

static pmix_info_t *append(vhpc_pmix_info_list *list, const char *key, pmix_data_type_t type) {
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 16;
        list->items = realloc(list->items, list->capacity * sizeof(pmix_info_t));
    }
    pmix_info_t *info = &list->items[list->count++];
    memset(info, 0, sizeof *info);
    strncpy(info->key, key, PMIX_MAX_KEYLEN);
    info->value.type = type;
    return info;
}

void vhpc_pmix_info_string(vhpc_pmix_info_list *list, const char *key, const char *value) {
    append(list, key, PMIX_STRING)->value.data.string = strdup(value);
}
void vhpc_pmix_info_uint32(vhpc_pmix_info_list *list, const char *key, uint32_t value) {
    append(list, key, PMIX_UINT32)->value.data.uint32 = value;
}
void vhpc_pmix_info_uint16(vhpc_pmix_info_list *list, const char *key, uint16_t value) {
    append(list, key, PMIX_UINT16)->value.data.uint16 = value;
}
void vhpc_pmix_info_rank(vhpc_pmix_info_list *list, const char *key, uint32_t value) {
    append(list, key, PMIX_PROC_RANK)->value.data.rank = value;
}
void vhpc_pmix_info_bool(vhpc_pmix_info_list *list, const char *key, int value) {
    append(list, key, PMIX_BOOL)->value.data.flag = value != 0;
}
void vhpc_pmix_info_array(vhpc_pmix_info_list *list, const char *key, vhpc_pmix_info_list *sublist) {
    pmix_data_array_t *array = calloc(1, sizeof *array);
    array->type = PMIX_INFO;
    array->size = sublist->count;
    array->array = sublist->items;
    free(sublist);
    append(list, key, PMIX_DATA_ARRAY)->value.data.darray = array;
}

static void free_items(pmix_info_t *items, size_t count) {
    for (size_t n = 0; n < count; n++) {
        if (items[n].value.type == PMIX_STRING) free(items[n].value.data.string);
        if (items[n].value.type == PMIX_DATA_ARRAY && items[n].value.data.darray) {
            free_items(items[n].value.data.darray->array, items[n].value.data.darray->size);
            free(items[n].value.data.darray);
        }
    }
    free(items);
}

void vhpc_pmix_info_free(vhpc_pmix_info_list *list) {
    if (!list) return;
    free_items(list->items, list->count);
    free(list);
}

// MARK: waiting for the library's callbacks

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    pmix_status_t status;
};
#define WAITER_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, PMIX_SUCCESS}

static void wake(pmix_status_t status, void *cbdata) {
    struct waiter *waiter = cbdata;
    pthread_mutex_lock(&waiter->lock);
    waiter->status = status;
    waiter->done = 1;
    pthread_cond_signal(&waiter->cond);
    pthread_mutex_unlock(&waiter->lock);
}

static pmix_status_t wait_for(struct waiter *waiter, pmix_status_t started) {
    if (started != PMIX_SUCCESS) return started == PMIX_OPERATION_SUCCEEDED ? PMIX_SUCCESS : started;
    pthread_mutex_lock(&waiter->lock);
    while (!waiter->done) pthread_cond_wait(&waiter->cond, &waiter->lock);
    pthread_mutex_unlock(&waiter->lock);
    return waiter->status;
}

// MARK: the server module (upcalls on the library's progress thread)

static vhpc_pmix_event_fn event_handler;
static void *event_context;

static pmix_status_t on_connected(const pmix_proc_t *proc, void *object, pmix_op_cbfunc_t cbfunc, void *cbdata) {
    (void)object;
    event_handler(event_context, VHPC_PMIX_CONNECTED, proc->rank, 0, NULL, NULL, 0, 0);
    if (cbfunc) cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

static pmix_status_t on_finalized(const pmix_proc_t *proc, void *object, pmix_op_cbfunc_t cbfunc, void *cbdata) {
    (void)object; (void)cbfunc; (void)cbdata;
    event_handler(event_context, VHPC_PMIX_FINALIZED, proc->rank, 0, NULL, NULL, 0, 0);
    return PMIX_OPERATION_SUCCEEDED;
}

static pmix_status_t on_abort(const pmix_proc_t *proc, void *object, int status, const char msg[],
                              pmix_proc_t procs[], size_t nprocs, pmix_op_cbfunc_t cbfunc, void *cbdata) {
    (void)object; (void)procs; (void)nprocs;
    event_handler(event_context, VHPC_PMIX_ABORT, proc->rank, status, msg, NULL, 0, 0);
    // Released at once: the client then exits with its code, which the failure policy sees too.
    if (cbfunc) cbfunc(PMIX_SUCCESS, cbdata);
    return PMIX_SUCCESS;
}

struct fence {
    pmix_modex_cbfunc_t cbfunc;
    void *cbdata;
};

static pmix_status_t on_fence(const pmix_proc_t procs[], size_t nprocs, const pmix_info_t info[], size_t ninfo,
                              char *data, size_t ndata, pmix_modex_cbfunc_t cbfunc, void *cbdata) {
    (void)info; (void)ninfo;
    // Collectives over part of a namespace (PMIx groups, MPI_Comm_spawn) are not offered: one fence at a
    // time over the whole job, the way MPI_Init and MPI_Finalize fence.
    if (nprocs != 1 || procs[0].rank != PMIX_RANK_WILDCARD) return PMIX_ERR_NOT_SUPPORTED;
    struct fence *fence = malloc(sizeof *fence);
    fence->cbfunc = cbfunc;
    fence->cbdata = cbdata;
    event_handler(event_context, VHPC_PMIX_FENCE, procs[0].rank, 0, NULL, (const uint8_t *)data, ndata, (uintptr_t)fence);
    return PMIX_SUCCESS;
}

static pmix_status_t on_direct_modex(const pmix_proc_t *proc, const pmix_info_t info[], size_t ninfo,
                                     pmix_modex_cbfunc_t cbfunc, void *cbdata) {
    // Every fence collects all data (Open MPI's default): there is nothing a peer could fetch directly.
    (void)proc; (void)info; (void)ninfo; (void)cbfunc; (void)cbdata;
    return PMIX_ERR_NOT_SUPPORTED;
}

static void release_blob(void *cbdata) { free(cbdata); }

void vhpc_pmix_fence_complete(uintptr_t handle, int status, const uint8_t *data, size_t size) {
    struct fence *fence = (struct fence *)handle;
    char *copy = NULL;
    if (size > 0) {
        copy = malloc(size);
        memcpy(copy, data, size);
    }
    if (fence->cbfunc) fence->cbfunc(status, copy, size, fence->cbdata, release_blob, copy);
    else free(copy);
    free(fence);
}

static pmix_server_module_t module = {
    .client_connected = on_connected,
    .client_finalized = on_finalized,
    .abort = on_abort,
    .fence_nb = on_fence,
    .direct_modex = on_direct_modex,
};

// MARK: server calls

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;
/// The variables `set_for_server` set because they were unset: the server's own settings, which the agent's
/// tasks must not inherit from its environment (a user's value is never among them). Guarded by start_lock.
static const char *injected[4];
static int injected_count;

/// Sets `name` for the server and the libraries it loads, unless the environment already has it. The names set
/// are also listed in VHPC_PMIX_OWN_VARIABLES, so that an agent process started from this environment (which
/// inherits them) knows them for the server's too.
static void set_for_server(const char *name, const char *value) {
    if (getenv(name) != NULL || injected_count == (int)(sizeof injected / sizeof injected[0])) return;
    setenv(name, value, 0);
    injected[injected_count++] = name;
    char list[256] = "";
    for (int i = 0; i < injected_count; i++) {
        if (i > 0) strncat(list, ",", sizeof list - strlen(list) - 1);
        strncat(list, injected[i], sizeof list - strlen(list) - 1);
    }
    const char *inherited = getenv("VHPC_PMIX_OWN_VARIABLES");
    if (inherited != NULL && inherited[0] != '\0') {
        strncat(list, ",", sizeof list - strlen(list) - 1);
        strncat(list, inherited, sizeof list - strlen(list) - 1);
    }
    setenv("VHPC_PMIX_OWN_VARIABLES", list, 1);
}

const char *vhpc_pmix_injected_variable(int index) {
    pthread_mutex_lock(&start_lock);
    const char *name = index >= 0 && index < injected_count ? injected[index] : NULL;
    pthread_mutex_unlock(&start_lock);
    return name;
}

int vhpc_pmix_server_start(const char *tmpdir, const char *hostname, vhpc_pmix_event_fn handler, void *context,
                           char *error, size_t error_size) {
    pthread_mutex_lock(&start_lock);
    if (started) {
        pthread_mutex_unlock(&start_lock);
        return 0;
    }
    RESOLVE(PMIx_server_init);
    if (!PMIx_server_init_fn) {
        snprintf(error, error_size, "%s", load_error);
        pthread_mutex_unlock(&start_lock);
        return PMIX_ERR_NOT_SUPPORTED;
    }
    event_handler = handler;
    event_context = context;
    // Clients prove who they are with the kernel's peer credentials, not munge: a node need not run munged.
    set_for_server("PMIX_MCA_psec", "native");
    // The server wants the node's CPU topology only: hwloc's GPU, OpenCL, X11 and PCI plug-ins would load some
    // 20 more libraries (ICU, libX11, libOpenCL...) into every agent that serves PMIx.
    set_for_server("HWLOC_PLUGINS_BLACKLIST", "hwloc_pci,hwloc_opencl,hwloc_gl,hwloc_xml_libxml,hwloc_cuda,hwloc_nvml,hwloc_rsmi,hwloc_levelzero");
    // Nor its I/O devices: hwloc's linuxio component reads every PCI device's config space from sysfs, and in a
    // virtual machine each of those reads traps to the hypervisor (~3 ms of kernel time per agent process here, perf).
    set_for_server("HWLOC_COMPONENTS", "-linuxio,-pci");
    vhpc_pmix_info_list *info = vhpc_pmix_info_new();
    vhpc_pmix_info_string(info, PMIX_SERVER_TMPDIR, tmpdir);
    vhpc_pmix_info_string(info, PMIX_SYSTEM_TMPDIR, tmpdir);
    vhpc_pmix_info_string(info, PMIX_HOSTNAME, hostname);
    pmix_status_t status = PMIx_server_init_fn(&module, info->items, info->count);
    vhpc_pmix_info_free(info);
    if (status != PMIX_SUCCESS) {
        snprintf(error, error_size, "PMIx_server_init: %s", vhpc_pmix_error_string(status));
    } else {
        started = 1;
    }
    pthread_mutex_unlock(&start_lock);
    return status;
}

int vhpc_pmix_register_nspace(const char *nspace, int local_procs, vhpc_pmix_info_list *info) {
    RESOLVE(PMIx_server_register_nspace);
    if (!PMIx_server_register_nspace_fn) {
        vhpc_pmix_info_free(info);
        return PMIX_ERR_NOT_SUPPORTED;
    }
    pmix_nspace_t name;
    memset(name, 0, sizeof name);
    strncpy(name, nspace, PMIX_MAX_NSLEN);
    struct waiter waiter = WAITER_INIT;
    pmix_status_t status = wait_for(&waiter, PMIx_server_register_nspace_fn(name, local_procs, info->items, info->count, wake, &waiter));
    vhpc_pmix_info_free(info);
    return status;
}

static pmix_proc_t make_proc(const char *nspace, uint32_t rank) {
    pmix_proc_t proc;
    memset(&proc, 0, sizeof proc);
    strncpy(proc.nspace, nspace, PMIX_MAX_NSLEN);
    proc.rank = rank;
    return proc;
}

int vhpc_pmix_register_client(const char *nspace, uint32_t rank, uid_t uid, gid_t gid) {
    RESOLVE(PMIx_server_register_client);
    if (!PMIx_server_register_client_fn) return PMIX_ERR_NOT_SUPPORTED;
    pmix_proc_t proc = make_proc(nspace, rank);
    struct waiter waiter = WAITER_INIT;
    return wait_for(&waiter, PMIx_server_register_client_fn(&proc, uid, gid, NULL, wake, &waiter));
}

int vhpc_pmix_setup_fork(const char *nspace, uint32_t rank, char ***environment) {
    RESOLVE(PMIx_server_setup_fork);
    *environment = NULL;
    if (!PMIx_server_setup_fork_fn) return PMIX_ERR_NOT_SUPPORTED;
    pmix_proc_t proc = make_proc(nspace, rank);
    return PMIx_server_setup_fork_fn(&proc, environment);
}

void vhpc_pmix_free_env(char **environment) {
    if (!environment) return;
    for (char **entry = environment; *entry; entry++) free(*entry);
    free(environment);
}

const char *vhpc_pmix_error_string(int status) {
    RESOLVE(PMIx_Error_string);
    return PMIx_Error_string_fn ? PMIx_Error_string_fn(status) : load_error;
}
