/*  cluster.h: dossierd as a node of a Raft cluster (canonical/raft,
    libraft 0.15, on its libuv backend raft_uv), docs/ARCHITECTURE.md
    "Cluster" and docs/OPERATIONS.md "Cluster".

    A cluster_t runs two threads of its own:
    - the Raft thread: a libuv loop of its own with raft_uv's storage
      (DATA/raft) and TCP transport (--raft HOST:PORT). It appends what
      is proposed, and applies each committed entry to the store (the
      FSM's apply, through exec/commit.h's commit_apply): every write
      the cluster makes is written here, on every node, leader included;
    - the forward thread: a ROUTER socket on tcp://HOST:* (HOST from
      --raft) where followers send the batches their writers took; the
      leader proposes them. The endpoint it bound is told to the others
      by a LEADER entry each time this node becomes leader.

    The writer thread (exec/writer.c) calls the submit hook with each
    group commit's jobs: it packs them into one entry (cluster/entry.h),
    proposes it (leader) or forwards it to the leader (follower), and
    waits until this node has applied that entry, then gives each job
    the outcome its write had there. With a change feed, the Raft
    thread publishes each applied entry's events on it (set_publish).
    Reads are served from the local store, so a follower's reads lag the
    leader's by what it has not yet applied, unless they ask for
    consistency strong: read_barrier then waits for a BARRIER entry of
    this node to be applied here.

    Raft's messages and the forwarded batches are neither authenticated
    nor encrypted: config.c refuses an address outside 127.0.0.0/8
    without --insecure. */
#ifndef DOSSIER_SERVER_CLUSTER_H
#define DOSSIER_SERVER_CLUSTER_H

#include "api/handlers.h"
#include "config.h"
#include "status.h"

typedef struct cluster_t cluster_t;

/*  Starts this node: config's node_id, raft, peers (bootstrapped when
    given and the Raft directory DATA/raft holds no state yet) and
    raft_election_timeout_ms; env's store and config (borrowed, must
    outlive the cluster) for the FSM. Returns once Raft has started (it
    may not have a leader yet), or NULL with err set (the Raft address
    taken, the Raft directory unusable, a first start without
    --peers...). */
cluster_t *cluster_new(const config_t *config, const handler_env_t *env,
                       dossier_error_t *err);

/*  The hooks for handler_env_t.cluster: Health's status, the writer's
    submit and the change feed's publish. Borrowed, valid for the
    cluster's lifetime. */
const handler_cluster_t *cluster_hooks(cluster_t *self);

/*  The forward endpoint this node bound ("tcp://127.0.0.1:41234");
    borrowed. */
const char *cluster_forward_endpoint(const cluster_t *self);

/*  Stops both threads (call after the writer is joined: no submit may
    be running) and frees the cluster; takes NULL; sets *self_p to NULL.
    A leader steps down without handing over; the others elect another
    after their election timeout. */
void cluster_destroy(cluster_t **self_p);

#endif
