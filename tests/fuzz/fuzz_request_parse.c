/* fuzz_request_parse.c — libFuzzer harness for sq_request_parse (and through
 * it sq_body_validate): the first code that touches bytes from Kafka.
 *
 * Beyond "no crash, no leak, no UB" it checks what the worker relies on:
 *  - an accepted request has valid ids, a known type, a taskId when the type
 *    needs one, a tenant, an object body; re-serialized, it parses the same;
 *  - a rejection has a code and a message, and every id it kept is valid (they
 *    become Kafka keys and event fields);
 *  - NOT_ENVELOPE only for bytes that are not a JSON object. */
#include <string.h>

#include "fuzz_check.h"
#include "sq/protocol.h"

static bool tenant_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > SQ_TENANT_MAX)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || *t == '.' ||
              *t == '_' || *t == '-'))
            return false;
    return true;
}

static void check_kept_ids(const sq_request *req)
{
    FUZZ_CHECK(req->request_id[0] == '\0' || sq_id_valid(req->request_id, "req"));
    FUZZ_CHECK(req->sandbox_id[0] == '\0' || sq_id_valid(req->sandbox_id, "sbx"));
    FUZZ_CHECK(req->task_id[0] == '\0' || sq_id_valid(req->task_id, "tsk"));
    FUZZ_CHECK(tenant_ok(req->tenant));
    FUZZ_CHECK(req->metadata == NULL || json_is_object(req->metadata));
    FUZZ_CHECK(strlen(req->reply_to) < 250);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Mostly a generous limit; sometimes one the input exceeds, so the
     * payload_too_large path is explored with everything before it. */
    size_t max = (size % 5 == 4) ? size / 2 : (size_t)1 << 20;
    sq_request req;
    sq_err err;
    sq_parse_outcome o = sq_request_parse((const char *)data, size, max, &req, &err);

    switch (o) {
    case SQ_PARSE_OK: {
        FUZZ_CHECK(err.code == SQ_OK);
        FUZZ_CHECK(size <= max);
        FUZZ_CHECK(req.v == SQ_PROTOCOL_VERSION);
        FUZZ_CHECK(req.type > SQ_REQ_UNKNOWN && req.type < SQ_REQ__COUNT);
        FUZZ_CHECK(strcmp(req.type_name, sq_req_type_name(req.type)) == 0);
        FUZZ_CHECK(sq_id_valid(req.request_id, "req"));
        FUZZ_CHECK(sq_id_valid(req.sandbox_id, "sbx"));
        FUZZ_CHECK(!sq_req_type_needs_task(req.type) || sq_id_valid(req.task_id, "tsk"));
        FUZZ_CHECK(req.reply_to[0] == '\0' || req.type == SQ_REQ_SANDBOX_CREATE);
        FUZZ_CHECK(req.sent_at >= 0);
        FUZZ_CHECK(json_is_object(req.root) && json_is_object(req.body));
        FUZZ_CHECK(json_object_get(req.root, "body") == req.body);
        check_kept_ids(&req);

        /* The canonical form of an accepted request is accepted the same way. */
        char *again = json_dumps(req.root, JSON_COMPACT);
        FUZZ_CHECK(again != NULL);
        sq_request req2;
        sq_err err2;
        FUZZ_CHECK(sq_request_parse(again, strlen(again), (size_t)1 << 30, &req2, &err2) == SQ_PARSE_OK);
        FUZZ_CHECK(req2.type == req.type);
        FUZZ_CHECK(strcmp(req2.request_id, req.request_id) == 0);
        FUZZ_CHECK(strcmp(req2.sandbox_id, req.sandbox_id) == 0);
        FUZZ_CHECK(strcmp(req2.task_id, req.task_id) == 0);
        FUZZ_CHECK(strcmp(req2.tenant, req.tenant) == 0);
        FUZZ_CHECK(strcmp(req2.reply_to, req.reply_to) == 0);
        FUZZ_CHECK(json_equal(req2.body, req.body));
        sq_request_free(&req2);
        free(again);

        /* Validating the body on its own agrees with the parser. */
        FUZZ_CHECK(sq_body_validate(req.type, req.body, &err2) == 0);
        break;
    }
    case SQ_PARSE_REJECTED:
        FUZZ_CHECK(err.code > SQ_OK && err.code < SQ_CODE__COUNT);
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(json_is_object(req.root));
        FUZZ_CHECK(err.code != SQ_PAYLOAD_TOO_LARGE || size > max || err.field[0] != '\0');
        check_kept_ids(&req);
        break;
    case SQ_PARSE_NOT_ENVELOPE:
        FUZZ_CHECK(err.code == SQ_INVALID_REQUEST);
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(!json_is_object(req.root));
        break;
    default:
        FUZZ_CHECK(!"unknown outcome");
    }
    sq_request_free(&req);
    FUZZ_CHECK(req.root == NULL);
    return 0;
}
