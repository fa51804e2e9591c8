/*  cli_edit.h: the verbs of cli_edit.c, for main.c's verb table. */
#ifndef DOSSIER_CLI_EDIT_H
#define DOSSIER_CLI_EDIT_H

#include "cli.h"

/* `dossier VERB --help` texts. */
extern const char cli_usage_edit[];
extern const char cli_usage_audit[];
extern const char cli_usage_watch[];

/*  edit ID: the record as JSON in $EDITOR, stored back with
    expected_version = the version read. */
int cli_edit(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);

/*  audit [--user U] [--since T] [--method M] [--limit N]: the audit log. */
int cli_audit(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);

/*  watch [--feed ENDPOINT] [--count N]: the change feed, one line per
    change, until interrupted. */
int cli_watch(const cli_verb_t *verb, cli_global_t *g, int argc, char **argv);

#endif
