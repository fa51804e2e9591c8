/*  cli_cluster.c: `dossier cluster status`: a cluster node's view of its
    cluster (ClusterStatus, admin): its role, term and log indexes, and
    the nodes with, from the leader, how far behind each one is. */
#include <string.h>

#include "cli.h"

static const cli_method_t s_cluster_status_method = {
    .name = "ClusterStatus",
    .response_type = &dossier__v1__cluster_status_response__descriptor,
};

static int
s_status_show(const cli_global_t *g, dossier_client_t *client,
              const ProtobufCMessage *response, void *state) {
    (void)client;
    (void)state;
    if (g->json) {
        return cli_show_json(response);
    }
    const Dossier__V1__ClusterStatusResponse *s =
        (const Dossier__V1__ClusterStatusResponse *)response;
    printf("node %llu: %s, term %llu, leader %llu\n"
           "log: committed %llu, applied %llu, last %llu\n",
           (unsigned long long)s->node_id, s->role, (unsigned long long)s->term,
           (unsigned long long)s->leader_id,
           (unsigned long long)s->commit_index,
           (unsigned long long)s->applied_index,
           (unsigned long long)s->last_index);
    bool leads = strcmp(s->role, "leader") == 0;
    for (size_t i = 0; i < s->n_nodes; i++) {
        const Dossier__V1__ClusterNode *n = s->nodes[i];
        if (leads) {
            unsigned long long lag = s->last_index > n->match_index
                                         ? s->last_index - n->match_index
                                         : 0;
            printf("  node %llu  %s  has %llu, %llu behind\n",
                   (unsigned long long)n->id, n->address,
                   (unsigned long long)n->match_index, lag);
        } else {
            printf("  node %llu  %s\n", (unsigned long long)n->id, n->address);
        }
    }
    return CLI_EXIT_OK;
}

static int
s_cluster(const cli_verb_t *verb, cli_global_t *g, cli_args_t args) {
    int rc = cli_parse(verb, NULL, NULL, NULL, g, &args);
    if (rc != CLI_GO_ON) {
        return rc;
    }
    if (args.argc != 1 || strcmp(args.argv[0], "status") != 0) {
        return cli_usage_error(verb, "%s",
                               args.argc == 0
                                   ? "give what to do: status"
                                   : "unknown: only 'status' for now");
    }
    Dossier__V1__ClusterStatusRequest request =
        DOSSIER__V1__CLUSTER_STATUS_REQUEST__INIT;
    return cli_call(g, &s_cluster_status_method, &request.base, s_status_show,
                    NULL);
}

const cli_verb_t cli_verb_cluster = {
    .name = "cluster",
    .summary = "a cluster node's view of its cluster (admin)",
    .usage = "usage: dossier cluster status [--json]\n"
             "\n"
             "Prints the node's role, term and Raft log indexes, and the "
             "cluster's\n"
             "nodes; asked of the leader, how far behind each node is. Ask "
             "each\n"
             "node with -s to compare their views.\n",
    .run = s_cluster,
};
