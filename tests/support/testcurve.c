/*  testcurve.c: see testcurve.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dossier/v1/rpc.pb-c.h"
#include "testassert.h"
#include "testcurve.h"

testcurve_t *
testcurve_new(const char *prefix) {
    testcurve_t *self = calloc(1, sizeof *self);
    assert_non_null(self);
    snprintf(self->root, sizeof self->root, "/tmp/dossier-%s-XXXXXX", prefix);
    assert_non_null(mkdtemp(self->root));
    snprintf(self->users, sizeof self->users, "%s/users", self->root);
    snprintf(self->keys, sizeof self->keys, "%s/keys", self->root);
    assert_int_equal(zsys_dir_create("%s", self->users), 0);
    assert_int_equal(zsys_dir_create("%s", self->keys), 0);
    self->server = zcert_new();
    assert_non_null(self->server);
    char path[256];
    snprintf(path, sizeof path, "%s/server.key", self->keys);
    assert_int_equal(zcert_save(self->server, path), 0);
    return self;
}

zcert_t *
testcurve_user(testcurve_t *self, const char *dir, const char *file,
               const char *name, const char *role) {
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    zcert_set_meta(cert, "name", "%s", name);
    zcert_set_meta(cert, "role", "%s", role);
    char path[256];
    snprintf(path, sizeof path, "%s/%s.key", dir ? dir : self->users, file);
    assert_int_equal(zcert_save_public(cert, path), 0);
    snprintf(path, sizeof path, "%s/%s.key_secret", self->keys, file);
    assert_int_equal(zcert_save_secret(cert, path), 0);
    return cert;
}

zcert_t *
testcurve_cert(testcurve_t *self, const char *file) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s.key_secret", self->keys, file);
    zcert_t *cert = zcert_load(path);
    assert_non_null(cert);
    return cert;
}

void
testcurve_start(testcurve_t *self, const char *extra) {
    char args[768];
    snprintf(args, sizeof args,
             "--curve-key %s/server.key_secret --users %s%s%s", self->keys,
             self->users, extra ? " " : "", extra ? extra : "");
    self->ts = testserver_start(args);
    assert_non_null(self->ts);
}

dossier_client_t *
testcurve_client(testcurve_t *self, const char *file, int timeout_ms) {
    dossier_options_t options;
    dossier_options_init(&options);
    options.timeout_ms = timeout_ms;
    options.retries = 0;
    zcert_t *cert = file ? testcurve_cert(self, file) : NULL;
    if (cert) {
        options.curve_server_key = zcert_public_txt(self->server);
        options.curve_public_key = zcert_public_txt(cert);
        options.curve_secret_key = zcert_secret_txt(cert);
    }
    dossier_client_t *client = NULL;
    dossier_error_t err = {0};
    assert_ok(dossier_client_new(testserver_endpoint(self->ts), &options,
                                 &client, &err),
              &err);
    zcert_destroy(&cert);
    return client;
}

Dossier__V1__Response *
testcurve_call_raw(testcurve_t *self, const char *name, const char *method,
                   const ProtobufCMessage *payload,
                   Dossier__V1__Request__MetadataEntry **metadata,
                   size_t n_metadata) {
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zcert_t *cert = testcurve_cert(self, name);
    zcert_apply(cert, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(self->server));
    zsock_set_rcvtimeo(dealer, 5000);
    zsock_set_linger(dealer, 0);
    assert_int_equal(zsock_connect(dealer, "%s", testserver_endpoint(self->ts)),
                     0);
    Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
    request.id = 77;
    request.method = (char *)method;
    size_t size = protobuf_c_message_get_packed_size(payload);
    uint8_t *buffer = malloc(size + 1);
    assert_non_null(buffer);
    protobuf_c_message_pack(payload, buffer);
    request.payload.data = buffer;
    request.payload.len = size;
    request.metadata = metadata;
    request.n_metadata = n_metadata;
    size_t packed = dossier__v1__request__get_packed_size(&request);
    uint8_t *body = malloc(packed);
    assert_non_null(body);
    dossier__v1__request__pack(&request, body);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, "", 0);
    zmsg_addmem(msg, body, packed);
    assert_int_equal(zmsg_send(&msg, dealer), 0);
    zmsg_t *reply = zmsg_recv(dealer);
    assert_non_null(reply);
    zframe_t *empty = zmsg_pop(reply);
    zframe_t *frame = zmsg_pop(reply);
    assert_non_null(frame);
    Dossier__V1__Response *response = dossier__v1__response__unpack(
        NULL, zframe_size(frame), zframe_data(frame));
    assert_non_null(response);
    assert_int_equal(response->id, 77);
    zframe_destroy(&frame);
    zframe_destroy(&empty);
    zmsg_destroy(&reply);
    free(body);
    free(buffer);
    zcert_destroy(&cert);
    zsock_destroy(&dealer);
    return response;
}

void
testcurve_destroy(testcurve_t **self_p) {
    if (!self_p || !*self_p) {
        return;
    }
    testcurve_t *self = *self_p;
    testserver_stop(&self->ts);
    zcert_destroy(&self->server);
    testserver_remove_tree(self->root);
    free(self);
    *self_p = NULL;
}
