/*  grpc_load.h: copies dossierd's records for the gRPC baseline server
    (bench/grpc/grpc_server.cc), so that both serve the same bytes. */
#ifndef GRPC_LOAD_H
#define GRPC_LOAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Called once per record: id (NUL-terminated) and the packed
    dossier.v1.Report, both borrowed for the call. Returns 0 to go on,
    anything else to stop. */
typedef int (*grpc_load_put_fn)(const char *id, const void *report, size_t size,
                                void *arg);

/*  Gets the records "bench-0000000" .. of records ids (those dossier-bench
    preloads) from the dossierd at endpoint, as dossierd stores them (the
    Get reply's payload, not decoded), and hands each to put.
    Returns 0, or -1 with a sentence in err (errlen bytes). */
int grpc_load_records(const char *endpoint, unsigned records,
                      grpc_load_put_fn put, void *arg, char *err,
                      size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
