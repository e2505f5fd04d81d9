#ifndef RENKEI_CLZ4_SHIM_H
#define RENKEI_CLZ4_SHIM_H
// Debian's liblz4-dev (1.9.4): the frame format, which the stock `lz4` tool reads.
#include <lz4frame.h>
#endif
