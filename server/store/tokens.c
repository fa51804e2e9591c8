/*  tokens.c: the "tokens" database (API tokens for dossier-gateway's
    callers). See store.h, "API tokens".

    Key: the token's id. Value:

        u8 layout (1) | 32 bytes SHA-256 of the secret | be64 expires_ms
        | be64 revoked_ms | packed dossier.v1.Token

    The secret itself is never stored. The writes are plain key/value
    puts in the batch (store_kv_write), logged and replayed like the
    audit log's. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#define S_LAYOUT 1
#define S_HEADER (1 + STORE_TOKEN_HASH_SIZE + 8 + 8)
#define S_ID_MAX 64

/*  Decodes an entry into *out (out->token the caller's). */
static dossier_status_t
s_decode(const MDB_val *v, store_token_t *out, dossier_error_t *err) {
    const unsigned char *p = v->mv_data;
    if (v->mv_size < S_HEADER || p[0] != S_LAYOUT) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "a token entry of %zu bytes is damaged",
                                 v->mv_size);
    }
    Dossier__V1__Token *token =
        dossier__v1__token__unpack(NULL, v->mv_size - S_HEADER, p + S_HEADER);
    if (!token) {
        return dossier_error_set(err, DOSSIER_DATA_LOSS,
                                 "a token entry does not decode");
    }
    memcpy(out->secret_sha256, p + 1, STORE_TOKEN_HASH_SIZE);
    out->expires_ms = (int64_t)store_get_be64(p + 1 + STORE_TOKEN_HASH_SIZE);
    out->revoked_ms =
        (int64_t)store_get_be64(p + 1 + STORE_TOKEN_HASH_SIZE + 8);
    out->token = token;
    return DOSSIER_OK;
}

/*  Looks id up in txn. */
static dossier_status_t
s_read(store_t *self, MDB_txn *txn, const char *id, store_token_t *out,
       dossier_error_t *err) {
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > S_ID_MAX) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND, "no such token");
    }
    MDB_val k = {n, (void *)id}, v;
    int rc = mdb_get(txn, self->tokens, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return dossier_error_set(err, DOSSIER_NOT_FOUND, "no such token");
    }
    if (rc != 0) {
        return store_lmdb_error(self, err, rc, "cannot read the tokens");
    }
    return s_decode(&v, out, err);
}

dossier_status_t
store_token_get(store_t *self, const char *id, store_token_t *out,
                dossier_error_t *err) {
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    status = s_read(self, rd.txn, id, out, err);
    store_read_end(self, &rd);
    return status;
}

dossier_status_t
store_token_read(store_batch_t *batch, const char *id, store_token_t *out,
                 dossier_error_t *err) {
    dossier_status_t status = store_batch_usable(batch, err);
    if (status != DOSSIER_OK) {
        return status;
    }
    return s_read(batch->store, batch->txn, id, out, err);
}

dossier_status_t
store_token_put(store_batch_t *batch, const store_token_t *token,
                dossier_error_t *err) {
    const char *id = token->token ? token->token->id : NULL;
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > S_ID_MAX) {
        return dossier_error_set(err, DOSSIER_INVALID_ARGUMENT,
                                 "a token needs an id of 1 to %d bytes",
                                 S_ID_MAX);
    }
    size_t packed = dossier__v1__token__get_packed_size(token->token);
    unsigned char *value = malloc(S_HEADER + packed);
    if (!value) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    value[0] = S_LAYOUT;
    memcpy(value + 1, token->secret_sha256, STORE_TOKEN_HASH_SIZE);
    store_be64(value + 1 + STORE_TOKEN_HASH_SIZE, (uint64_t)token->expires_ms);
    store_be64(value + 1 + STORE_TOKEN_HASH_SIZE + 8,
               (uint64_t)token->revoked_ms);
    dossier__v1__token__pack(token->token, value + S_HEADER);
    dossier_status_t status =
        store_kv_write(batch, batch->store->tokens, id, n, value,
                       S_HEADER + packed, false, err);
    free(value);
    return status;
}

/*  Appends token (taken) to response. */
static dossier_status_t
s_append(Dossier__V1__ListTokensResponse *response, Dossier__V1__Token *token,
         dossier_error_t *err) {
    Dossier__V1__Token **tokens =
        realloc(response->tokens, (response->n_tokens + 1) * sizeof *tokens);
    if (!tokens) {
        dossier__v1__token__free_unpacked(token, NULL);
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    response->tokens = tokens;
    response->tokens[response->n_tokens++] = token;
    return DOSSIER_OK;
}

dossier_status_t
store_token_list(store_t *self, size_t max,
                 Dossier__V1__ListTokensResponse **response_p,
                 dossier_error_t *err) {
    Dossier__V1__ListTokensResponse *response = malloc(sizeof *response);
    if (!response) {
        return dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                 "out of memory");
    }
    dossier__v1__list_tokens_response__init(response);
    store_read_t rd;
    dossier_status_t status = store_read_begin(self, &rd, err);
    if (status != DOSSIER_OK) {
        free(response);
        return status;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(rd.txn, self->tokens, &cur);
    if (rc != 0) {
        status = store_lmdb_error(self, err, rc, "cannot read the tokens");
        goto cleanup_read;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (response->n_tokens >= max) {
            status = dossier_error_set(err, DOSSIER_RESOURCE_EXHAUSTED,
                                       "more than %zu tokens", max);
            break;
        }
        store_token_t entry = {0};
        status = s_decode(&v, &entry, err);
        if (status == DOSSIER_OK) {
            status = s_append(response, entry.token, err);
        }
        if (status != DOSSIER_OK) {
            break;
        }
    }
    if (status == DOSSIER_OK && rc != MDB_NOTFOUND) {
        status = store_lmdb_error(self, err, rc, "cannot read the tokens");
    }
    mdb_cursor_close(cur);
cleanup_read:
    store_read_end(self, &rd);
    if (status != DOSSIER_OK) {
        dossier__v1__list_tokens_response__free_unpacked(response, NULL);
        return status;
    }
    *response_p = response;
    return DOSSIER_OK;
}
