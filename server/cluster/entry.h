/*  entry.h: the bytes of one entry of a cluster's Raft log
    (docs/ARCHITECTURE.md "Cluster").

    An entry is a fixed 40-byte header, then a payload:

        0  "DSR1"                      magic and format version
        4  type       u32 big-endian   CLUSTER_ENTRY_BATCH, _LEADER or
                                       _BARRIER
        8  origin     u64              the node that proposed it
       16  boot       u64              a random number of that node's run
       24  seq        u64              its proposal count in that run
       32  time_ms    i64              the leader's wall clock, set by
                                       the leader when it appends it
       40  length     u64              the payload's length
       48  payload, then zero bytes to a multiple of 8 (raft_uv 0.15
           stores an entry's bytes in 8-byte units and asserts it only
           in debug builds: an odd length corrupts its segment files)

    BATCH: a packed dossier.v1.ClusterBatch (cluster.proto), the checked
    requests of one group commit with their callers. LEADER: the
    ZeroMQ endpoint where the origin node, now leader, takes forwarded
    entries (text, no NUL). BARRIER: no payload; applied, it tells its
    origin that every entry before it is applied there (seq: the
    origin's read-barrier count; a STRONG read waits for it). Every node applies
   the same bytes the same way: what the leader decides (the time) is in the
   header, what the store decides (versions, audit sequence numbers) follows
   from the entries before it. origin, boot and seq let the node that proposed a
    batch find its waiting callers when it applies the entry. */
#ifndef DOSSIER_SERVER_CLUSTER_ENTRY_H
#define DOSSIER_SERVER_CLUSTER_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/job.h"
#include "status.h"

#define CLUSTER_ENTRY_HEADER 48

/*  The size of an entry of size bytes once padded to 8 bytes. */
#define CLUSTER_ENTRY_PADDED(size) (((size) + 7) / 8 * 8)

typedef enum {
    CLUSTER_ENTRY_BATCH = 1,
    CLUSTER_ENTRY_LEADER = 2,
    CLUSTER_ENTRY_BARRIER = 3,
} cluster_entry_type_t;

typedef struct {
    uint32_t type;
    uint64_t origin, boot, seq;
    int64_t time_ms;
    const uint8_t *payload; /* borrowed from the decoded bytes */
    size_t payload_size;
} cluster_entry_t;

/*  Reads the header of size bytes at data (borrowed; entry->payload
    points into it). Returns false when they are not an entry of a
    known type (too short, another magic, a length past the end). */
bool cluster_entry_decode(const void *data, size_t size,
                          cluster_entry_t *entry);

/*  Writes entry's header (payload_size as its length) into
    out[0..47]. */
void cluster_entry_put_header(uint8_t *out, const cluster_entry_t *entry);

/*  Overwrites the time of the encoded entry at data (>= 48 bytes). */
void cluster_entry_set_time(uint8_t *data, int64_t time_ms);

/*  Encodes a BATCH entry with head's header fields and the n jobs
    (borrowed; each must have a method, and an input unless it is
    audit_only): a malloc'd buffer of *size_p bytes, the caller's;
    NULL with err set when out of memory. */
uint8_t *cluster_entry_pack_batch(const cluster_entry_t *head, job_t **jobs,
                                  size_t n, size_t *size_p,
                                  dossier_error_t *err);

/*  The writes of a BATCH entry as new jobs, ready for their writer
    stage (the worker stage, where the method has one, not yet run):
    *jobs_p gets a malloc'd array of *n_p jobs, one per write in order,
    each the caller's, the array too. A write naming a method this
    server does not know, or whose request does not decode, is NULL
    there, with a warning in the log (a node of another version wrote
    it). Returns DOSSIER_OK, or
    INVALID_ARGUMENT when the payload is not a ClusterBatch,
    RESOURCE_EXHAUSTED when out of memory. */
dossier_status_t cluster_entry_unpack_batch(const cluster_entry_t *entry,
                                            job_t ***jobs_p, size_t *n_p,
                                            dossier_error_t *err);

#endif
