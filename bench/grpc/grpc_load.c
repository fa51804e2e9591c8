/*  grpc_load.c: reads dossierd's records through libdossier for the gRPC
    baseline server (grpc_load.h). */
#include "grpc_load.h"

#include <stdio.h>

#include "dossier.h"

int
grpc_load_records(const char *endpoint, unsigned records, grpc_load_put_fn put,
                  void *arg, char *err, size_t errlen) {
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = 30000;
    options.client_name = "dossier-grpc-server";
    dossier_client_t *client = NULL;
    dossier_error_t derr = {0};
    if (dossier_client_new(endpoint, &options, &client, &derr) != DOSSIER_OK) {
        snprintf(err, errlen, "%s: %s", endpoint, derr.message);
        return -1;
    }
    int rc = 0;
    for (unsigned i = 0; i < records && rc == 0; i++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%07u", i);
        Dossier__V1__GetRequest req = DOSSIER__V1__GET_REQUEST__INIT;
        req.id = id;
        uint8_t packed[64];
        size_t size = dossier__v1__get_request__get_packed_size(&req);
        if (size > sizeof packed) {
            snprintf(err, errlen, "id %s too long", id);
            rc = -1;
            break;
        }
        dossier__v1__get_request__pack(&req, packed);
        dossier_reply_t reply = {0};
        if (dossier_call_raw(client, "dossier.v1.Reports/Get", packed, size,
                             NULL, &reply, &derr) != DOSSIER_OK) {
            snprintf(err, errlen, "Get %s: %s", id, derr.message);
            rc = -1;
        } else if (reply.code != DOSSIER_OK) {
            snprintf(err, errlen, "Get %s: code %d: %s", id, reply.code,
                     reply.message);
            rc = -1;
        } else if (put(id, reply.payload, reply.payload_size, arg) != 0) {
            snprintf(err, errlen, "cannot store %s", id);
            rc = -1;
        }
        dossier_reply_clear(&reply);
    }
    dossier_client_destroy(&client);
    return rc;
}
