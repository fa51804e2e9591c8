/*  peers.c: cluster settings as hostile text. See peers.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/peers.h"

dossier_status_t
cluster_address_check(const char *setting, const char *address,
                      dossier_error_t *err) {
    size_t len = strnlen(address, CLUSTER_ADDRESS_MAX);
    const char *colon =
        len < CLUSTER_ADDRESS_MAX ? strrchr(address, ':') : NULL;
    char host[CLUSTER_ADDRESS_MAX];
    struct in_addr ip;
    if (!colon || (size_t)(colon - address) >= sizeof host) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: '%.64s' is not HOST:PORT with a numeric "
                                 "IPv4 host, e.g. 127.0.0.1:7600",
                                 setting, address);
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    if (inet_pton(AF_INET, host, &ip) != 1) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: '%.64s': the host must be a numeric "
                                 "IPv4 address (libraft 0.15 resolves no "
                                 "names), e.g. 127.0.0.1:7600",
                                 setting, address);
    }
    const char *port = colon + 1;
    size_t digits = strspn(port, "0123456789");
    unsigned long value = digits > 0 && digits <= 5 && port[digits] == '\0'
                              ? strtoul(port, NULL, 10)
                              : 0;
    if (value < 1 || value > 65535) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "%s: '%.64s': the port must be a number from "
                                 "1 to 65535 (every node must know it "
                                 "before it starts, so * will not do)",
                                 setting, address);
    }
    return DOSSIER_OK;
}

bool
cluster_address_is_loopback(const char *address) {
    return strncmp(address, "127.", 4) == 0;
}

dossier_status_t
cluster_peers_parse(const char *text, cluster_peers_t *peers,
                    dossier_error_t *err) {
    memset(peers, 0, sizeof *peers);
    const char *item = text;
    while (*item) {
        const char *end = strchr(item, ',');
        size_t len = end ? (size_t)(end - item) : strlen(item);
        char buf[64];
        if (len == 0 || len >= sizeof buf) {
            return dossier_error_set(
                err, DOSSIER_INVALID_ARGUMENT,
                "peers: item %zu is %s: give ID=HOST:PORT,...", peers->n + 1,
                len ? "too long" : "empty");
        }
        memcpy(buf, item, len);
        buf[len] = '\0';
        char *eq = strchr(buf, '=');
        size_t digits = strspn(buf, "0123456789");
        unsigned long id = eq && digits > 0 && digits <= 7 && buf + digits == eq
                               ? strtoul(buf, NULL, 10)
                               : 0;
        if (id < 1 || id > 1000000) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "peers: '%s' does not start with a node "
                                     "id from 1 to 1000000 and '='",
                                     buf);
        }
        if (peers->n == CLUSTER_MAX_NODES) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "peers: more than %d nodes",
                                     CLUSTER_MAX_NODES);
        }
        dossier_status_t rc = cluster_address_check("peers", eq + 1, err);
        if (rc != DOSSIER_OK) {
            return rc;
        }
        for (size_t i = 0; i < peers->n; i++) {
            if (peers->nodes[i].id == id ||
                strcmp(peers->nodes[i].address, eq + 1) == 0) {
                return dossier_error_set(
                    err, DOSSIER_INVALID_ARGUMENT,
                    "peers: '%s' repeats the %s of "
                    "'%llu=%s'",
                    buf, peers->nodes[i].id == id ? "id" : "address",
                    (unsigned long long)peers->nodes[i].id,
                    peers->nodes[i].address);
            }
        }
        cluster_peer_t *node = &peers->nodes[peers->n++];
        node->id = id;
        snprintf(node->address, sizeof node->address, "%s", eq + 1);
        item += len + (end ? 1 : 0);
        if (end && !*item) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "peers: a trailing ',' with no node "
                                     "after it");
        }
    }
    if (peers->n == 0) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "peers: no node: give ID=HOST:PORT,...");
    }
    return DOSSIER_OK;
}

dossier_status_t
cluster_config_check(unsigned node_id, const char *raft, const char *peers,
                     bool insecure, dossier_error_t *err) {
    if (!node_id && !raft && !peers) {
        return DOSSIER_OK;
    }
    if (!node_id || !raft) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "a cluster node needs both --node-id N and "
                                 "--raft HOST:PORT (%s is missing)",
                                 node_id ? "--raft" : "--node-id");
    }
    dossier_status_t rc = cluster_address_check("raft", raft, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (!insecure && !cluster_address_is_loopback(raft)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "raft: %s is not a loopback address and Raft "
                                 "traffic is not encrypted: give --insecure "
                                 "to serve it on a trusted network",
                                 raft);
    }
    if (!peers) {
        return DOSSIER_OK;
    }
    cluster_peers_t list;
    rc = cluster_peers_parse(peers, &list, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    bool self_listed = false;
    for (size_t i = 0; i < list.n; i++) {
        if (!insecure && !cluster_address_is_loopback(list.nodes[i].address)) {
            return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                     "peers: %s is not a loopback address "
                                     "and Raft traffic is not encrypted: "
                                     "give --insecure on a trusted network",
                                     list.nodes[i].address);
        }
        if (list.nodes[i].id == node_id) {
            if (strcmp(list.nodes[i].address, raft) != 0) {
                return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                         "peers: node %u is at %s there but "
                                         "--raft says %s",
                                         node_id, list.nodes[i].address, raft);
            }
            self_listed = true;
        }
    }
    if (!self_listed) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "peers: this node (--node-id %u) is not in "
                                 "the list",
                                 node_id);
    }
    return DOSSIER_OK;
}
