/*  dossier_records.c: libdossier's typed calls on a record's versions
    and on many records at once (Get of a version, ListVersions,
    PutBatch), beside dossier.c's, which holds the connection and
    dossier_call they go through. */
#include "dossier.h"

#include "dossier/v1/reports.pb-c.h"

#define S_CALL(client, method, request, type, response_p, err)                 \
    dossier_call((client), (method), (const ProtobufCMessage *)(request),      \
                 &type, (ProtobufCMessage **)(response_p), (err))

dossier_status_t
dossier_get_version(dossier_client_t *client, const char *id, uint64_t version,
                    Dossier__V1__Report **report_p, dossier_error_t *err) {
    if (id == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_get_version: NULL id");
    }
    Dossier__V1__GetRequest req = DOSSIER__V1__GET_REQUEST__INIT;
    req.id = (char *)id;
    req.version = version;
    return S_CALL(client, "Get", &req, dossier__v1__report__descriptor,
                  report_p, err);
}

dossier_status_t
dossier_list_versions(dossier_client_t *client, const char *id,
                      uint32_t page_size, uint64_t before_version,
                      Dossier__V1__ListVersionsResponse **response_p,
                      dossier_error_t *err) {
    if (id == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_list_versions: NULL id");
    }
    Dossier__V1__ListVersionsRequest req =
        DOSSIER__V1__LIST_VERSIONS_REQUEST__INIT;
    req.id = (char *)id;
    req.page_size = page_size;
    req.before_version = before_version;
    return S_CALL(client, "ListVersions", &req,
                  dossier__v1__list_versions_response__descriptor, response_p,
                  err);
}

dossier_status_t
dossier_put_batch(dossier_client_t *client,
                  const Dossier__V1__PutBatchRequest *request,
                  Dossier__V1__PutBatchResponse **response_p,
                  dossier_error_t *err) {
    if (request == NULL) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "dossier_put_batch: NULL request");
    }
    return S_CALL(client, "PutBatch", request,
                  dossier__v1__put_batch_response__descriptor, response_p, err);
}
