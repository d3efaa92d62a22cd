/* preview_http.h — the live preview over HTTP, served by the worker that owns
 * the sandbox on its HTTP daemon (http.c, thread-per-connection):
 *   GET  /preview/<sbx>?m=&e=&s=          the viewer page
 *   GET  /preview/<sbx>/stream?m=&e=&s=   MJPEG (multipart/x-mixed-replace)
 *   POST /preview/<sbx>/input?m=&e=&s=    one input (JSON: preview_input.h)
 * Every path checks the URL's signature and expiry (preview_sign.h): 403
 * otherwise; input also needs a control URL and a control mode that lets a
 * person act (an accepted hand-off): 403 otherwise.
 *
 * Settings (docs/handoff.md): SANDQ_PUBLIC_URL, the base URL this worker's
 * viewer URLs start with (default http://<SANDQ_HTTP_ADDR>:<port>), and
 * SANDQ_PREVIEW_KEY, base64 of 32 bytes, the HMAC key (default: random per
 * worker process — a URL is only ever served by the worker that made it). */
#ifndef SQ_PREVIEW_HTTP_H
#define SQ_PREVIEW_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "preview/preview_sign.h"
#include "worker.h"

/* Once the daemon listens on port. */
int sq_preview_http_init(sq_worker *w, int port, sq_err *err);
/* A viewer URL for sandbox_id; -1 when previews are not served. */
int sq_preview_url_for(const char *sandbox_id, sq_preview_mode mode, int64_t expires_at, char *out, size_t size);

bool sq_preview_http_match(const char *url);
enum MHD_Result sq_preview_http(sq_worker *w, struct MHD_Connection *c, const char *url, const char *method,
                                const char *upload, size_t *upload_size, void **state);
/* Before the daemon stops: open streams end within half a second. */
void sq_preview_http_stopping(void);
/* MHD_OPTION_NOTIFY_COMPLETED: frees what sq_preview_http kept in *state. */
void sq_preview_http_done(void **state);

#endif
