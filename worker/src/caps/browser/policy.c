/* policy.c — see policy.h. No I/O. */
#include "caps/browser/policy.h"

void sq_browser_opts_from(const json_t *body, sq_browser_opts *o)
{
    const json_t *b = json_object_get(json_object_get(body, "capabilities"), "browser");
    o->wanted = json_is_object(b);
    o->width = SQ_BROWSER_DEFAULT_WIDTH;
    o->height = SQ_BROWSER_DEFAULT_HEIGHT;
    o->persistent = true;
    o->proxy_server[0] = '\0';
    o->relay_conf[0] = '\0';
    if (!o->wanted)
        return;
    const json_t *vp = json_object_get(b, "viewport");
    if (json_is_integer(json_object_get(vp, "width")))
        o->width = (int)json_integer_value(json_object_get(vp, "width"));
    if (json_is_integer(json_object_get(vp, "height")))
        o->height = (int)json_integer_value(json_object_get(vp, "height"));
    const json_t *p = json_object_get(b, "persistentProfile");
    if (json_is_boolean(p))
        o->persistent = json_is_true(p);
}

int sq_browser_create_check(const sq_browser_opts *o, bool available, int64_t memory_mb, sq_err *err)
{
    if (!o->wanted)
        return 0;
    if (!available)
        return sq_err_field(err, SQ_CAPABILITY_UNAVAILABLE, "body.capabilities.browser",
                            "this worker has no browser installed (chromium-headless-shell); "
                            "create the sandbox without capabilities.browser or on a worker that has it");
    if (memory_mb > 0 && memory_mb < SQ_BROWSER_MIN_MEMORY_MB)
        return sq_err_field(err, SQ_LIMIT_EXCEEDED, "body.limits.memoryMb",
                            "memoryMb %lld is below the %d MiB a sandbox with a browser needs", (long long)memory_mb,
                            SQ_BROWSER_MIN_MEMORY_MB);
    return 0;
}
