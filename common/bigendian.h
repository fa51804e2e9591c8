/*  bigendian.h: unsigned integers as big-endian bytes, for the fixed
    layouts written to disk or sent between nodes (the cluster's log
    entries, the recorder's keys): the same bytes on every machine. */
#ifndef DOSSIER_BIGENDIAN_H
#define DOSSIER_BIGENDIAN_H

#include <stdint.h>

/*  Writes the low `bytes` bytes (1 to 8) of v to out, most significant
    first. */
static inline void
be_put(uint8_t *out, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/*  Reads `bytes` bytes (1 to 8) at in, most significant first. */
static inline uint64_t
be_get(const uint8_t *in, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = v << 8 | in[i];
    }
    return v;
}

#endif
