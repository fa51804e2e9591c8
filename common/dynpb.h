/*  dynpb.h: protobuf-c descriptors built at run time from a
    google.protobuf.FileDescriptorSet (the bytes Describe answers), so a
    program can call, pack, unpack and render as JSON (json.h) the
    messages of methods it was not compiled with.

    A pool holds the descriptors of every message and enum type of the
    set, and the methods of its services. Everything it hands out is
    owned by the pool and freed at once by dynpb_pool_destroy; messages
    made with its descriptors must be freed before it.

    The set may come from a hostile server: the builder checks every
    name, number, type reference, label, default and size, and refuses
    what protoc would refuse or what protobuf-c cannot carry (groups,
    editions, field numbers out of range or reserved, duplicates,
    unresolved or relative type names) with a sentence saying where.

    The descriptors differ from protoc-c's in two ways a caller may see:
    message_init is NULL (protobuf_c_message_unpack and json_to_message
    initialize such messages themselves; never call
    protobuf_c_message_init on them), and the struct layout is the
    pool's own (use the field descriptors' offsets, never a compiled
    struct). */
#ifndef DOSSIER_DYNPB_H
#define DOSSIER_DYNPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "status.h"

/*  Bounds on what a pool accepts. */
#define DYNPB_MAX_TYPES 10000      /* messages and enums, nested ones too */
#define DYNPB_MAX_FIELDS 2000      /* fields of one message */
#define DYNPB_MAX_ENUM_VALUES 4000 /* values of one enum */
#define DYNPB_MAX_NAME 512         /* bytes of a full name */
#define DYNPB_MAX_DEPTH 64         /* messages inside messages, on the wire */

typedef struct dynpb_pool dynpb_pool_t;

/*  A method of a service of the set. */
typedef struct dynpb_method {
    const char *service;   /* "dossier.v1.Reports" */
    const char *name;      /* "Get" */
    const char *full_name; /* "dossier.v1.Reports/Get" */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    bool client_streaming, server_streaming;
    /* MethodOptions.idempotency_level: 0 IDEMPOTENCY_UNKNOWN,
       1 NO_SIDE_EFFECTS, 2 IDEMPOTENT; -1 when the method sets none. */
    int idempotency;
    /* The method's options that are extensions of MethodOptions declared
       in the set, read as varints ((dossier.v1.required_role)), as
       "(NAME) = VALUE" with an enum's value by name; NULL when none. */
    const char *const *extension_options;
    size_t n_extension_options;
} dynpb_method_t;

/*  Builds a pool from size bytes of a serialized FileDescriptorSet
    (borrowed; not kept). Returns DOSSIER_OK and sets *pool_p (the
    caller's, freed with dynpb_pool_destroy); DOSSIER_INVALID_ARGUMENT
    with err saying what is wrong when the set is unreadable or refused;
    DOSSIER_RESOURCE_EXHAUSTED when out of memory. */
dossier_status_t dynpb_pool_new(const uint8_t *data, size_t size,
                                dynpb_pool_t **pool_p, dossier_error_t *err);

/*  Frees the pool and all its descriptors and sets *pool_p to NULL.
    Takes NULL and a pointer to NULL. */
void dynpb_pool_destroy(dynpb_pool_t **pool_p);

/*  The message type whose full name is name ("dossier.v1.Report", with or
    without a leading '.'), or NULL. Borrowed from the pool. */
const ProtobufCMessageDescriptor *dynpb_pool_message(const dynpb_pool_t *pool,
                                                     const char *name);

/*  The enum type whose full name is name, or NULL. Borrowed. */
const ProtobufCEnumDescriptor *dynpb_pool_enum(const dynpb_pool_t *pool,
                                               const char *name);

/*  Every message type of the pool, sorted by full name; *n gets their
    number. Borrowed. */
const ProtobufCMessageDescriptor *const *
dynpb_pool_messages(const dynpb_pool_t *pool, size_t *n);

/*  The methods of every service, in the order the set declares them;
 *n gets their number. Borrowed. */
const dynpb_method_t *dynpb_pool_methods(const dynpb_pool_t *pool, size_t *n);

/*  The method name names: its full name ("dossier.v1.Reports/Get", also
    with a leading '/'), "Reports/Get", or "Get" alone when one service
    only has a method of that name. NULL when none matches or "Get" is
    ambiguous. Borrowed. */
const dynpb_method_t *dynpb_pool_find_method(const dynpb_pool_t *pool,
                                             const char *name);

/*  Whether size bytes of data, read as a message of type desc (compiled
    or dynamic), nest messages at most max_depth deep, and would take at
    most max_bytes of message structs once unpacked. protobuf-c's unpack
    recurses once per level without a bound of its own, and allocates a
    whole struct for each submessage however few bytes it took on the
    wire, so a hostile peer's reply is checked with this first. Bytes
    that are not a valid message return true: unpack refuses them. */
bool dynpb_wire_bounded(const ProtobufCMessageDescriptor *desc,
                        const uint8_t *data, size_t size, unsigned max_depth,
                        size_t max_bytes);

#endif
