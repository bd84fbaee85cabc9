// Loads libhwloc.so.15 the first time a job needs the topology (see chwloc.h) and exports it as XML.
#include "chwloc.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *topology_t;
static void *library;
static char load_error[256] = "libhwloc is not loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static struct {
    unsigned (*api_version)(void);
    int (*init)(topology_t *);
    int (*load)(topology_t);
    int (*export_xmlbuffer)(topology_t, char **, int *, unsigned long);
    void (*free_xmlbuffer)(topology_t, char *);
    void (*destroy)(topology_t);
} hwloc;

static void load(void) {
    library = dlopen("libhwloc.so.15", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load hwloc (apt-get install libhwloc15): %s", reason ? reason : "unknown error");
        return;
    }
    hwloc.api_version = (unsigned (*)(void))dlsym(library, "hwloc_get_api_version");
    hwloc.init = (int (*)(topology_t *))dlsym(library, "hwloc_topology_init");
    hwloc.load = (int (*)(topology_t))dlsym(library, "hwloc_topology_load");
    hwloc.export_xmlbuffer = (int (*)(topology_t, char **, int *, unsigned long))dlsym(library, "hwloc_topology_export_xmlbuffer");
    hwloc.free_xmlbuffer = (void (*)(topology_t, char *))dlsym(library, "hwloc_free_xmlbuffer");
    hwloc.destroy = (void (*)(topology_t))dlsym(library, "hwloc_topology_destroy");
    if (!hwloc.api_version || !hwloc.init || !hwloc.load || !hwloc.export_xmlbuffer || !hwloc.free_xmlbuffer || !hwloc.destroy) {
        snprintf(load_error, sizeof load_error, "libhwloc.so.15 lacks an hwloc 2 call");
        library = NULL;
        return;
    }
    // The soname promises hwloc 2.x, whose export_xmlbuffer takes the flags argument used here.
    unsigned version = hwloc.api_version();
    if ((version >> 16) != 2) {
        snprintf(load_error, sizeof load_error, "libhwloc.so.15 has API version %#x, not 2.x", version);
        library = NULL;
    }
}

int vhpc_hwloc_export_xml(char **xml, size_t *length, char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (!library) {
        snprintf(error, error_size, "%s", load_error);
        return -1;
    }
    topology_t topology = NULL;
    if (hwloc.init(&topology) != 0) {
        snprintf(error, error_size, "hwloc_topology_init failed");
        return -1;
    }
    int status = -1;
    char *buffer = NULL;
    int size = 0;
    if (hwloc.load(topology) != 0) {
        snprintf(error, error_size, "hwloc_topology_load failed");
    } else if (hwloc.export_xmlbuffer(topology, &buffer, &size, 0) != 0 || !buffer || size <= 0) {
        snprintf(error, error_size, "hwloc_topology_export_xmlbuffer failed");
    } else {
        // hwloc counts the terminating NUL in size.
        size_t text = strnlen(buffer, (size_t)size);
        *xml = malloc(text + 1);
        if (*xml) {
            memcpy(*xml, buffer, text);
            (*xml)[text] = 0;
            *length = text;
            status = 0;
        } else {
            snprintf(error, error_size, "out of memory for %zu bytes of topology", text);
        }
    }
    if (buffer) hwloc.free_xmlbuffer(topology, buffer);
    hwloc.destroy(topology);
    return status;
}
