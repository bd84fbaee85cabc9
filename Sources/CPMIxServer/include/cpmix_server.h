// OpenPMIx's server library (libpmix.so.2, Debian's libpmix2) for the node agent's PMIx server, loaded on first
// use (see pmix_loader.c): only an agent process whose job serves PMIx pays for it. The API is deliberately
// small and PMIx-type free, so Swift never sees PMIx's headers: info lists are built key by key, and the
// server's upcalls arrive through one event function.
#ifndef VHPC_CPMIX_SERVER_H
#define VHPC_CPMIX_SERVER_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// An info list under construction (a growing pmix_info_t array).
typedef struct vhpc_pmix_info_list vhpc_pmix_info_list;

vhpc_pmix_info_list *vhpc_pmix_info_new(void);
void vhpc_pmix_info_free(vhpc_pmix_info_list *list);
void vhpc_pmix_info_string(vhpc_pmix_info_list *list, const char *key, const char *value);
void vhpc_pmix_info_uint32(vhpc_pmix_info_list *list, const char *key, uint32_t value);
void vhpc_pmix_info_uint16(vhpc_pmix_info_list *list, const char *key, uint16_t value);
void vhpc_pmix_info_rank(vhpc_pmix_info_list *list, const char *key, uint32_t value);
void vhpc_pmix_info_bool(vhpc_pmix_info_list *list, const char *key, int value);
/// Appends `sublist` as a PMIX_DATA_ARRAY of infos under `key`; takes ownership of `sublist`.
void vhpc_pmix_info_array(vhpc_pmix_info_list *list, const char *key, vhpc_pmix_info_list *sublist);

/// What the server library tells its host.
enum vhpc_pmix_event_kind {
    VHPC_PMIX_CONNECTED = 1,
    VHPC_PMIX_FINALIZED = 2,
    /// `status` is the abort code, `message` the client's text.
    VHPC_PMIX_ABORT = 3,
    /// Every local client entered a fence: `data`/`size` is the node's contribution, `handle` must be
    /// completed with vhpc_pmix_fence_complete. `rank` is 0xFFFFFFFF for a fence over the whole namespace.
    VHPC_PMIX_FENCE = 4,
};

typedef void (*vhpc_pmix_event_fn)(void *context, int kind, uint32_t rank, int status, const char *message,
                                   const uint8_t *data, size_t size, uintptr_t handle);

/// Starts the process's server once (PMIx allows one per process): its rendezvous files go to `tmpdir`,
/// `hostname` is the node name clients see. Returns 0 (also when already started), else a PMIx status;
/// `error` then says why (library missing, init failed).
int vhpc_pmix_server_start(const char *tmpdir, const char *hostname, vhpc_pmix_event_fn handler, void *context,
                           char *error, size_t error_size);

/// The `index`th variable the server's start set in this process's environment because it was unset (its own
/// hwloc and security settings), NULL past the last: tasks started from the environment leave them out.
const char *vhpc_pmix_injected_variable(int index);

/// Registers a namespace with `local_procs` clients on this node; `info` is consumed. Blocks until done.
int vhpc_pmix_register_nspace(const char *nspace, int local_procs, vhpc_pmix_info_list *info);
/// Registers a client (blocks until done).
int vhpc_pmix_register_client(const char *nspace, uint32_t rank, uid_t uid, gid_t gid);
/// The client's PMIX_* environment, "NAME=value" strings ending with NULL; free with vhpc_pmix_free_env.
int vhpc_pmix_setup_fork(const char *nspace, uint32_t rank, char ***environment);
void vhpc_pmix_free_env(char **environment);
/// Completes a fence: `data` (copied) is every node's contribution, concatenated; `status` 0 or an error.
void vhpc_pmix_fence_complete(uintptr_t handle, int status, const uint8_t *data, size_t size);
/// Text for a PMIx status.
const char *vhpc_pmix_error_string(int status);
#endif
