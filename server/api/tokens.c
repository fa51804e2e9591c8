/*  tokens.c: API tokens: the check of a request's token, and the admin
    methods CreateToken, ListTokens and RevokeToken. See tokens.h.

    OpenSSL (already linked for import digests) gives the random bytes
    (RAND_bytes), SHA-256 and the constant-time comparison of hashes, so
    the time a wrong secret takes says nothing about the right one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api/handlers.h"
#include "api/methods.h"
#include "api/tokens.h"
#include "dossier/v1/reports.pb-c.h"
#include "store/store.h"
#include "text.h"

#define S_PREFIX "dossier_"
#define S_PREFIX_LEN (sizeof S_PREFIX - 1)
#define S_SECRET_BYTES 32
#define S_SECRET_LEN 43 /* base64url of 32 bytes, no padding */
#define S_TOKEN_LEN (S_PREFIX_LEN + STORE_TOKEN_ID_SIZE + 1 + S_SECRET_LEN)
#define S_NAME_MAX 63
#define S_MAX_EXPIRY_S (100ULL * 366 * 86400)
#define S_MAX_TOKENS 100000

/* ---- Small helpers ---- */

static int64_t
s_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  "2026-11-27T20:54:02.123Z" for ms since the epoch, as records are
    stamped. */
static void
s_iso(int64_t ms, char out[32]) {
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static bool
s_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool
s_base64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*  True when text is a token's shape; writes its id (NUL-terminated). */
static bool
s_parse(const char *text, char id[STORE_TOKEN_ID_SIZE + 1]) {
    if (strlen(text) != S_TOKEN_LEN ||
        strncmp(text, S_PREFIX, S_PREFIX_LEN) != 0 ||
        text[S_PREFIX_LEN + STORE_TOKEN_ID_SIZE] != '_') {
        return false;
    }
    const char *p = text + S_PREFIX_LEN;
    for (size_t i = 0; i < STORE_TOKEN_ID_SIZE; i++) {
        if (!s_hex(p[i])) {
            return false;
        }
    }
    p += STORE_TOKEN_ID_SIZE + 1;
    for (size_t i = 0; i < S_SECRET_LEN; i++) {
        if (!s_base64url(p[i])) {
            return false;
        }
    }
    memcpy(id, text + S_PREFIX_LEN, STORE_TOKEN_ID_SIZE);
    id[STORE_TOKEN_ID_SIZE] = '\0';
    return true;
}

static bool
s_sha256(const char *text, uint8_t out[STORE_TOKEN_HASH_SIZE]) {
    unsigned size = 0;
    return EVP_Digest(text, strlen(text), out, &size, EVP_sha256(), NULL) &&
           size == STORE_TOKEN_HASH_SIZE;
}

/*  The value of metadata "authorization" (the last one), or NULL. */
static const char *
s_authorization(const Dossier__V1__Request *request) {
    const char *value = NULL;
    for (size_t i = 0; i < request->n_metadata; i++) {
        const Dossier__V1__Request__MetadataEntry *entry = request->metadata[i];
        if (entry->key && strcmp(entry->key, TOKENS_METADATA_KEY) == 0) {
            value = entry->value ? entry->value : "";
        }
    }
    return value;
}

/* ---- The check of a request ---- */

/*  Refuses a token that cannot be used, naming it by id and name. */
static dossier_status_t
s_refuse(const store_token_t *entry, int64_t now, dossier_error_t *err) {
    const Dossier__V1__Token *t = entry->token;
    if (entry->revoked_ms) {
        return dossier_error_set(err, DOSSIER_UNAUTHENTICATED,
                                 "API token %s (%s) was revoked at %s; ask an "
                                 "admin for a new one",
                                 t->id, t->name, t->revoked_at);
    }
    if (entry->expires_ms && now >= entry->expires_ms) {
        return dossier_error_set(err, DOSSIER_UNAUTHENTICATED,
                                 "API token %s (%s) expired at %s; ask an "
                                 "admin for a new one",
                                 t->id, t->name, t->expires_at);
    }
    return DOSSIER_OK;
}

dossier_status_t
tokens_authenticate(struct store_t *store, const Dossier__V1__Request *request,
                    job_t *job, dossier_error_t *err) {
    const char *value = s_authorization(request);
    if (!value || job->role == ROLE_NONE) {
        return DOSSIER_OK;
    }
    if (!job->tokens_honoured) {
        return dossier_error_set(
            err, DOSSIER_PERMISSION_DENIED,
            "API tokens are honoured only on a gateway connection (a user "
            "whose role is gateway) or in the keyless loopback mode; %s has "
            "role %s: call without metadata \"authorization\", as yourself",
            job->user, methods_role_name(job->role));
    }
    size_t scheme = sizeof TOKENS_SCHEME - 1;
    char id[STORE_TOKEN_ID_SIZE + 1];
    if (strncasecmp(value, TOKENS_SCHEME " ", scheme + 1) != 0 ||
        !s_parse(value + scheme + 1, id)) {
        return dossier_error_set(
            err, DOSSIER_UNAUTHENTICATED,
            "metadata \"authorization\" is not \"Bearer "
            "dossier_<id>_<secret>\"; "
            "send the whole token that `dossier token create` printed");
    }
    const char *text = value + scheme + 1;
    store_token_t entry = {0};
    dossier_error_t why = {0};
    dossier_status_t rc = store_token_get(store, id, &entry, &why);
    if (rc == DOSSIER_NOT_FOUND) {
        return dossier_error_set(err, DOSSIER_UNAUTHENTICATED,
                                 "API token %s is unknown to this server; ask "
                                 "an admin for a token (`dossier token "
                                 "create`)",
                                 id);
    }
    if (rc != DOSSIER_OK) {
        return dossier_error_set(err, rc, "API token %s not checked: %s", id,
                                 why.message);
    }
    uint8_t hash[STORE_TOKEN_HASH_SIZE];
    role_t role = ROLE_NONE;
    if (!s_sha256(text, hash)) {
        rc = dossier_error_set(err, DOSSIER_INTERNAL,
                               "API token %s not checked: SHA-256 failed", id);
    } else if (CRYPTO_memcmp(hash, entry.secret_sha256, sizeof hash) != 0) {
        rc = dossier_error_set(err, DOSSIER_UNAUTHENTICATED,
                               "API token %s is not valid: its secret does "
                               "not match; send the whole token that "
                               "`dossier token create` printed",
                               id);
    } else if ((rc = s_refuse(&entry, s_wall_ms(), err)) != DOSSIER_OK) {
        /* err says why */
    } else if (!methods_role_parse(entry.token->role, &role)) {
        rc = dossier_error_set(err, DOSSIER_DATA_LOSS,
                               "API token %s has no valid role", id);
    }
    if (rc == DOSSIER_OK) {
        /* In the keyless mode a token only narrows the caller. */
        if (job->role != ROLE_GATEWAY && role > job->role) {
            role = job->role;
        }
        snprintf(job->via, sizeof job->via, "%s", job->user);
        text_utf8_copy(job->user, sizeof job->user, entry.token->name);
        snprintf(job->token_id, sizeof job->token_id, "%s", id);
        job->role = role;
    }
    dossier__v1__token__free_unpacked(entry.token, NULL);
    return rc;
}

/* ---- CreateToken, ListTokens, RevokeToken ---- */

/*  A name as the users table takes one: 1 to 63 bytes of UTF-8 without
    control characters. */
static bool
s_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > S_NAME_MAX || !text_utf8_valid(name, n)) {
        return false;
    }
    for (size_t at = 0; at < n;) {
        uint32_t cp;
        size_t len =
            text_utf8_decode((const unsigned char *)name + at, n - at, &cp);
        if (len == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
            return false;
        }
        at += len;
    }
    return true;
}

/*  A fresh id and token string from the system's random source. */
static bool
s_generate(char id[STORE_TOKEN_ID_SIZE + 1], char text[S_TOKEN_LEN + 1]) {
    uint8_t bytes[STORE_TOKEN_ID_SIZE / 2 + S_SECRET_BYTES];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        return false;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < STORE_TOKEN_ID_SIZE / 2; i++) {
        id[2 * i] = hex[bytes[i] >> 4];
        id[2 * i + 1] = hex[bytes[i] & 15];
    }
    id[STORE_TOKEN_ID_SIZE] = '\0';
    unsigned char b64[4 * ((S_SECRET_BYTES + 2) / 3) + 1];
    EVP_EncodeBlock(b64, bytes + STORE_TOKEN_ID_SIZE / 2, S_SECRET_BYTES);
    for (size_t i = 0; i < S_SECRET_LEN; i++) {
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    }
    char *p = text;
    memcpy(p, S_PREFIX, S_PREFIX_LEN);
    p += S_PREFIX_LEN;
    memcpy(p, id, STORE_TOKEN_ID_SIZE);
    p += STORE_TOKEN_ID_SIZE;
    *p++ = '_';
    memcpy(p, b64, S_SECRET_LEN);
    p[S_SECRET_LEN] = '\0';
    OPENSSL_cleanse(bytes, sizeof bytes);
    OPENSSL_cleanse(b64, sizeof b64);
    return true;
}

/*  Checks a CreateTokenRequest; writes the role to *role. */
static dossier_status_t
s_check_create(const Dossier__V1__CreateTokenRequest *request, role_t *role,
               dossier_error_t *err) {
    if (!s_name_ok(request->name)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "CreateTokenRequest.name must be 1 to %d "
                                 "bytes of UTF-8 without control characters",
                                 S_NAME_MAX);
    }
    *role = ROLE_READER;
    if (request->role[0] && !methods_role_parse(request->role, role)) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "CreateTokenRequest.role '%.40s' is not "
                                 "reader, writer or admin",
                                 request->role);
    }
    if (request->expires_in_seconds > S_MAX_EXPIRY_S) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "CreateTokenRequest.expires_in_seconds is "
                                 "more than 100 years; 0 means never");
    }
    return DOSSIER_OK;
}

dossier_status_t
handle_create_token(const handler_env_t *env, store_batch_t *batch, job_t *job,
                    dossier_error_t *err) {
    (void)env;
    const Dossier__V1__CreateTokenRequest *request = (void *)job->input;
    role_t role;
    dossier_status_t rc = s_check_create(request, &role, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    char id[STORE_TOKEN_ID_SIZE + 1];
    char text[S_TOKEN_LEN + 1];
    /* 48 random bits of id: a clash is rare; a few draws settle it. */
    for (int attempt = 0;; attempt++) {
        if (!s_generate(id, text)) {
            return dossier_error_set(err, DOSSIER_INTERNAL,
                                     "no random bytes for a token");
        }
        store_token_t old = {0};
        rc = store_token_read(batch, id, &old, err);
        dossier__v1__token__free_unpacked(old.token, NULL);
        if (rc == DOSSIER_NOT_FOUND) {
            break;
        }
        if (rc != DOSSIER_OK || attempt == 3) {
            OPENSSL_cleanse(text, sizeof text);
            return rc != DOSSIER_OK
                       ? rc
                       : dossier_error_set(err, DOSSIER_ABORTED,
                                           "no free token id; try again");
        }
    }
    int64_t now = store_batch_now_ms(batch);
    char created[32], expires[32] = "";
    s_iso(now, created);
    store_token_t entry = {0};
    if (request->expires_in_seconds) {
        entry.expires_ms = now + (int64_t)request->expires_in_seconds * 1000;
        s_iso(entry.expires_ms, expires);
    }
    Dossier__V1__Token token = DOSSIER__V1__TOKEN__INIT;
    token.id = id;
    token.name = request->name;
    token.role = (char *)methods_role_name(role);
    token.created_at = created;
    token.created_by = job->user;
    token.expires_at = expires;
    entry.token = &token;
    if (!s_sha256(text, entry.secret_sha256)) {
        rc = dossier_error_set(err, DOSSIER_INTERNAL, "SHA-256 failed");
    } else {
        rc = store_token_put(batch, &entry, err);
    }
    if (rc == DOSSIER_OK) {
        snprintf(job->audit_id, sizeof job->audit_id, "%s", id);
        Dossier__V1__CreateTokenResponse response =
            DOSSIER__V1__CREATE_TOKEN_RESPONSE__INIT;
        response.token = &token;
        response.secret = text;
        rc = job_set_payload(job, &response.base, err);
    }
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

static int
s_by_created(const void *a, const void *b) {
    const Dossier__V1__Token *x = *(Dossier__V1__Token *const *)a;
    const Dossier__V1__Token *y = *(Dossier__V1__Token *const *)b;
    int c = strcmp(x->created_at, y->created_at);
    return c ? c : strcmp(x->id, y->id);
}

dossier_status_t
handle_list_tokens(const handler_env_t *env, job_t *job, dossier_error_t *err) {
    Dossier__V1__ListTokensResponse *response = NULL;
    dossier_status_t rc =
        store_token_list(env->store, S_MAX_TOKENS, &response, err);
    if (rc != DOSSIER_OK) {
        return rc;
    }
    if (response->n_tokens > 1) {
        qsort(response->tokens, response->n_tokens, sizeof *response->tokens,
              s_by_created);
    }
    rc = job_set_payload(job, &response->base, err);
    dossier__v1__list_tokens_response__free_unpacked(response, NULL);
    return rc;
}

dossier_status_t
handle_revoke_token(const handler_env_t *env, store_batch_t *batch, job_t *job,
                    dossier_error_t *err) {
    (void)env;
    const Dossier__V1__RevokeTokenRequest *request = (void *)job->input;
    store_token_t entry = {0};
    dossier_error_t why = {0};
    dossier_status_t rc = store_token_read(batch, request->id, &entry, &why);
    if (rc == DOSSIER_NOT_FOUND) {
        char shown[STORE_TOKEN_ID_SIZE * 2 + 4];
        text_utf8_copy(shown, sizeof shown, request->id);
        return dossier_error_set(err, DOSSIER_NOT_FOUND,
                                 "no API token has id '%s'; `dossier token "
                                 "list` shows them",
                                 shown);
    }
    if (rc != DOSSIER_OK) {
        return dossier_error_set(err, rc, "%s", why.message);
    }
    char revoked[32];
    if (!entry.revoked_ms) {
        entry.revoked_ms = store_batch_now_ms(batch);
        s_iso(entry.revoked_ms, revoked);
        if (entry.token->revoked_at != protobuf_c_empty_string) {
            free(entry.token->revoked_at);
        }
        entry.token->revoked_at = strdup(revoked);
        rc = entry.token->revoked_at
                 ? store_token_put(batch, &entry, err)
                 : dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                     "out of memory");
    }
    if (rc == DOSSIER_OK) {
        Dossier__V1__RevokeTokenResponse response =
            DOSSIER__V1__REVOKE_TOKEN_RESPONSE__INIT;
        response.token = entry.token;
        rc = job_set_payload(job, &response.base, err);
    }
    dossier__v1__token__free_unpacked(entry.token, NULL);
    return rc;
}
