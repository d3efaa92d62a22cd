/* preview.c — preview.url: a signed, expiring URL of the sandbox's live
 * preview (preview/preview_http.h), answered with sandbox.preview.url. The
 * URL is only ever served by this worker, the sandbox's owner. */
#include <string.h>

#include "handlers/handlers.h"
#include "handlers/route.h"
#include "notify/emit.h"
#include "preview/preview_http.h"
#include "sq/clock.h"

#define DEFAULT_TTL_MS 3600000

int sq_handle_preview_url(sq_worker *w, sq_live_sandbox *sb, const sq_request *req, sq_err *err)
{
    sq_err why;
    if (!sb->browser) {
        sq_err_field(&why, SQ_CAPABILITY_DISABLED, "type", "this sandbox was created without capabilities.browser: "
                                                           "there is nothing to preview");
        return sq_route_reject(w, sb, req, &why, err);
    }
    sq_preview_mode mode = SQ_PREVIEW_VIEW;
    (void)sq_preview_mode_parse(json_string_value(json_object_get(req->body, "mode")), &mode); /* schema-checked */
    json_int_t ttl = json_integer_value(json_object_get(req->body, "ttlMs"));
    int64_t expires = sq_now_ms() + (ttl > 0 ? ttl : DEFAULT_TTL_MS);
    char url[1024];
    if (sq_preview_url_for(sb->id, mode, expires, url, sizeof url) < 0) {
        sq_err_set(&why, SQ_CAPABILITY_UNAVAILABLE, "this worker serves no previews (its HTTP server is off)");
        return sq_route_reject(w, sb, req, &why, err);
    }
    sq_emit_target t = sq_target_of(sb);
    return sq_emit(w, &t, req, NULL, "sandbox.preview.url",
                   json_pack("{s:s, s:s, s:I}", "url", url, "mode", sq_preview_mode_name(mode), "expiresAt",
                             (json_int_t)expires),
                   err);
}
