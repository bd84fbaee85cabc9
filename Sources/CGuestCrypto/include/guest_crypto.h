#ifndef VHPC_GUEST_CRYPTO_H
#define VHPC_GUEST_CRYPTO_H
// SHA-256, HMAC-SHA256 and HKDF-SHA256 from OpenSSL's libcrypto (Debian's libssl-dev), linked statically
// into the guest agent. Each returns 1 on success, 0 on failure.
#include <stddef.h>
#include <stdint.h>

int vhpc_sha256(const void *data, size_t length, uint8_t out[32]);
// HMAC-SHA256(key, first || second): a frame's header and payload without copying them together.
int vhpc_hmac_sha256(const void *key, size_t key_length, const void *first, size_t first_length,
                     const void *second, size_t second_length, uint8_t out[32]);
// RFC 5869 extract-and-expand.
int vhpc_hkdf_sha256(const void *key, size_t key_length, const void *salt, size_t salt_length,
                     const void *info, size_t info_length, uint8_t *out, size_t out_length);

#endif
