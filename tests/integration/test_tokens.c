/*  test_tokens.c: API tokens (api/tokens.h) against a real dossierd with
    CURVE: root an admin, alice a writer, rita a reader, and gw a user
    whose role is gateway (what dossier-gateway connects as). Each call
    goes over a raw CURVE DEALER (testcurve_call_raw), with metadata
    "authorization" = "Bearer TOKEN" when it carries a token, as the
    gateway forwards it.

    - root makes, lists and revokes tokens; alice and rita may not;
    - a valid token on gw's connection is its name and role: a reader
      token cannot Put, a writer token can, and the record's created_by,
      the audit entry ("via" gw) and WhoAmI say the token's name;
    - idempotency keys are kept per token, not per gateway;
    - an unknown, malformed, wrong, revoked or expired token is
      UNAUTHENTICATED (expiry: a token of one second, waited for in a
      bounded loop), and the server keeps serving;
    - a token on alice's or root's own connection is PERMISSION_DENIED;
    - gw without a token gets Health and Describe, nothing else;
    - the secret is nowhere but the CreateToken reply: not in the store
      file (idempotency keys and audit entries included), not in the
      server's log (at debug level), not in Audit or ListTokens; a
      CreateToken sent again with the same idempotency key makes a new
      token;
    - without CURVE on loopback (the development mode) a token is
      honoured too, and only narrows. */
#define _GNU_SOURCE /* memmem */
#include <czmq.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dossier.h"
#include "testassert.h"
#include "testclock.h"
#include "testcurve.h"
#include "testserver.h"

#define M(name) "dossier.v1.Reports/" name

typedef testcurve_t s_fixture_t;

static int
s_setup(void **state) {
    s_fixture_t *fx = testcurve_new("tokens");
    const char *users[][2] = {{"root", "admin"},
                              {"alice", "writer"},
                              {"rita", "reader"},
                              {"gw", "gateway"}};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        zcert_t *cert =
            testcurve_user(fx, NULL, users[i][0], users[i][0], users[i][1]);
        zcert_destroy(&cert);
    }
    testcurve_start(fx, "--log-level debug");
    *state = fx;
    return 0;
}

static int
s_teardown(void **state) {
    s_fixture_t *fx = *state;
    testcurve_destroy(&fx);
    return 0;
}

/*  Calls method as file (a CURVE user), with metadata "authorization" =
    authorization when not NULL and "idempotency-key" = key when not
    NULL. Returns the Response, the caller's. */
static Dossier__V1__Response *
s_call(s_fixture_t *fx, const char *file, const char *method,
       const ProtobufCMessage *payload, const char *authorization,
       const char *key) {
    Dossier__V1__Request__MetadataEntry entries[2] = {
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT,
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT};
    Dossier__V1__Request__MetadataEntry *metadata[2];
    size_t n = 0;
    if (authorization) {
        entries[n].key = "authorization";
        entries[n].value = (char *)authorization;
        metadata[n] = &entries[n];
        n++;
    }
    if (key) {
        entries[n].key = "idempotency-key";
        entries[n].value = (char *)key;
        metadata[n] = &entries[n];
        n++;
    }
    return testcurve_call_raw(fx, file, method, payload, metadata, n);
}

/*  Asserts response has code want (printing its message when not) and
    frees it; when want_text is not NULL, also that the message holds
    it. */
static void
s_expect(Dossier__V1__Response *response, dossier_status_t want,
         const char *want_text) {
    if (response->code != (int32_t)want ||
        (want_text && !strstr(response->message, want_text))) {
        fail_msg("got %s (%s), want %s%s%s", dossier_strerror(response->code),
                 response->message, dossier_strerror(want),
                 want_text ? " saying " : "", want_text ? want_text : "");
    }
    dossier__v1__response__free_unpacked(response, NULL);
}

/*  Unpacks an OK response's payload as descriptor; asserts it is OK. */
static void *
s_payload(Dossier__V1__Response *response,
          const ProtobufCMessageDescriptor *descriptor) {
    if (response->code != DOSSIER_OK) {
        fail_msg("got %s (%s), want OK", dossier_strerror(response->code),
                 response->message);
    }
    void *message = protobuf_c_message_unpack(
        descriptor, NULL, response->payload.len, response->payload.data);
    assert_non_null(message);
    dossier__v1__response__free_unpacked(response, NULL);
    return message;
}

/*  Makes a token as root; returns the reply, the caller's. */
static Dossier__V1__CreateTokenResponse *
s_create(s_fixture_t *fx, const char *name, const char *role,
         uint64_t expires_in_seconds) {
    Dossier__V1__CreateTokenRequest request =
        DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT;
    request.name = (char *)name;
    request.role = (char *)(role ? role : "");
    request.expires_in_seconds = expires_in_seconds;
    return s_payload(
        s_call(fx, "root", M("CreateToken"), &request.base, NULL, NULL),
        &dossier__v1__create_token_response__descriptor);
}

/*  "Bearer " + the token of a reply, in buf. */
static const char *
s_bearer(const Dossier__V1__CreateTokenResponse *made, char buf[128]) {
    snprintf(buf, 128, "Bearer %s", made->secret);
    return buf;
}

static Dossier__V1__Report
s_report(const char *id) {
    Dossier__V1__Report r = DOSSIER__V1__REPORT__INIT;
    r.id = (char *)id;
    r.title = "Token test";
    r.country = "Atlantis";
    r.year = 2021;
    r.doc_type = "Trafficking in Persons Report";
    return r;
}

static Dossier__V1__Response *
s_put(s_fixture_t *fx, const char *file, const char *id,
      const char *authorization) {
    Dossier__V1__Report r = s_report(id);
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    return s_call(fx, file, M("Put"), &put.base, authorization, NULL);
}

static Dossier__V1__Response *
s_get(s_fixture_t *fx, const char *file, const char *id,
      const char *authorization) {
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = (char *)id;
    return s_call(fx, file, M("Get"), &get.base, authorization, NULL);
}

static Dossier__V1__WhoAmIResponse *
s_whoami(s_fixture_t *fx, const char *file, const char *authorization) {
    Dossier__V1__WhoAmIRequest request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    return s_payload(
        s_call(fx, file, M("WhoAmI"), &request.base, authorization, NULL),
        &dossier__v1__who_am_iresponse__descriptor);
}

/*  The listed token with id, or NULL; borrowed from list. */
static const Dossier__V1__Token *
s_listed(const Dossier__V1__ListTokensResponse *list, const char *id) {
    for (size_t i = 0; i < list->n_tokens; i++) {
        if (strcmp(list->tokens[i]->id, id) == 0) {
            return list->tokens[i];
        }
    }
    return NULL;
}

static Dossier__V1__ListTokensResponse *
s_list(s_fixture_t *fx) {
    Dossier__V1__ListTokensRequest request =
        DOSSIER__V1__LIST_TOKENS_REQUEST__INIT;
    return s_payload(
        s_call(fx, "root", M("ListTokens"), &request.base, NULL, NULL),
        &dossier__v1__list_tokens_response__descriptor);
}

static Dossier__V1__Response *
s_revoke(s_fixture_t *fx, const char *file, const char *id) {
    Dossier__V1__RevokeTokenRequest request =
        DOSSIER__V1__REVOKE_TOKEN_REQUEST__INIT;
    request.id = (char *)id;
    return s_call(fx, file, M("RevokeToken"), &request.base, NULL, NULL);
}

static void
test_admin_creates_lists_revokes(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made = s_create(fx, "web-ui", NULL, 0);
    const Dossier__V1__Token *t = made->token;
    assert_non_null(t);
    assert_int_equal(strlen(t->id), 12);
    assert_int_equal(strspn(t->id, "0123456789abcdef"), 12);
    assert_string_equal(t->name, "web-ui");
    assert_string_equal(t->role, "reader"); /* the default */
    assert_string_equal(t->created_by, "root");
    assert_string_equal(t->expires_at, "");
    assert_string_equal(t->revoked_at, "");
    char prefix[32];
    snprintf(prefix, sizeof prefix, "dossier_%s_", t->id);
    assert_int_equal(strncmp(made->secret, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(made->secret), strlen(prefix) + 43);

    Dossier__V1__ListTokensResponse *list = s_list(fx);
    const Dossier__V1__Token *listed = s_listed(list, t->id);
    assert_non_null(listed);
    assert_string_equal(listed->name, "web-ui");
    assert_string_equal(listed->created_at, t->created_at);
    dossier__v1__list_tokens_response__free_unpacked(list, NULL);

    Dossier__V1__RevokeTokenResponse *revoked =
        s_payload(s_revoke(fx, "root", t->id),
                  &dossier__v1__revoke_token_response__descriptor);
    assert_string_not_equal(revoked->token->revoked_at, "");
    /* Again: nothing changes. */
    Dossier__V1__RevokeTokenResponse *again =
        s_payload(s_revoke(fx, "root", t->id),
                  &dossier__v1__revoke_token_response__descriptor);
    assert_string_equal(again->token->revoked_at, revoked->token->revoked_at);
    dossier__v1__revoke_token_response__free_unpacked(again, NULL);
    list = s_list(fx);
    assert_string_equal(s_listed(list, t->id)->revoked_at,
                        revoked->token->revoked_at);
    dossier__v1__list_tokens_response__free_unpacked(list, NULL);
    dossier__v1__revoke_token_response__free_unpacked(revoked, NULL);
    s_expect(s_revoke(fx, "root", "000000000000"), DOSSIER_NOT_FOUND,
             "no API token");

    /* Bad requests. */
    Dossier__V1__CreateTokenRequest bad =
        DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT;
    bad.name = "";
    s_expect(s_call(fx, "root", M("CreateToken"), &bad.base, NULL, NULL),
             DOSSIER_INVALID_ARGUMENT, "name");
    bad.name = "x";
    bad.role = "gateway";
    s_expect(s_call(fx, "root", M("CreateToken"), &bad.base, NULL, NULL),
             DOSSIER_INVALID_ARGUMENT, "role");
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_only_admin_manages_tokens(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made = s_create(fx, "kept", NULL, 0);
    const char *users[] = {"alice", "rita"};
    for (size_t i = 0; i < 2; i++) {
        Dossier__V1__CreateTokenRequest create =
            DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT;
        create.name = "sneaky";
        s_expect(
            s_call(fx, users[i], M("CreateToken"), &create.base, NULL, NULL),
            DOSSIER_PERMISSION_DENIED, "needs role admin");
        Dossier__V1__ListTokensRequest list =
            DOSSIER__V1__LIST_TOKENS_REQUEST__INIT;
        s_expect(s_call(fx, users[i], M("ListTokens"), &list.base, NULL, NULL),
                 DOSSIER_PERMISSION_DENIED, "needs role admin");
        s_expect(s_revoke(fx, users[i], made->token->id),
                 DOSSIER_PERMISSION_DENIED, "needs role admin");
    }
    /* Not revoked by either. */
    char bearer[128];
    s_expect(s_get(fx, "gw", "nothing-here", s_bearer(made, bearer)),
             DOSSIER_NOT_FOUND, NULL);
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_reader_token_reads_only(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made =
        s_create(fx, "web-reader", "reader", 0);
    char bearer[128];
    s_bearer(made, bearer);
    s_expect(s_get(fx, "gw", "no-such-record", bearer), DOSSIER_NOT_FOUND,
             NULL);
    s_expect(s_put(fx, "gw", "tok-reader-1", bearer), DOSSIER_PERMISSION_DENIED,
             "web-reader has role reader");
    Dossier__V1__WhoAmIResponse *who = s_whoami(fx, "gw", bearer);
    assert_string_equal(who->name, "web-reader");
    assert_string_equal(who->role, "reader");
    assert_string_equal(who->via, "gw");
    assert_string_equal(who->token_id, made->token->id);
    dossier__v1__who_am_iresponse__free_unpacked(who, NULL);
    /* The scheme's case does not matter (RFC 7235). */
    char lower[128];
    snprintf(lower, sizeof lower, "bearer %s", made->secret);
    s_expect(s_get(fx, "gw", "no-such-record", lower), DOSSIER_NOT_FOUND, NULL);
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_writer_token_writes_as_its_name(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made =
        s_create(fx, "web-writer", "writer", 0);
    char bearer[128];
    s_bearer(made, bearer);
    s_expect(s_put(fx, "gw", "tok-writer-1", bearer), DOSSIER_OK, NULL);
    Dossier__V1__Report *got =
        s_payload(s_get(fx, "root", "tok-writer-1", NULL),
                  &dossier__v1__report__descriptor);
    assert_string_equal(got->created_by, "web-writer");
    assert_string_equal(got->updated_by, "web-writer");
    dossier__v1__report__free_unpacked(got, NULL);
    /* Its audit entry, written in the Put's own batch. */
    Dossier__V1__AuditRequest audit = DOSSIER__V1__AUDIT_REQUEST__INIT;
    audit.method = "Put";
    audit.user = "web-writer";
    Dossier__V1__AuditResponse *entries =
        s_payload(s_call(fx, "root", M("Audit"), &audit.base, NULL, NULL),
                  &dossier__v1__audit_response__descriptor);
    assert_int_equal(entries->n_entries, 1);
    assert_string_equal(entries->entries[0]->via, "gw");
    assert_int_equal(entries->entries[0]->n_ids, 1);
    assert_string_equal(entries->entries[0]->ids[0], "tok-writer-1");
    dossier__v1__audit_response__free_unpacked(entries, NULL);
    /* Still no admin. */
    Dossier__V1__ListTokensRequest list =
        DOSSIER__V1__LIST_TOKENS_REQUEST__INIT;
    s_expect(s_call(fx, "gw", M("ListTokens"), &list.base, bearer, NULL),
             DOSSIER_PERMISSION_DENIED, "needs role admin");
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

/*  Two tokens through one gateway share its key, not their idempotency
    keys: the second token's write with the first one's key is its own
    write, while the first token's resend is answered from its key. */
static void
test_idempotency_keys_per_token(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *one =
        s_create(fx, "idem-one", "writer", 0);
    Dossier__V1__CreateTokenResponse *two =
        s_create(fx, "idem-two", "writer", 0);
    char bearer_one[128], bearer_two[128];
    s_bearer(one, bearer_one);
    s_bearer(two, bearer_two);
    Dossier__V1__Report r = s_report("tok-idem-1");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    const char *tokens[] = {bearer_one, bearer_one, bearer_two};
    const uint64_t versions[] = {1, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        Dossier__V1__PutResponse *done = s_payload(
            s_call(fx, "gw", M("Put"), &put.base, tokens[i], "same-key"),
            &dossier__v1__put_response__descriptor);
        assert_int_equal(done->version, versions[i]);
        dossier__v1__put_response__free_unpacked(done, NULL);
    }
    Dossier__V1__Report *got = s_payload(s_get(fx, "root", "tok-idem-1", NULL),
                                         &dossier__v1__report__descriptor);
    assert_string_equal(got->created_by, "idem-one");
    assert_string_equal(got->updated_by, "idem-two");
    dossier__v1__report__free_unpacked(got, NULL);
    dossier__v1__create_token_response__free_unpacked(two, NULL);
    dossier__v1__create_token_response__free_unpacked(one, NULL);
}

static void
test_bad_tokens_are_unauthenticated(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made = s_create(fx, "victim", NULL, 0);
    char bearer[128];
    s_bearer(made, bearer);
    /* The right id, one character of the secret changed. */
    char wrong[128];
    snprintf(wrong, sizeof wrong, "%s", bearer);
    size_t last = strlen(wrong) - 1;
    wrong[last] = wrong[last] == 'A' ? 'B' : 'A';
    char unknown[128];
    snprintf(unknown, sizeof unknown, "Bearer dossier_00000000000f_%s",
             made->secret + strlen("dossier_") + 13);
    const char *cases[][2] = {
        {wrong, "does not match"},
        {unknown, "unknown"},
        {"Bearer", "is not \"Bearer"},
        {"Bearer ", "is not \"Bearer"},
        {"", "is not \"Bearer"},
        {made->secret, "is not \"Bearer"}, /* no scheme */
        {"Basic YWxpY2U6c2VjcmV0", "is not \"Bearer"},
        {"Bearer dossier_zzzzzzzzzzzz_abc", "is not \"Bearer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_expect(s_get(fx, "gw", "x", cases[i][0]), DOSSIER_UNAUTHENTICATED,
                 cases[i][1]);
    }
    /* The good one works until it is revoked, then at once no more. */
    s_expect(s_get(fx, "gw", "x", bearer), DOSSIER_NOT_FOUND, NULL);
    s_expect(s_revoke(fx, "root", made->token->id), DOSSIER_OK, NULL);
    s_expect(s_get(fx, "gw", "x", bearer), DOSSIER_UNAUTHENTICATED,
             "was revoked");
    s_expect(s_put(fx, "gw", "tok-revoked", bearer), DOSSIER_UNAUTHENTICATED,
             "was revoked");
    /* No secret in any refusal. */
    Dossier__V1__Response *response = s_get(fx, "gw", "x", wrong);
    assert_null(strstr(response->message, made->secret + 21));
    dossier__v1__response__free_unpacked(response, NULL);
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_expired_token_stops(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made = s_create(fx, "brief", NULL, 1);
    assert_string_not_equal(made->token->expires_at, "");
    char bearer[128];
    s_bearer(made, bearer);
    /* Within a second it may still work; past it, never. */
    int64_t give_up = testclock_now_ms() + 30000;
    Dossier__V1__Response *response = NULL;
    for (;;) {
        response = s_get(fx, "gw", "x", bearer);
        if (response->code == DOSSIER_UNAUTHENTICATED ||
            testclock_now_ms() > give_up) {
            break;
        }
        assert_int_equal(response->code, DOSSIER_NOT_FOUND);
        dossier__v1__response__free_unpacked(response, NULL);
        testclock_sleep_ms(50);
    }
    s_expect(response, DOSSIER_UNAUTHENTICATED, "expired at");
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_token_refused_off_gateway(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenResponse *made =
        s_create(fx, "elsewhere", "admin", 0);
    char bearer[128];
    s_bearer(made, bearer);
    const char *users[] = {"alice", "root", "rita"};
    for (size_t i = 0; i < 3; i++) {
        s_expect(s_get(fx, users[i], "x", bearer), DOSSIER_PERMISSION_DENIED,
                 "honoured only on a gateway connection");
    }
    s_expect(s_put(fx, "alice", "tok-off-gw", bearer),
             DOSSIER_PERMISSION_DENIED, "honoured only on a gateway");
    /* A malformed one is refused the same way: never ignored. */
    s_expect(s_get(fx, "alice", "x", "Bearer nonsense"),
             DOSSIER_PERMISSION_DENIED, "honoured only on a gateway");
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

static void
test_gateway_alone_gets_health_only(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__HealthRequest health = DOSSIER__V1__HEALTH_REQUEST__INIT;
    s_expect(s_call(fx, "gw", M("Health"), &health.base, NULL, NULL),
             DOSSIER_OK, NULL);
    Dossier__V1__DescribeRequest describe = DOSSIER__V1__DESCRIBE_REQUEST__INIT;
    s_expect(s_call(fx, "gw", M("Describe"), &describe.base, NULL, NULL),
             DOSSIER_OK, NULL);
    s_expect(s_get(fx, "gw", "x", NULL), DOSSIER_PERMISSION_DENIED,
             "is a gateway: without an API token");
    s_expect(s_put(fx, "gw", "tok-gw-alone", NULL), DOSSIER_PERMISSION_DENIED,
             "is a gateway");
    Dossier__V1__WhoAmIRequest who = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    s_expect(s_call(fx, "gw", M("WhoAmI"), &who.base, NULL, NULL),
             DOSSIER_PERMISSION_DENIED, "is a gateway");
}

/*  Whether the file at path holds needle (size bytes). */
static bool
s_file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    bool found = memmem(data, (size_t)size, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

static bool
s_payload_has(const Dossier__V1__Response *response, const char *needle) {
    return memmem(response->payload.data, response->payload.len, needle,
                  strlen(needle)) != NULL;
}

static void
test_secret_kept_nowhere(void **state) {
    s_fixture_t *fx = *state;
    Dossier__V1__CreateTokenRequest request =
        DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT;
    request.name = "hidden";
    Dossier__V1__CreateTokenResponse *made =
        s_payload(s_call(fx, "root", M("CreateToken"), &request.base, NULL,
                         "create-key-1"),
                  &dossier__v1__create_token_response__descriptor);
    /* The same idempotency key again: a new token, not the first reply. */
    Dossier__V1__CreateTokenResponse *second =
        s_payload(s_call(fx, "root", M("CreateToken"), &request.base, NULL,
                         "create-key-1"),
                  &dossier__v1__create_token_response__descriptor);
    assert_string_not_equal(second->token->id, made->token->id);
    char bearer[128];
    s_bearer(made, bearer);
    /* Used once, refused once, so that both paths had their chance to
       log it. */
    s_expect(s_put(fx, "gw", "tok-hidden", bearer), DOSSIER_PERMISSION_DENIED,
             NULL);
    s_expect(s_get(fx, "rita", "x", bearer), DOSSIER_PERMISSION_DENIED, NULL);
    /* The random part alone: whatever encoding a copy has, it is there. */
    const char *secret = made->secret + strlen("dossier_") + 13;
    Dossier__V1__AuditRequest audit = DOSSIER__V1__AUDIT_REQUEST__INIT;
    audit.page_size = 1000;
    Dossier__V1__Response *response =
        s_call(fx, "root", M("Audit"), &audit.base, NULL, NULL);
    assert_int_equal(response->code, DOSSIER_OK);
    assert_false(s_payload_has(response, secret));
    assert_true(s_payload_has(response, made->token->id)); /* it is there */
    dossier__v1__response__free_unpacked(response, NULL);
    Dossier__V1__ListTokensRequest list =
        DOSSIER__V1__LIST_TOKENS_REQUEST__INIT;
    response = s_call(fx, "root", M("ListTokens"), &list.base, NULL, NULL);
    assert_int_equal(response->code, DOSSIER_OK);
    assert_false(s_payload_has(response, secret));
    assert_true(s_payload_has(response, made->token->id));
    dossier__v1__response__free_unpacked(response, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/data.mdb", testserver_datadir(fx->ts));
    assert_false(s_file_has(path, secret));
    assert_true(s_file_has(path, made->token->id));
    assert_true(testserver_log_has(fx->ts, "CreateToken"));
    assert_true(testserver_log_has(fx->ts, "Put from hidden via gateway gw"));
    assert_false(testserver_log_has(fx->ts, secret));
    dossier__v1__create_token_response__free_unpacked(second, NULL);
    dossier__v1__create_token_response__free_unpacked(made, NULL);
}

/* ---- Without CURVE, on loopback: the development mode ---- */

/*  Calls method on endpoint over a plain DEALER, with metadata
    "authorization" when not NULL. Returns the Response, the caller's. */
static Dossier__V1__Response *
s_call_plain(const char *endpoint, const char *method,
             const ProtobufCMessage *payload, const char *authorization) {
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(dealer, 5000);
    zsock_set_linger(dealer, 0);
    assert_int_equal(zsock_connect(dealer, "%s", endpoint), 0);
    Dossier__V1__Request__MetadataEntry entry =
        DOSSIER__V1__REQUEST__METADATA_ENTRY__INIT;
    Dossier__V1__Request__MetadataEntry *metadata[1] = {&entry};
    entry.key = "authorization";
    entry.value = (char *)authorization;
    Dossier__V1__Request request = DOSSIER__V1__REQUEST__INIT;
    request.id = 78;
    request.method = (char *)method;
    size_t size = protobuf_c_message_get_packed_size(payload);
    uint8_t *buffer = malloc(size + 1);
    assert_non_null(buffer);
    protobuf_c_message_pack(payload, buffer);
    request.payload.data = buffer;
    request.payload.len = size;
    request.metadata = authorization ? metadata : NULL;
    request.n_metadata = authorization ? 1 : 0;
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
    zframe_destroy(&frame);
    zframe_destroy(&empty);
    zmsg_destroy(&reply);
    free(body);
    free(buffer);
    zsock_destroy(&dealer);
    return response;
}

static void
test_keyless_loopback_honours_tokens(void **state) {
    (void)state;
    testserver_t *ts = testserver_start(NULL);
    const char *ep = testserver_endpoint(ts);
    Dossier__V1__CreateTokenRequest create =
        DOSSIER__V1__CREATE_TOKEN_REQUEST__INIT;
    create.name = "page";
    Dossier__V1__CreateTokenResponse *made =
        s_payload(s_call_plain(ep, M("CreateToken"), &create.base, NULL),
                  &dossier__v1__create_token_response__descriptor);
    char bearer[128];
    s_bearer(made, bearer);
    Dossier__V1__WhoAmIRequest who_request = DOSSIER__V1__WHO_AM_IREQUEST__INIT;
    Dossier__V1__WhoAmIResponse *who =
        s_payload(s_call_plain(ep, M("WhoAmI"), &who_request.base, bearer),
                  &dossier__v1__who_am_iresponse__descriptor);
    assert_string_equal(who->name, "page");
    assert_string_equal(who->role, "reader");
    assert_string_equal(who->via, "anonymous");
    dossier__v1__who_am_iresponse__free_unpacked(who, NULL);
    Dossier__V1__Report r = s_report("dev-1");
    Dossier__V1__PutRequest put = DOSSIER__V1__PUT_REQUEST__INIT;
    put.report = &r;
    s_expect(s_call_plain(ep, M("Put"), &put.base, bearer),
             DOSSIER_PERMISSION_DENIED, "page has role reader");
    s_expect(s_call_plain(ep, M("Put"), &put.base, "Bearer dossier_x"),
             DOSSIER_UNAUTHENTICATED, NULL);
    /* Without a token: anonymous admin, as before. */
    s_expect(s_call_plain(ep, M("Put"), &put.base, NULL), DOSSIER_OK, NULL);
    dossier__v1__create_token_response__free_unpacked(made, NULL);
    testserver_stop(&ts);
}

/*  On a network address without CURVE (--insecure), anonymous callers
    are anyone: a token there is refused, not honoured. */
static void
test_insecure_network_refuses_tokens(void **state) {
    (void)state;
    testserver_t *ts = testserver_start("--bind tcp://0.0.0.0:* --insecure");
    char ep[128];
    const char *port = strrchr(testserver_endpoint(ts), ':');
    assert_non_null(port);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1%s", port);
    Dossier__V1__GetRequest get = DOSSIER__V1__GET_REQUEST__INIT;
    get.id = "x";
    s_expect(s_call_plain(ep, M("Get"), &get.base,
                          "Bearer dossier_000000000000_"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
             DOSSIER_PERMISSION_DENIED, "honoured only on a gateway");
    testserver_stop(&ts);
}

int
main(void) {
    const struct CMUnitTest curve[] = {
        cmocka_unit_test(test_admin_creates_lists_revokes),
        cmocka_unit_test(test_only_admin_manages_tokens),
        cmocka_unit_test(test_reader_token_reads_only),
        cmocka_unit_test(test_writer_token_writes_as_its_name),
        cmocka_unit_test(test_idempotency_keys_per_token),
        cmocka_unit_test(test_bad_tokens_are_unauthenticated),
        cmocka_unit_test(test_expired_token_stops),
        cmocka_unit_test(test_token_refused_off_gateway),
        cmocka_unit_test(test_gateway_alone_gets_health_only),
        cmocka_unit_test(test_secret_kept_nowhere),
    };
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_keyless_loopback_honours_tokens),
        cmocka_unit_test(test_insecure_network_refuses_tokens),
    };
    int failed = cmocka_run_group_tests(curve, s_setup, s_teardown);
    return failed + cmocka_run_group_tests(plain, NULL, NULL);
}
