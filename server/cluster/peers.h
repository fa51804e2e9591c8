/*  peers.h: a cluster node's settings checked as hostile text: its Raft
    address (--raft HOST:PORT) and the first start's list of nodes
    (--peers ID=HOST:PORT,...). Pure functions: no socket, no thread.

    libraft 0.15's TCP transport (raft_uv_tcp) takes an address as a
    numeric IPv4 host and a port and nothing else (a name would fail
    only when a peer first connects, with no word of why), so that is the
    grammar here: "127.0.0.1:7600". Raft traffic is not encrypted, so an
    address outside 127.0.0.0/8 needs --insecure. */
#ifndef DOSSIER_SERVER_CLUSTER_PEERS_H
#define DOSSIER_SERVER_CLUSTER_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* The most nodes a cluster's first configuration may name: Raft's
   majorities make more than seven voters slower and no safer. */
#define CLUSTER_MAX_NODES 7
/* "255.255.255.255:65535" and its NUL fit with room. */
#define CLUSTER_ADDRESS_MAX 32

typedef struct {
    uint64_t id;
    char address[CLUSTER_ADDRESS_MAX];
} cluster_peer_t;

typedef struct {
    size_t n;
    cluster_peer_t nodes[CLUSTER_MAX_NODES];
} cluster_peers_t;

/*  Checks address as a Raft address, "A.B.C.D:PORT" with a port from 1
    to 65535. setting names it in the error ("raft", "peers"). Returns
    DOSSIER_OK or DOSSIER_INVALID_ARGUMENT with err saying what is
    wrong. */
dossier_status_t cluster_address_check(const char *setting, const char *address,
                                       dossier_error_t *err);

/*  True when address (already checked) is in 127.0.0.0/8. */
bool cluster_address_is_loopback(const char *address);

/*  Parses text, "ID=HOST:PORT" items separated by commas (ids 1 to
    1000000, each once, addresses each once), into *peers. Returns
    DOSSIER_OK or DOSSIER_INVALID_ARGUMENT with err naming the item. */
dossier_status_t cluster_peers_parse(const char *text, cluster_peers_t *peers,
                                     dossier_error_t *err);

/*  The cluster settings of a configuration, checked together: none of
    them (a standalone server), or node_id with raft, and peers (when
    given) naming this node at the raft address; every address loopback
    unless insecure. Returns DOSSIER_OK or DOSSIER_INVALID_ARGUMENT with
    err set. */
dossier_status_t cluster_config_check(unsigned node_id, const char *raft,
                                      const char *peers, bool insecure,
                                      dossier_error_t *err);

#endif
