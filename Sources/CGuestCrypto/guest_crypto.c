#include "guest_crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

int vhpc_sha256(const void *data, size_t length, uint8_t out[32]) {
    unsigned int size = 0;
    return EVP_Digest(data, length, out, &size, EVP_sha256(), NULL) == 1 && size == 32;
}

int vhpc_hmac_sha256(const void *key, size_t key_length, const void *first, size_t first_length,
                     const void *second, size_t second_length, uint8_t out[32]) {
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);  // OpenSSL caches fetched methods
    if (hmac == NULL) return 0;
    EVP_MAC_CTX *context = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);
    if (context == NULL) return 0;
    OSSL_PARAM parameters[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t size = 0;
    int ok = EVP_MAC_init(context, key, key_length, parameters) == 1
        && EVP_MAC_update(context, first, first_length) == 1
        && EVP_MAC_update(context, second, second_length) == 1
        && EVP_MAC_final(context, out, &size, 32) == 1
        && size == 32;
    EVP_MAC_CTX_free(context);
    return ok;
}

int vhpc_hkdf_sha256(const void *key, size_t key_length, const void *salt, size_t salt_length,
                     const void *info, size_t info_length, uint8_t *out, size_t out_length) {
    EVP_KDF *hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (hkdf == NULL) return 0;
    EVP_KDF_CTX *context = EVP_KDF_CTX_new(hkdf);
    EVP_KDF_free(hkdf);
    if (context == NULL) return 0;
    OSSL_PARAM parameters[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_length),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_length),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_length),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(context, out, out_length, parameters) == 1;
    EVP_KDF_CTX_free(context);
    return ok;
}
