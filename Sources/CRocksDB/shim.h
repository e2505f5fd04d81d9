#ifndef RENKEI_CROCKSDB_SHIM_H
#define RENKEI_CROCKSDB_SHIM_H
// Debian's librocksdb-dev (7.8.3) C API.
#include <rocksdb/c.h>
#endif
