/* request_parse.c — request bytes → validated sq_request.
 *
 * The order of checks decides which error a user sees first, so it is fixed:
 * JSON → object → v → requestId → type → sandboxId → taskId → tenant → sentAt →
 * replyTo → metadata → unknown fields → body shape → size → body fields. Ids
 * that parse are kept even when a later check fails, so the rejection event can
 * name them. */
#include <stdio.h>
#include <string.h>

#include "sq/protocol.h"

#define METADATA_MAX_ENTRIES 64
#define METADATA_VALUE_MAX 1024

/* 1..max characters of [A-Za-z0-9._-]: the alphabet of Kafka topic names,
 * which tenants share so a tenant can be part of a topic name. */
static bool name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool topic_name_valid(const char *s)
{
    return name_valid(s, 249) && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bool tenant_valid(const char *s) { return name_valid(s, SQ_TENANT_MAX); }

/* The string value of a field, or NULL when absent or not a string. */
static const char *str_field(const json_t *root, const char *name)
{
    const json_t *v = json_object_get(root, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int check_metadata(const json_t *md, sq_err *err);

/* Best-effort capture of the ids, before any validation, so every rejection can
 * be routed (key, reply topic) and correlated (requestId, taskId). */
static void capture_ids(const json_t *root, sq_request *req)
{
    const char *s;
    if ((s = str_field(root, "requestId")) && sq_id_valid(s, "req"))
        snprintf(req->request_id, sizeof req->request_id, "%s", s);
    if ((s = str_field(root, "sandboxId")) && sq_id_valid(s, "sbx"))
        snprintf(req->sandbox_id, sizeof req->sandbox_id, "%s", s);
    if ((s = str_field(root, "taskId")) && sq_id_valid(s, "tsk"))
        snprintf(req->task_id, sizeof req->task_id, "%s", s);
    if ((s = str_field(root, "tenant")) && tenant_valid(s))
        snprintf(req->tenant, sizeof req->tenant, "%s", s);
    else
        snprintf(req->tenant, sizeof req->tenant, "default");
    if ((s = str_field(root, "replyTo")) && topic_name_valid(s))
        snprintf(req->reply_to, sizeof req->reply_to, "%s", s);
    if ((s = str_field(root, "type")))
        snprintf(req->type_name, sizeof req->type_name, "%s", s);
    /* Metadata is echoed on the rejection event, so only a valid map is kept. */
    const json_t *md = json_object_get(root, "metadata");
    if (json_is_object(md) && check_metadata(md, NULL) == 0)
        req->metadata = (json_t *)md;
}

static int check_metadata(const json_t *md, sq_err *err)
{
    if (!json_is_object(md))
        return sq_err_field(err, SQ_INVALID_REQUEST, "metadata", "metadata must be an object of strings");
    if (json_object_size(md) > METADATA_MAX_ENTRIES)
        return sq_err_field(err, SQ_INVALID_REQUEST, "metadata", "metadata has more than %d entries",
                            METADATA_MAX_ENTRIES);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)md, k, v)
    {
        if (!json_is_string(v) || json_string_length(v) > METADATA_VALUE_MAX) {
            char field[96];
            snprintf(field, sizeof field, "metadata.%.80s", k);
            return sq_err_field(err, SQ_INVALID_REQUEST, field, "metadata values must be strings of at most %d bytes",
                                METADATA_VALUE_MAX);
        }
    }
    return 0;
}

static int check_envelope(const json_t *root, size_t len, size_t max_bytes, sq_request *req, sq_err *err)
{
    const json_t *v = json_object_get(root, "v");
    if (!v)
        return sq_err_field(err, SQ_INVALID_REQUEST, "v", "v is required (protocol version %d)", SQ_PROTOCOL_VERSION);
    if (!json_is_integer(v) || json_integer_value(v) != SQ_PROTOCOL_VERSION)
        return sq_err_field(err, SQ_UNSUPPORTED_VERSION, "v", "protocol version not supported; this worker speaks v%d",
                            SQ_PROTOCOL_VERSION);
    req->v = SQ_PROTOCOL_VERSION;

    const json_t *rid = json_object_get(root, "requestId");
    if (!rid)
        return sq_err_field(err, SQ_INVALID_REQUEST, "requestId", "requestId is required");
    if (!json_is_string(rid) || !sq_id_valid(json_string_value(rid), "req"))
        return sq_err_field(err, SQ_INVALID_REQUEST, "requestId", "requestId must be \"req_\" followed by a ULID");

    const json_t *type = json_object_get(root, "type");
    if (!json_is_string(type))
        return sq_err_field(err, SQ_INVALID_REQUEST, "type", "type is required and must be a string");
    req->type = sq_req_type_from_name(json_string_value(type));
    if (req->type == SQ_REQ_UNKNOWN)
        return sq_err_field(err, SQ_UNKNOWN_TYPE, "type", "unknown request type \"%.64s\"", json_string_value(type));

    const json_t *sbx = json_object_get(root, "sandboxId");
    if (!sbx)
        return sq_err_field(err, SQ_INVALID_REQUEST, "sandboxId", "sandboxId is required");
    if (!json_is_string(sbx) || !sq_id_valid(json_string_value(sbx), "sbx"))
        return sq_err_field(err, SQ_INVALID_REQUEST, "sandboxId", "sandboxId must be \"sbx_\" followed by a ULID");

    const json_t *tsk = json_object_get(root, "taskId");
    if (sq_req_type_needs_task(req->type) && (!tsk || json_is_null(tsk)))
        return sq_err_field(err, SQ_INVALID_REQUEST, "taskId", "taskId is required for %s", req->type_name);
    if (tsk && !json_is_null(tsk) && (!json_is_string(tsk) || !sq_id_valid(json_string_value(tsk), "tsk")))
        return sq_err_field(err, SQ_INVALID_REQUEST, "taskId", "taskId must be \"tsk_\" followed by a ULID");

    const json_t *tenant = json_object_get(root, "tenant");
    if (tenant && (!json_is_string(tenant) || !tenant_valid(json_string_value(tenant))))
        return sq_err_field(err, SQ_INVALID_REQUEST, "tenant",
                            "tenant must be 1-%d characters of letters, digits, '.', '_' or '-'", SQ_TENANT_MAX);

    const json_t *sent = json_object_get(root, "sentAt");
    if (sent && (!json_is_integer(sent) || json_integer_value(sent) < 0))
        return sq_err_field(err, SQ_INVALID_REQUEST, "sentAt", "sentAt must be epoch milliseconds");
    req->sent_at = sent ? json_integer_value(sent) : 0;

    const json_t *reply = json_object_get(root, "replyTo");
    if (reply && !json_is_null(reply)) {
        if (req->type != SQ_REQ_SANDBOX_CREATE)
            return sq_err_field(err, SQ_INVALID_REQUEST, "replyTo", "replyTo is only accepted on sandbox.create");
        if (!json_is_string(reply) || !topic_name_valid(json_string_value(reply)))
            return sq_err_field(err, SQ_INVALID_REQUEST, "replyTo", "replyTo must be a valid Kafka topic name");
    }

    const json_t *md = json_object_get(root, "metadata");
    if (md && !json_is_null(md) && check_metadata(md, err) < 0)
        return -1;

    /* As in bodies, an unknown field is an error: a typo such as "tenat" must
     * not silently run the request under the default tenant. */
    static const char *const known[] = {"v",      "requestId", "type",     "sandboxId", "taskId",
                                        "tenant", "sentAt",    "replyTo",  "metadata",  "body"};
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)root, key, val)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof known / sizeof known[0]) {
            char field[96];
            snprintf(field, sizeof field, "%.90s", key);
            return sq_err_field(err, SQ_INVALID_REQUEST, field, "%s is not a known field", field);
        }
    }

    const json_t *body = json_object_get(root, "body");
    if (body && !json_is_object(body))
        return sq_err_field(err, SQ_INVALID_REQUEST, "body", "body must be an object");

    /* Size is checked after the ids so the rejection can still be routed. */
    if (len > max_bytes)
        return sq_err_set(err, SQ_PAYLOAD_TOO_LARGE, "request is %zu bytes; the limit is %zu", len, max_bytes);
    return 0;
}

/* A fixed description of a jansson load error, quoting nothing of the input. */
static const char *json_error_kind(const json_error_t *jerr)
{
    switch (json_error_code(jerr)) {
    case json_error_out_of_memory: return "out of memory";
    case json_error_stack_overflow: return "nested too deeply";
    case json_error_invalid_utf8: return "invalid UTF-8";
    case json_error_premature_end_of_input: return "unexpected end of input";
    case json_error_end_of_input_expected: return "text after the end of the value";
    case json_error_invalid_syntax: return "invalid syntax";
    case json_error_null_character: return "a NUL character";
    case json_error_null_byte_in_key: return "a NUL byte in an object key";
    case json_error_duplicate_key: return "a duplicate object key";
    case json_error_numeric_overflow: return "a number out of range";
    default: return "malformed";
    }
}

sq_parse_outcome sq_request_parse(const char *buf, size_t len, size_t max_bytes, sq_request *req, sq_err *err)
{
    memset(req, 0, sizeof *req);
    sq_err_clear(err);
    json_error_t jerr;
    /* JSON_REJECT_DUPLICATES: two "sandboxId" keys must not let a request be
     * routed by one and acted on with the other. */
    req->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req->root) {
        /* Not jerr.text: jansson quotes the input near the error ("invalid
         * token near '…'"), and this message goes into the DLQ's headers and
         * the worker's log, where a token or password in a broken request
         * must not end up. Only the kind of error and where it is. */
        sq_err_set(err, SQ_INVALID_REQUEST, "not JSON: %s at line %d, column %d (byte %d)",
                   json_error_kind(&jerr), jerr.line, jerr.column, jerr.position);
        return SQ_PARSE_NOT_ENVELOPE;
    }
    if (!json_is_object(req->root)) {
        sq_err_set(err, SQ_INVALID_REQUEST, "a request must be a JSON object");
        return SQ_PARSE_NOT_ENVELOPE;
    }
    capture_ids(req->root, req);
    if (check_envelope(req->root, len, max_bytes, req, err) < 0)
        return SQ_PARSE_REJECTED;

    json_t *body = json_object_get(req->root, "body");
    if (!body) {
        body = json_object();
        json_object_set_new(req->root, "body", body);
    }
    req->body = body;
    if (sq_body_validate(req->type, body, err) < 0)
        return SQ_PARSE_REJECTED;
    return SQ_PARSE_OK;
}

void sq_request_free(sq_request *req)
{
    if (req->root)
        json_decref(req->root);
    memset(req, 0, sizeof *req);
}
