/* Version queries, for bindings that check the library they loaded. */
#include "bitnet/bitnet.h"

BN_API int bn_version(void) { return BN_VERSION_NUMBER; }
BN_API const char *bn_version_string(void) { return BN_VERSION_STRING; }
BN_API int bn_abi_version(void) { return BN_ABI_VERSION; }
