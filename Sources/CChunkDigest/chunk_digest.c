// SHA-256 with its chaining value exposed between 64-byte-aligned pieces, on OpenSSL's SHA-256 (which uses
// the CPU's SHA extensions). The low-level SHA256_CTX API is deprecated in OpenSSL 3 but is the only one that
// lets a digest resume from a given chaining value.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "chunk_digest.h"

#include <openssl/sha.h>
#include <string.h>

static void load(SHA256_CTX *context, const vhpc_sha256_chain *chain) {
    SHA256_Init(context);
    memcpy(context->h, chain->h, sizeof chain->h);
    uint64_t bits = chain->length * 8;
    context->Nl = (SHA_LONG)bits;
    context->Nh = (SHA_LONG)(bits >> 32);
}

void vhpc_sha256_chain_init(vhpc_sha256_chain *chain) {
    SHA256_CTX context;
    SHA256_Init(&context);
    memcpy(chain->h, context.h, sizeof chain->h);
    chain->length = 0;
}

int vhpc_sha256_chain_absorb(vhpc_sha256_chain *chain, const void *data, size_t length) {
    if (length % SHA256_CBLOCK != 0) return 0;
    SHA256_CTX context;
    load(&context, chain);
    SHA256_Update(&context, data, length);
    memcpy(chain->h, context.h, sizeof chain->h);
    chain->length += length;
    return 1;
}

void vhpc_sha256_chain_finish(const vhpc_sha256_chain *chain, const void *data, size_t length, uint8_t out[32]) {
    SHA256_CTX context;
    load(&context, chain);
    SHA256_Update(&context, data, length);
    SHA256_Final(out, &context);
}
