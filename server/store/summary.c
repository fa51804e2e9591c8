/*  summary.c: see summary.h. */
#include <stdlib.h>

#include "store/summary.h"

void
store_report_summarize(Dossier__V1__Report *r) {
    for (size_t i = 0; i < r->n_body; i++) {
        free(r->body[i]);
    }
    free(r->body);
    r->body = NULL;
    r->n_body = 0;
    if (r->cite_as != protobuf_c_empty_string) {
        free(r->cite_as);
        r->cite_as = (char *)protobuf_c_empty_string;
    }
    if (r->disclaimer != protobuf_c_empty_string) {
        free(r->disclaimer);
        r->disclaimer = (char *)protobuf_c_empty_string;
    }
}
