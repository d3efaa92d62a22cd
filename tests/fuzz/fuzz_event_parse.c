/* fuzz_event_parse.c — libFuzzer harness for sq_event_parse, the reader libsandq
 * and the CLI run on every message of the events topic, and for sq_event_new.
 *
 * Invariants: a parsed event has an object `data` borrowed from its root; ids
 * are NUL-terminated within their buffers; and an event rebuilt from what was
 * parsed with sq_event_new reads back with the same fields. */
#include <string.h>

#include "fuzz_check.h"
#include "sq/event.h"

/* The field is absent, not a string, or a string that fits in n bytes with its
 * NUL — i.e. sq_event_parse copied it without truncating. */
static bool fits(const json_t *root, const char *key, size_t n)
{
    const json_t *v = json_object_get(root, key);
    return !json_is_string(v) || json_string_length(v) < n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sq_event ev;
    sq_err err;
    sq_err_clear(&err);
    int rc = sq_event_parse((const char *)data, size, &ev, &err);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        FUZZ_CHECK(err.code == SQ_INVALID_REQUEST && err.msg[0] != '\0');
        sq_event_free(&ev);
        return 0;
    }
    FUZZ_CHECK(json_is_object(ev.root));
    FUZZ_CHECK(json_is_object(ev.data));
    FUZZ_CHECK(json_object_get(ev.root, "data") == ev.data);
    FUZZ_CHECK(strlen(ev.event_id) < sizeof ev.event_id);
    FUZZ_CHECK(strlen(ev.type) < sizeof ev.type);
    FUZZ_CHECK(strlen(ev.sandbox_id) < sizeof ev.sandbox_id);
    FUZZ_CHECK(strlen(ev.task_id) < sizeof ev.task_id);
    FUZZ_CHECK(strlen(ev.request_id) < sizeof ev.request_id);

    if (fits(ev.root, "eventId", sizeof ev.event_id) && fits(ev.root, "type", sizeof ev.type) &&
        fits(ev.root, "sandboxId", sizeof ev.sandbox_id) && fits(ev.root, "taskId", sizeof ev.task_id) &&
        fits(ev.root, "requestId", sizeof ev.request_id)) {
        const json_t *md = json_object_get(ev.root, "metadata");
        sq_event_ctx ctx = {.sandbox_id = ev.sandbox_id,
                            .task_id = ev.task_id,
                            .request_id = ev.request_id,
                            .worker_id = "w-fuzz",
                            .region = "iad",
                            .tenant = "t",
                            .metadata = json_is_object(md) ? md : NULL};
        json_t *built = sq_event_new(ev.event_id, ev.type, &ctx, ev.seq, ev.at, json_deep_copy(ev.data));
        FUZZ_CHECK(built != NULL);
        char *buf = json_dumps(built, JSON_COMPACT);
        FUZZ_CHECK(buf != NULL);
        sq_event back;
        FUZZ_CHECK(sq_event_parse(buf, strlen(buf), &back, &err) == 0);
        FUZZ_CHECK(strcmp(back.event_id, ev.event_id) == 0);
        FUZZ_CHECK(strcmp(back.type, ev.type) == 0);
        FUZZ_CHECK(strcmp(back.sandbox_id, ev.sandbox_id) == 0);
        FUZZ_CHECK(strcmp(back.task_id, ev.task_id) == 0);
        FUZZ_CHECK(strcmp(back.request_id, ev.request_id) == 0);
        FUZZ_CHECK(back.seq == ev.seq && back.at == ev.at);
        FUZZ_CHECK(json_equal(back.data, ev.data));
        sq_event_free(&back);
        free(buf);
        json_decref(built);
    }
    sq_event_free(&ev);
    return 0;
}
