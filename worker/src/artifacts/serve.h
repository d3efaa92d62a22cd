/* serve.h — GET /artifacts/<artifactId>?exp=…&sig=… on the worker's HTTP
 * endpoint (http.c): the directory store's downloads. The signature (HMAC over
 * the id and the expiry, sq/artifact_url.h) is checked in constant time before
 * anything else; the row in PostgreSQL says which key to serve; one Range
 * (http_range.h) is honoured with 206. Any worker whose store is the same
 * directory (a shared volume) serves any artifact in it. */
#ifndef SQ_ARTIFACT_SERVE_H
#define SQ_ARTIFACT_SERVE_H

#include <microhttpd.h>

#include "worker.h"

enum MHD_Result sq_art_serve(sq_worker *w, struct MHD_Connection *c, const char *url);

#endif
