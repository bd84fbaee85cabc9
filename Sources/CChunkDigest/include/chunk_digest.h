#ifndef VHPC_CHUNK_DIGEST_H
#define VHPC_CHUNK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256 part-way through a message: the chaining value after `length` bytes (a multiple of 64).
typedef struct {
    uint32_t h[8];
    uint64_t length;
} vhpc_sha256_chain;

/// The state before any byte (SHA-256's initial value).
void vhpc_sha256_chain_init(vhpc_sha256_chain *chain);

/// Absorbs `length` bytes, a multiple of 64. Returns 0 if `length` is not.
int vhpc_sha256_chain_absorb(vhpc_sha256_chain *chain, const void *data, size_t length);

/// The SHA-256 of the whole message: `chain`, then the last `length` bytes (any length), then padding.
void vhpc_sha256_chain_finish(const vhpc_sha256_chain *chain, const void *data, size_t length, uint8_t out[32]);

#endif
