/*  webfiles.h: the analysts' page (web/) served by dossier-gateway.

    GET / answers DIR/index.html; GET /web/NAME answers DIR/NAME, where
    NAME is one to three path segments of [A-Za-z0-9._-], none starting
    with '.', and its extension is one of a fixed table (html, js, css,
    svg, png, json, txt, ico), which gives the Content-Type. Anything
    else under /web/ (a '%', "..", a hidden name, an unknown extension,
    a missing file, a directory, a symbolic link as the last segment) is
    404: nothing outside DIR can be named. Answers carry an ETag (size
    and modification time) and "Cache-Control: no-cache", so a browser
    revalidates with If-None-Match and gets 304 while the file is
    unchanged (a new page is seen on the next load, without stale
    assets); the page's own security headers (CSP: only this origin,
    nosniff, no framing) come with every answer. */
#ifndef DOSSIER_GATEWAY_WEBFILES_H
#define DOSSIER_GATEWAY_WEBFILES_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "status.h"

typedef struct webfiles webfiles_t;

/*  Serves the directory dir (borrowed; its real path is kept). Returns
    DOSSIER_OK and *webfiles_p (the caller's, ended with
    webfiles_destroy), or DOSSIER_INVALID_ARGUMENT when dir is not a
    directory holding index.html. */
dossier_status_t webfiles_new(const char *dir, webfiles_t **webfiles_p,
                              dossier_error_t *err);

/*  Frees webfiles and sets *webfiles_p to NULL; takes NULL. */
void webfiles_destroy(webfiles_t **webfiles_p);

/*  Whether uri (the raw request target) is the page's: "/" (with or
    without a query) or under "/web/". */
bool webfiles_route(const char *uri);

/*  Maps the path of uri (query dropped) to a file name relative to the
    directory and its Content-Type: "/" is index.html. Writes name (a
    buffer of name_size) and *content_type (static) and returns true, or
    returns false for a path that names no servable file by the rules
    above. Pure: touches no file (the fuzz and unit tests call it). */
bool webfiles_resolve(const char *uri, char *name, size_t name_size,
                      const char **content_type);

/*  The answer to verb (GET or HEAD) of uri, If-None-Match being the
    request's header (NULL when none). Returns a response for the caller
    to queue and destroy, its status in *status (200, 304, 404 or 405)
    and its body's size in *size (for the access log); NULL only when out
    of memory or descriptors. */
struct MHD_Response *webfiles_respond(const webfiles_t *webfiles,
                                      const char *verb, const char *uri,
                                      const char *if_none_match, int *status,
                                      size_t *size);

#endif
