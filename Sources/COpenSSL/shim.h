// The low-level SHA256_Init/Update/Final are deprecated in OpenSSL 3 but are the only digest
// calls that neither fetch a method under a lock nor allocate; the credential cache's key uses them.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
