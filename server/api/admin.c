/*  admin.c: the methods about the server itself, inline in the socket
    loop: Health, Describe, Stats, ReloadUsers and WhoAmI. */
#include <string.h>

#include "apispec.h"
#include "api/handlers.h"
#include "api/methods.h"
#include "dossier/v1/reports.pb-c.h"
#include "log.h"
#include "api/stats.h"
#include "store/store.h"

dossier_status_t
handle_health(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    const Dossier__V1__HealthRequest *request = (void *)job->input;
    if (request->service[0] && strcmp(request->service, APISPEC_SERVICE) != 0) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "unknown service '%s'; this server has "
                                 "only " APISPEC_SERVICE,
                                 request->service);
    }
    Dossier__V1__HealthResponse response = DOSSIER__V1__HEALTH_RESPONSE__INIT;
    response.status =
        env->shutting_down
            ? DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_NOT_SERVING
            : DOSSIER__V1__SERVING_STATUS__SERVING_STATUS_SERVING;
    response.max_message_bytes = env->config->max_message_bytes;
    response.role = (char *)"standalone";
    if (env->cluster) {
        handler_cluster_status_t status;
        env->cluster->status(env->cluster->arg, &status);
        response.role = (char *)status.role;
        response.leader_id = status.leader_id;
        response.node_id = status.node_id;
    }
    return job_set_payload(job, &response.base, err);
}

dossier_status_t
handle_describe(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    (void)env;
    Dossier__V1__DescribeResponse response =
        DOSSIER__V1__DESCRIBE_RESPONSE__INIT;
    response.file_descriptor_set.data = (uint8_t *)dossier_api_descriptor;
    response.file_descriptor_set.len = dossier_api_descriptor_size;
    return job_set_payload(job, &response.base, err);
}

dossier_status_t
handle_stats(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    Dossier__V1__StatsResponse *response = NULL;
    dossier_status_t rc = store_stats(env->store, &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (env->stats) {
        rc = stats_fill(env->stats, response, err);
    }
    if (rc == DOSSIER_OK) {
        rc = job_set_payload(job, &response->base, err);
    }
    dossier__v1__stats_response__free_unpacked(response, NULL);
    return rc;
}

dossier_status_t
handle_reload_users(const handler_env_t *env, job_t *job,
                    dossier_error_t *err) {
    size_t users = 0;
    dossier_status_t rc =
        env->users->reload(env->users->reload_arg, &users, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    log_info("users: reloaded by %s: %zu users from %s", job->user, users,
             env->config->users_dir);
    Dossier__V1__ReloadUsersResponse response =
        DOSSIER__V1__RELOAD_USERS_RESPONSE__INIT;
    response.users = (uint32_t)users;
    return job_set_payload(job, &response.base, err);
}

dossier_status_t
handle_whoami(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    Dossier__V1__WhoAmIResponse response = DOSSIER__V1__WHO_AM_IRESPONSE__INIT;
    response.name = job->user;
    response.role = (char *)methods_role_name(job->role);
    response.public_key = job->user_key;
    response.security = (char *)env->users->security;
    response.via = job->via;
    response.token_id = job->token_id;
    return job_set_payload(job, &response.base, err);
}

dossier_status_t
handle_cluster_status(const handler_env_t *env, job_t *job,
                      dossier_error_t *err) {
    if (!env->cluster) {
        return dossier_error_set(err, DOSSIER_FAILED_PRECONDITION,
                                 "this server is not a node of a cluster "
                                 "(started without --node-id and --raft)");
    }
    handler_cluster_status_t status;
    env->cluster->status(env->cluster->arg, &status);
    Dossier__V1__ClusterStatusResponse response =
        DOSSIER__V1__CLUSTER_STATUS_RESPONSE__INIT;
    response.node_id = status.node_id;
    response.role = (char *)status.role;
    response.leader_id = status.leader_id;
    response.term = status.term;
    response.commit_index = status.commit_index;
    response.applied_index = status.applied_index;
    response.last_index = status.last_index;
    Dossier__V1__ClusterNode nodes[HANDLER_CLUSTER_NODES];
    Dossier__V1__ClusterNode *pointers[HANDLER_CLUSTER_NODES];
    for (size_t i = 0; i < status.n_nodes; i++) {
        dossier__v1__cluster_node__init(&nodes[i]);
        nodes[i].id = status.nodes[i].id;
        nodes[i].address = status.nodes[i].address;
        nodes[i].match_index = status.nodes[i].match_index;
        pointers[i] = &nodes[i];
    }
    response.nodes = pointers;
    response.n_nodes = status.n_nodes;
    return job_set_payload(job, &response.base, err);
}
