/*  summary.h: the summary view of a record, as List (REPORT_VIEW_SUMMARY)
    and Search's hits return it. A leaf of the store: it needs nothing
    else, so both the scans and the full-text index use it. */
#ifndef DOSSIER_STORE_SUMMARY_H
#define DOSSIER_STORE_SUMMARY_H

#include "dossier/v1/report.pb-c.h"

/*  Drops from r (unpacked by protobuf-c with the default allocator) the
    fields the summary view leaves out: body, cite_as and disclaimer,
    freeing them; r stays the caller's and fit for its free_unpacked. */
void store_report_summarize(Dossier__V1__Report *r);

#endif
