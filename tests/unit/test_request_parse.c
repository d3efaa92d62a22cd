/* test_request_parse.c — sq_request_parse and sq_body_validate (sq/protocol.h).
 *
 * One case per way a request can be refused, each checking what a user would
 * see: the outcome (DLQ or request.rejected), the PROTOCOL.md error code and the
 * `field` that names the first bad field. Then the ids a rejection carries, and
 * valid requests of every family. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/codec.h"
#include "sq/protocol.h"

#define REQ "req_01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define SBX "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"
#define TSK "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAX"
#define CHK "chk_01ARZ3NDEKTSV4RRFFQ69G5FAY"
#define HND "hnd_01ARZ3NDEKTSV4RRFFQ69G5FAZ"

#define MAX_BYTES (1024 * 1024)

/* ---- helpers ------------------------------------------------------------------ */

/* A valid envelope for `type` with an empty body (taskId included when the type
 * needs one); callers then break one thing. */
static json_t *envelope(const char *type)
{
    json_t *r = json_pack("{s:i,s:s,s:s,s:s,s:{}}", "v", 1, "requestId", REQ, "type", type, "sandboxId", SBX, "body");
    if (sq_req_type_needs_task(sq_req_type_from_name(type)))
        json_object_set_new(r, "taskId", json_string(TSK));
    return r;
}

static json_t *body_of(json_t *r) { return json_object_get(r, "body"); }

static sq_parse_outcome parse_json_max(json_t *root, size_t max, sq_request *req, sq_err *err)
{
    char *buf = json_dumps(root, JSON_COMPACT);
    assert_non_null(buf);
    sq_parse_outcome o = sq_request_parse(buf, strlen(buf), max, req, err);
    free(buf);
    json_decref(root);
    return o;
}

static sq_parse_outcome parse_json(json_t *root, sq_request *req, sq_err *err)
{
    return parse_json_max(root, MAX_BYTES, req, err);
}

/* Parse (taking ownership of root) and expect a rejection with code and field. */
#define expect_rejected(root, code, field) expect_rejected_at(__LINE__, (root), (code), (field))
static void expect_rejected_at(int line, json_t *root, sq_code code, const char *field)
{
    sq_request req;
    sq_err err;
    char *text = json_dumps(root, JSON_COMPACT);
    sq_parse_outcome o = parse_json(root, &req, &err);
    if (o != SQ_PARSE_REJECTED || err.code != code || strcmp(err.field, field) != 0)
        fail_msg("line %d: %.300s\n  got outcome %d %s field \"%s\" (%s)\n  want outcome %d %s field \"%s\"", line,
                 text, o, sq_code_name(err.code), err.field, err.msg, SQ_PARSE_REJECTED, sq_code_name(code), field);
    if (err.msg[0] == '\0')
        fail_msg("line %d: rejection without a message", line);
    free(text);
    sq_request_free(&req);
}

#define expect_ok(root) expect_ok_at(__LINE__, (root))
static void expect_ok_at(int line, json_t *root)
{
    sq_request req;
    sq_err err;
    char *text = json_dumps(root, JSON_COMPACT);
    sq_parse_outcome o = parse_json(root, &req, &err);
    if (o != SQ_PARSE_OK)
        fail_msg("line %d: %.300s\n  rejected: %s field \"%s\": %s", line, text, sq_code_name(err.code), err.field,
                 err.msg);
    assert_int_equal(err.code, SQ_OK);
    free(text);
    sq_request_free(&req);
}

static void expect_not_envelope(const char *buf, size_t len)
{
    sq_request req;
    sq_err err;
    sq_parse_outcome o = sq_request_parse(buf, len, MAX_BYTES, &req, &err);
    if (o != SQ_PARSE_NOT_ENVELOPE)
        fail_msg("%.*s: outcome %d (%s), want NOT_ENVELOPE", (int)len, buf, o, sq_code_name(err.code));
    assert_int_equal(err.code, SQ_INVALID_REQUEST);
    assert_true(err.msg[0] != '\0');
    sq_request_free(&req);
}

/* ---- not an envelope: the DLQ --------------------------------------------------- */

static void test_not_envelope(void **state)
{
    (void)state;
    expect_not_envelope("", 0);
    expect_not_envelope("not json", 8);
    expect_not_envelope("{\"v\":1", 6);
    expect_not_envelope("[]", 2);
    expect_not_envelope("[{\"v\":1}]", 9);
    expect_not_envelope("1", 1);
    expect_not_envelope("\"req\"", 5);
    expect_not_envelope("null", 4);
    /* Trailing garbage after the object. */
    expect_not_envelope("{\"v\":1} x", 9);
    /* Invalid UTF-8 inside a string. */
    expect_not_envelope("{\"v\":1,\"type\":\"\xff\"}", 19);
    /* Two values for one key must not let the key that routes a request differ
     * from the one that acts on it. */
    const char *dup = "{\"v\":1,\"requestId\":\"" REQ "\",\"type\":\"sandbox.kill\",\"sandboxId\":\"" SBX
                      "\",\"sandboxId\":\"sbx_01ARZ3NDEKTSV4RRFFQ69G5FB0\"}";
    expect_not_envelope(dup, strlen(dup));
}

/* The reason for a DLQ entry goes into the message's headers and the worker's
 * log: it says what kind of error and where, and quotes nothing of the input
 * (jansson's own text does: "invalid token near '…'"). */
static void test_not_json_quotes_nothing(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{\"v\":1,\"token\":\"sk-SECRET-4f9a",          /* unterminated string */
        "{\"v\":1,\"token\":sk-SECRET-4f9a}",            /* bare word */
        "{\"v\":1} sk-SECRET-4f9a",                      /* text after the value */
        "{\"sk-SECRET-4f9a\":1,\"sk-SECRET-4f9a\":2}",    /* duplicate key */
        "{\"v\":1,\"token\":\"sk-SECRET-4f9a\xff\"}",   /* invalid UTF-8 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sq_request req;
        sq_err err;
        assert_int_equal(sq_request_parse(cases[i], strlen(cases[i]), MAX_BYTES, &req, &err), SQ_PARSE_NOT_ENVELOPE);
        assert_int_equal(err.code, SQ_INVALID_REQUEST);
        if (strstr(err.msg, "SECRET") || strstr(err.msg, "sk-") || strncmp(err.msg, "not JSON: ", 10) != 0)
            fail_msg("case %zu: %s", i, err.msg);
        assert_non_null(strstr(err.msg, "line 1, column "));
        sq_request_free(&req);
    }
}

/* ---- the envelope ---------------------------------------------------------------- */

static void test_version(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_del(r, "v");
    expect_rejected(r, SQ_INVALID_REQUEST, "v");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "v", json_integer(2));
    expect_rejected(r, SQ_UNSUPPORTED_VERSION, "v");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "v", json_integer(0));
    expect_rejected(r, SQ_UNSUPPORTED_VERSION, "v");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "v", json_string("1"));
    expect_rejected(r, SQ_UNSUPPORTED_VERSION, "v");
}

static void test_request_id(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_del(r, "requestId");
    expect_rejected(r, SQ_INVALID_REQUEST, "requestId");

    static const char *const bad[] = {"", "req_", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                                      "req_01arz3ndektsv4rrffq69g5fav", "req_01ARZ3NDEKTSV4RRFFQ69G5FAVX",
                                      "req_91ARZ3NDEKTSV4RRFFQ69G5FAV"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = envelope("sandbox.kill");
        json_object_set_new(r, "requestId", json_string(bad[i]));
        expect_rejected(r, SQ_INVALID_REQUEST, "requestId");
    }
    r = envelope("sandbox.kill");
    json_object_set_new(r, "requestId", json_integer(5));
    expect_rejected(r, SQ_INVALID_REQUEST, "requestId");
}

static void test_type(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_del(r, "type");
    expect_rejected(r, SQ_INVALID_REQUEST, "type");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "type", json_integer(3));
    expect_rejected(r, SQ_INVALID_REQUEST, "type");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "type", json_string("sandbox.explode"));
    expect_rejected(r, SQ_UNKNOWN_TYPE, "type");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "type", json_string("Task.Exec"));
    expect_rejected(r, SQ_UNKNOWN_TYPE, "type");

    /* The type as sent is kept for logs, even when unknown. */
    sq_request req;
    sq_err err;
    r = envelope("sandbox.kill");
    json_object_set_new(r, "type", json_string("sandbox.explode"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(req.type_name, "sandbox.explode");
    assert_int_equal(req.type, SQ_REQ_UNKNOWN);
    sq_request_free(&req);
}

static void test_sandbox_id(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_del(r, "sandboxId");
    expect_rejected(r, SQ_INVALID_REQUEST, "sandboxId");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "sandboxId", json_string("tsk_01ARZ3NDEKTSV4RRFFQ69G5FAW"));
    expect_rejected(r, SQ_INVALID_REQUEST, "sandboxId");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "sandboxId", json_string("sbx_01ARZ3NDEKTSV4RRFFQ69G5FAI"));
    expect_rejected(r, SQ_INVALID_REQUEST, "sandboxId");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "sandboxId", json_null());
    expect_rejected(r, SQ_INVALID_REQUEST, "sandboxId");
}

static void test_task_id(void **state)
{
    (void)state;
    static const char *const needs[] = {"task.exec", "task.cancel", "files.write", "files.list", "checkpoint.create"};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        json_t *r = envelope(needs[i]);
        json_object_del(r, "taskId");
        expect_rejected(r, SQ_INVALID_REQUEST, "taskId");
    }
    /* null is not a task id (the schema's taskId is a string). */
    json_t *r = envelope("task.exec");
    json_object_set_new(r, "taskId", json_null());
    expect_rejected(r, SQ_INVALID_REQUEST, "taskId");

    r = envelope("task.exec");
    json_object_set_new(r, "taskId", json_string("req_01ARZ3NDEKTSV4RRFFQ69G5FAX"));
    expect_rejected(r, SQ_INVALID_REQUEST, "taskId");

    /* A malformed taskId is wrong on any type. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "taskId", json_string("tsk_nope"));
    expect_rejected(r, SQ_INVALID_REQUEST, "taskId");
}

static void test_tenant(void **state)
{
    (void)state;
    char long_tenant[SQ_TENANT_MAX + 2];
    memset(long_tenant, 't', sizeof long_tenant - 1);
    long_tenant[sizeof long_tenant - 1] = '\0';
    json_t *bad[] = {json_string(""), json_string("acme corp"), json_string("acme/x"), json_string("ünï"),
                     json_string(long_tenant), json_integer(1), json_null()};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = envelope("sandbox.kill");
        json_object_set_new(r, "tenant", bad[i]);
        expect_rejected(r, SQ_INVALID_REQUEST, "tenant");
    }
    /* Exactly 64 characters is allowed. */
    long_tenant[SQ_TENANT_MAX] = '\0';
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "tenant", json_string(long_tenant));
    sq_request req;
    sq_err err;
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_OK);
    assert_string_equal(req.tenant, long_tenant);
    sq_request_free(&req);
}

static void test_sent_at(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "sentAt", json_string("2026-01-01"));
    expect_rejected(r, SQ_INVALID_REQUEST, "sentAt");
    r = envelope("sandbox.kill");
    json_object_set_new(r, "sentAt", json_real(1.5));
    expect_rejected(r, SQ_INVALID_REQUEST, "sentAt");
    r = envelope("sandbox.kill");
    json_object_set_new(r, "sentAt", json_integer(-1));
    expect_rejected(r, SQ_INVALID_REQUEST, "sentAt");

    sq_request req;
    sq_err err;
    r = envelope("sandbox.kill");
    json_object_set_new(r, "sentAt", json_integer(1795771391423LL));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_OK);
    assert_int_equal(req.sent_at, 1795771391423LL);
    sq_request_free(&req);
}

static void test_reply_to(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "replyTo", json_string("acme.results"));
    expect_rejected(r, SQ_INVALID_REQUEST, "replyTo");

    r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_string("true"));
    json_object_set_new(r, "replyTo", json_string("acme.results"));
    expect_rejected(r, SQ_INVALID_REQUEST, "replyTo");

    char long_topic[251];
    memset(long_topic, 'a', 250);
    long_topic[250] = '\0';
    json_t *bad[] = {json_string(""), json_string("."), json_string(".."), json_string("acme results"),
                     json_string("acme/results"), json_string(long_topic), json_integer(7)};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = envelope("sandbox.create");
        json_object_set_new(r, "replyTo", bad[i]);
        expect_rejected(r, SQ_INVALID_REQUEST, "replyTo");
    }

    /* 249 characters is Kafka's limit and fits. */
    long_topic[249] = '\0';
    sq_request req;
    sq_err err;
    r = envelope("sandbox.create");
    json_object_set_new(r, "replyTo", json_string(long_topic));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_OK);
    assert_string_equal(req.reply_to, long_topic);
    sq_request_free(&req);
}

static void test_metadata(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_string("jobId=42"));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("[s]", "x"));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("{s:s,s:i}", "ok", "x", "jobId", 42));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata.jobId");

    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("{s:{}}", "nested"));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata.nested");

    char *big = malloc(1026);
    memset(big, 'm', 1025);
    big[1025] = '\0';
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("{s:s}", "k", big));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata.k");
    big[1024] = '\0';
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("{s:s}", "k", big));
    expect_ok(r);
    free(big);

    json_t *many = json_object();
    for (int i = 0; i < 65; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        json_object_set_new(many, k, json_string("v"));
    }
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_deep_copy(many));
    expect_rejected(r, SQ_INVALID_REQUEST, "metadata");
    json_object_del(many, "k64");
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", many);
    expect_ok(r);

    /* null means none. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_null());
    expect_ok(r);
}

static void test_unknown_envelope_field(void **state)
{
    (void)state;
    /* A typo in an envelope field is an error, not a silently ignored option:
     * "tenat" would otherwise run the request under the default tenant. */
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "tenat", json_string("acme"));
    expect_rejected(r, SQ_INVALID_REQUEST, "tenat");

    r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_string("ls"));
    json_object_set_new(r, "command", json_string("ls"));
    expect_rejected(r, SQ_INVALID_REQUEST, "command");
}

static void test_body_not_object(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.kill");
    json_object_set_new(r, "body", json_pack("[]"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body");
    r = envelope("sandbox.kill");
    json_object_set_new(r, "body", json_null());
    expect_rejected(r, SQ_INVALID_REQUEST, "body");
    r = envelope("sandbox.kill");
    json_object_set_new(r, "body", json_string("{}"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body");
}

static void test_oversize(void **state)
{
    (void)state;
    json_t *r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_string("true"));
    char *buf = json_dumps(r, JSON_COMPACT);
    size_t len = strlen(buf);
    sq_request req;
    sq_err err;

    /* Exactly at the limit is fine; one byte under it is too large. */
    assert_int_equal(sq_request_parse(buf, len, len, &req, &err), SQ_PARSE_OK);
    sq_request_free(&req);
    assert_int_equal(sq_request_parse(buf, len, len - 1, &req, &err), SQ_PARSE_REJECTED);
    assert_int_equal(err.code, SQ_PAYLOAD_TOO_LARGE);
    /* The rejection can still be routed and correlated. */
    assert_string_equal(req.request_id, REQ);
    assert_string_equal(req.sandbox_id, SBX);
    assert_string_equal(req.task_id, TSK);
    assert_int_equal(req.type, SQ_REQ_TASK_EXEC);
    sq_request_free(&req);

    /* A real oversize message: 2 MiB of stdin against the 1 MiB default. */
    char *stdin_data = malloc(2u << 20);
    memset(stdin_data, 'x', (2u << 20) - 1);
    stdin_data[(2u << 20) - 1] = '\0';
    json_object_set_new(body_of(r), "stdin", json_string(stdin_data));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_int_equal(err.code, SQ_PAYLOAD_TOO_LARGE);
    assert_string_equal(req.request_id, REQ);
    sq_request_free(&req);
    free(stdin_data);
    free(buf);
}

/* ---- bodies --------------------------------------------------------------------- */

static json_t *exec_request(void)
{
    json_t *r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_string("python3"));
    return r;
}

static void test_body_unknown_field(void **state)
{
    (void)state;
    json_t *r = envelope("task.exec");
    json_object_set_new(body_of(r), "comand", json_string("ls"));
    json_object_set_new(body_of(r), "command", json_string("ls"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.comand");

    /* Nested tables reject unknown fields too. */
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "limits", json_pack("{s:i}", "memoryMB", 512));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.limits.memoryMB");

    r = envelope("sandbox.kill");
    json_object_set_new(body_of(r), "force", json_true());
    expect_rejected(r, SQ_INVALID_REQUEST, "body.force");
}

/* sandbox.create's checkpoint {auto, intervalMs} (issue 13): auto is a
 * required boolean, intervalMs a positive integer, needed with auto true;
 * nothing else. (The worker's own bounds are create_policy's.) */
static void test_body_create_checkpoint(void **state)
{
    (void)state;
    json_t *r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b, s:i}", "auto", 1, "intervalMs", 60000));
    expect_ok(r);
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b}", "auto", 0));
    expect_ok(r);
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b, s:i}", "auto", 1, "intervalMs", 0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.intervalMs");
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b, s:f}", "auto", 1, "intervalMs", 1.5));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.intervalMs");
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:s, s:i}", "auto", "yes", "intervalMs", 60000));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.auto");
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:i}", "intervalMs", 60000));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.auto");
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b, s:i}", "auto", 1, "keep", 3));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.keep");
    r = envelope("sandbox.create"); /* as schema/'s if/then */
    json_object_set_new(body_of(r), "checkpoint", json_pack("{s:b}", "auto", 1));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpoint.intervalMs");
}

static void test_body_missing_required(void **state)
{
    (void)state;
    expect_rejected(envelope("task.exec"), SQ_INVALID_REQUEST, "body.command");
    expect_rejected(envelope("task.code"), SQ_INVALID_REQUEST, "body.code");
    expect_rejected(envelope("task.agent"), SQ_INVALID_REQUEST, "body.prompt");
    expect_rejected(envelope("task.browser"), SQ_INVALID_REQUEST, "body.actions");
    expect_rejected(envelope("task.cancel"), SQ_INVALID_REQUEST, "body.targetTaskId");
    expect_rejected(envelope("files.read"), SQ_INVALID_REQUEST, "body.path");
    expect_rejected(envelope("sandbox.setTimeout"), SQ_INVALID_REQUEST, "body.timeoutMs");
    expect_rejected(envelope("checkpoint.restore"), SQ_INVALID_REQUEST, "body.checkpointId");
    expect_rejected(envelope("handoff.cancel"), SQ_INVALID_REQUEST, "body.handoffId");

    json_t *r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_string(""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.command");
    r = envelope("task.exec");
    json_object_set_new(body_of(r), "command", json_pack("[s]", "ls"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.command");
}

/* files.*: path or pathB64 (names that are not UTF-8), exactly one; list's
 * cursor must be base64 and its limit 1–1000. */
static void test_body_files_path_b64_and_paging(void **state)
{
    (void)state;
    json_t *r = envelope("files.read");
    json_object_set_new(body_of(r), "pathB64", json_string("Y2Fm6S50eHQ=")); /* "caf\xe9.txt" */
    expect_ok(r);
    r = envelope("files.remove");
    json_object_set_new(body_of(r), "path", json_string("a"));
    json_object_set_new(body_of(r), "pathB64", json_string("YQ=="));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.pathB64");
    r = envelope("files.write");
    json_object_set_new(body_of(r), "content", json_string("x"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.path");
    r = envelope("files.read");
    json_object_set_new(body_of(r), "pathB64", json_string("not base64!"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.pathB64");
    r = envelope("files.read");
    json_object_set_new(body_of(r), "pathB64", json_string("YQBi")); /* "a\0b" */
    expect_rejected(r, SQ_INVALID_REQUEST, "body.pathB64");
    r = envelope("files.list");
    json_object_set_new(body_of(r), "pathB64", json_string("ZP8="));
    json_object_set_new(body_of(r), "cursor", json_string("ZP8vYQ=="));
    json_object_set_new(body_of(r), "limit", json_integer(1000));
    expect_ok(r);
    r = envelope("files.list");
    json_object_set_new(body_of(r), "cursor", json_string("%%"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.cursor");
    r = envelope("files.list");
    json_object_set_new(body_of(r), "limit", json_integer(1001));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.limit");
}

static void test_body_empty_strings(void **state)
{
    (void)state;
    /* Where the schema says minLength 1, "" is refused up front instead of
     * failing later inside the sandbox. */
    json_t *r = exec_request();
    json_object_set_new(body_of(r), "cwd", json_string(""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.cwd");

    r = envelope("files.list");
    json_object_set_new(body_of(r), "path", json_string(""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.path");

    r = envelope("task.document");
    json_object_set_new(body_of(r), "input", json_string("a.docx"));
    json_object_set_new(body_of(r), "to", json_string("pdf"));
    json_object_set_new(body_of(r), "outdir", json_string(""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.outdir");

    r = envelope("task.document");
    json_object_set_new(body_of(r), "input", json_string("a.docx"));
    json_object_set_new(body_of(r), "to", json_string("pdf"));
    json_object_set_new(body_of(r), "timeoutMs", json_integer(0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.timeoutMs");

    r = envelope("task.agent");
    json_object_set_new(body_of(r), "prompt", json_string("p"));
    json_object_set_new(body_of(r), "model", json_string(""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.model");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "capabilities", json_pack("{s:{s:s}}", "storage", "artifactPrefix", ""));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.capabilities.storage.artifactPrefix");

    static const struct {
        const char *op, *field;
    } actions[] = {{"goto", "url"},         {"click", "selector"}, {"press", "key"},
                   {"evaluate", "expression"}, {"pdf", "path"}};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        r = envelope("task.browser");
        json_object_set_new(body_of(r), "actions", json_pack("[{s:s,s:s}]", "op", actions[i].op, actions[i].field, ""));
        char field[64];
        snprintf(field, sizeof field, "body.actions[0].%s", actions[i].field);
        expect_rejected(r, SQ_INVALID_REQUEST, field);
    }
    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[{s:s,s:s,s:i}]", "op", "waitFor", "selector", "#a",
                                                         "timeoutMs", 0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0].timeoutMs");
}

static void test_body_args_not_strings(void **state)
{
    (void)state;
    json_t *r = exec_request();
    json_object_set_new(body_of(r), "args", json_pack("[s,i,s]", "-c", 1, "x"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.args[1]");

    r = exec_request();
    json_object_set_new(body_of(r), "args", json_string("-c print(1)"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.args");

    r = exec_request();
    json_object_set_new(body_of(r), "args", json_pack("[s,n]", "a", NULL));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.args[1]");
}

static void test_body_nul_bytes(void **state)
{
    (void)state;
    /* "\u0000" inside a string: jansson refuses the whole document, so a NUL can
     * never reach a path or an argv. */
    const char *s = "{\"v\":1,\"requestId\":\"" REQ "\",\"type\":\"task.exec\",\"sandboxId\":\"" SBX
                    "\",\"taskId\":\"" TSK "\",\"body\":{\"command\":\"ls\\u0000-la\"}}";
    sq_request req;
    sq_err err;
    sq_parse_outcome o = sq_request_parse(s, strlen(s), MAX_BYTES, &req, &err);
    assert_int_not_equal(o, SQ_PARSE_OK);
    sq_request_free(&req);
}

static void test_body_exec_stdin_both(void **state)
{
    (void)state;
    json_t *r = exec_request();
    json_object_set_new(body_of(r), "stdin", json_string("hi"));
    json_object_set_new(body_of(r), "stdinB64", json_string("aGk="));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.stdin");

    r = exec_request();
    json_object_set_new(body_of(r), "stdinB64", json_string("not base64!"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.stdinB64");
}

static void test_body_env_names(void **state)
{
    (void)state;
    static const char *const bad[] = {"1BAD", "", "A-B", "A B", "A=B", "Ä"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *r = exec_request();
        json_object_set_new(body_of(r), "env", json_pack("{s:s}", bad[i], "v"));
        char field[64];
        snprintf(field, sizeof field, "body.env.%s", bad[i]);
        expect_rejected(r, SQ_INVALID_REQUEST, field);
    }
    json_t *r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "env", json_pack("{s:s,s:s}", "OK_1", "v", "9LIVES", "v"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.env.9LIVES");

    r = exec_request();
    json_object_set_new(body_of(r), "env", json_pack("{s:i}", "PORT", 8080));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.env.PORT");

    r = exec_request();
    json_object_set_new(body_of(r), "env", json_pack("{s:s,s:s,s:s}", "_X", "", "PATH", "/bin", "a1_B2", "v"));
    expect_ok(r);
}

static json_t *write_request(void)
{
    json_t *r = envelope("files.write");
    json_object_set_new(body_of(r), "path", json_string("out/a.bin"));
    return r;
}

static void test_body_files_write(void **state)
{
    (void)state;
    json_t *r = write_request();
    json_object_set_new(body_of(r), "content", json_string("hi"));
    json_object_set_new(body_of(r), "contentB64", json_string("aGk="));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.content");

    /* Neither is an error too. */
    expect_rejected(write_request(), SQ_INVALID_REQUEST, "body.content");

    r = write_request();
    json_object_set_new(body_of(r), "contentB64", json_string("aGk"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.contentB64");
    r = write_request();
    json_object_set_new(body_of(r), "contentB64", json_string("a!k="));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.contentB64");
    r = write_request();
    json_object_set_new(body_of(r), "contentB64", json_string("a=k="));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.contentB64");

    r = write_request();
    json_object_set_new(body_of(r), "content", json_string("x"));
    json_object_set_new(body_of(r), "offset", json_integer(10));
    json_object_set_new(body_of(r), "append", json_true());
    expect_rejected(r, SQ_INVALID_REQUEST, "body.append");

    r = write_request();
    json_object_set_new(body_of(r), "content", json_string("x"));
    json_object_set_new(body_of(r), "mode", json_integer(010000));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.mode");

    r = write_request();
    json_object_set_new(body_of(r), "content", json_string("x"));
    json_object_set_new(body_of(r), "offset", json_integer(-1));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.offset");

    r = write_request();
    json_object_set_new(body_of(r), "content", json_string("x"));
    json_object_set_new(body_of(r), "offset", json_integer(10));
    json_object_set_new(body_of(r), "append", json_false());
    json_object_set_new(body_of(r), "mode", json_integer(0644));
    expect_ok(r);
}

static void test_body_files_write_chunk_limit(void **state)
{
    (void)state;
    /* contentB64 is judged by what it decodes to: 512 KiB raw is the most a
     * chunk carries; one byte more is payload_too_large, named at the field. */
    size_t raw = SQ_FILE_CHUNK_MAX;
    unsigned char *bytes = calloc(1, raw + 1);
    char *b64 = malloc(sq_b64_encoded_size(raw + 1));

    sq_b64_encode(bytes, raw, b64);
    json_t *r = write_request();
    json_object_set_new(body_of(r), "contentB64", json_string(b64));
    expect_ok(r);

    sq_b64_encode(bytes, raw + 1, b64);
    r = write_request();
    json_object_set_new(body_of(r), "contentB64", json_string(b64));
    expect_rejected(r, SQ_PAYLOAD_TOO_LARGE, "body.contentB64");

    /* Same for UTF-8 content. */
    char *text = malloc(raw + 2);
    memset(text, 'a', raw + 1);
    text[raw + 1] = '\0';
    r = write_request();
    json_object_set_new(body_of(r), "content", json_string(text));
    expect_rejected(r, SQ_PAYLOAD_TOO_LARGE, "body.content");
    text[raw] = '\0';
    r = write_request();
    json_object_set_new(body_of(r), "content", json_string(text));
    expect_ok(r);

    free(text);
    free(bytes);
    free(b64);
}

static void test_body_create(void **state)
{
    (void)state;
    static const char *const bad_regions[] = {"IAD", "ia", "iadx", "i1d", ""};
    for (size_t i = 0; i < sizeof bad_regions / sizeof bad_regions[0]; i++) {
        json_t *r = envelope("sandbox.create");
        json_object_set_new(body_of(r), "region", json_string(bad_regions[i]));
        expect_rejected(r, SQ_INVALID_REQUEST, "body.region");
    }

    json_t *r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "webhook",
                        json_pack("{s:s,s:s}", "url", "https://example.com/hook", "secret", "shh"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.webhook.secret");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "webhook", json_pack("{s:s}", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.webhook.url");

    /* The schema's secret: whsec_ and base64. */
    static const char *const bad_secrets[] = {"whsec_", "whsec_a b", "whsec_abc===", "whsec_ab=c", "WHSEC_abc"};
    for (size_t i = 0; i < sizeof bad_secrets / sizeof bad_secrets[0]; i++) {
        r = envelope("sandbox.create");
        json_object_set_new(body_of(r), "webhook",
                            json_pack("{s:s,s:s}", "url", "https://example.com/hook", "secret", bad_secrets[i]));
        expect_rejected(r, SQ_INVALID_REQUEST, "body.webhook.secret");
    }

    /* Webhooks are POSTed with curl: only http(s) URLs, never file:// and friends. */
    static const char *const bad_urls[] = {"file:///etc/passwd", "gopher://x", "example.com/hook", "https://",
                                           "https://exa mple.com", "https://example.com/\nx", "HTTPS//x"};
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        r = envelope("sandbox.create");
        json_object_set_new(body_of(r), "webhook",
                            json_pack("{s:s,s:s}", "url", bad_urls[i], "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        expect_rejected(r, SQ_INVALID_REQUEST, "body.webhook.url");
    }
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "webhook", json_pack("{s:s,s:s}", "url", "http://hooks.internal:8080/x?y=1",
                                                         "secret", "whsec_dGVzdA=="));
    expect_ok(r);

    /* eventTypes: exact event types or prefixes ending in ".*"; the first bad one is named. */
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "webhook",
                        json_pack("{s:s,s:s,s:[s,s,s,s]}", "url", "https://example.com/hook", "secret",
                                  "whsec_dGVzdA==", "eventTypes", "sandbox.ready", "sandbox.task.*", "sandbox.*",
                                  "request.rejected"));
    expect_ok(r);
    static const char *const bad_filters[] = {"sandbox.exploded", "sandbox.Task.*", "sandbox.task*", "*",
                                              "sandbox..*", "task.*", "sandbox.task.", ".*"};
    for (size_t i = 0; i < sizeof bad_filters / sizeof bad_filters[0]; i++) {
        r = envelope("sandbox.create");
        json_object_set_new(body_of(r), "webhook",
                            json_pack("{s:s,s:s,s:[s,s]}", "url", "https://example.com/hook", "secret",
                                      "whsec_dGVzdA==", "eventTypes", "sandbox.ready", bad_filters[i]));
        expect_rejected(r, SQ_INVALID_REQUEST, "body.webhook.eventTypes[1]");
    }

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "capabilities", json_pack("{s:{s:s}}", "browser", "byoProxyUrl", "file:///x"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.capabilities.browser.byoProxyUrl");
    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "capabilities",
                        json_pack("{s:{s:s}}", "browser", "byoProxyUrl", "socks5h://user:pw@proxy:1080"));
    expect_ok(r);

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "runtime", json_string("ruby"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.runtime");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "network", json_string("host"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.network");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "timeoutMs", json_integer(0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.timeoutMs");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "limits", json_pack("{s:f}", "cpus", 0.0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.limits.cpus");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "capabilities",
                        json_pack("{s:{s:{s:i,s:i}}}", "browser", "viewport", "width", 1280, "height", 0));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.capabilities.browser.viewport.height");

    r = envelope("sandbox.create");
    json_object_set_new(body_of(r), "capabilities", json_pack("{s:{s:s}}", "agent", "defaultAgent", "yolo"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.capabilities.agent.defaultAgent");
}

static void test_body_browser(void **state)
{
    (void)state;
    json_t *r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions",
                        json_pack("[{s:s,s:s},{s:s}]", "op", "goto", "url", "https://example.com", "op", "click"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[1].selector");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[{s:s,s:s}]", "op", "type", "selector", "#q"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0].text");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[{s:s,s:i}]", "op", "setViewport", "width", 800));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0].height");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[{s:s}]", "op", "fly"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0].op");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[{s:s}]", "url", "https://example.com"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0].op");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[]"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions");

    r = envelope("task.browser");
    json_object_set_new(body_of(r), "actions", json_pack("[s]", "goto"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.actions[0]");
}

static void test_body_ids_and_enums(void **state)
{
    (void)state;
    json_t *r = envelope("task.cancel");
    json_object_set_new(body_of(r), "targetTaskId", json_string(SBX));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.targetTaskId");

    r = envelope("checkpoint.create");
    json_object_set_new(body_of(r), "checkpointId", json_string("chk_1"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.checkpointId");

    r = envelope("handoff.request");
    json_object_set_new(body_of(r), "handoffId", json_string(HND));
    json_object_set_new(body_of(r), "reason", json_string("bored"));
    json_object_set_new(body_of(r), "message", json_string("x"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.reason");

    r = envelope("task.code");
    json_object_set_new(body_of(r), "code", json_string("print(1)"));
    json_object_set_new(body_of(r), "language", json_string("cobol"));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.language");

    r = envelope("task.agent");
    json_object_set_new(body_of(r), "prompt", json_string("fix it"));
    json_object_set_new(body_of(r), "maxSteps", json_integer(1001));
    expect_rejected(r, SQ_INVALID_REQUEST, "body.maxSteps");

    /* The conversion target ends up in a converter's arguments and a file name. */
    static const char *const bad_to[] = {"../x", "pdf:writer_pdf_Export", "PDF", "p df", "-h", ""};
    for (size_t i = 0; i < sizeof bad_to / sizeof bad_to[0]; i++) {
        r = envelope("task.document");
        json_object_set_new(body_of(r), "input", json_string("a.docx"));
        json_object_set_new(body_of(r), "to", json_string(bad_to[i]));
        expect_rejected(r, SQ_INVALID_REQUEST, "body.to");
    }
}

static void test_body_validate_direct(void **state)
{
    (void)state;
    sq_err err;
    json_t *body = json_object();
    assert_int_equal(sq_body_validate(SQ_REQ_UNKNOWN, body, &err), -1);
    assert_int_equal(err.code, SQ_UNKNOWN_TYPE);
    assert_int_equal(sq_body_validate(SQ_REQ__COUNT, body, &err), -1);
    assert_int_equal(err.code, SQ_UNKNOWN_TYPE);
    assert_int_equal(sq_body_validate(SQ_REQ_SANDBOX_KILL, NULL, &err), -1);
    assert_string_equal(err.field, "body");
    assert_int_equal(sq_body_validate(SQ_REQ_SANDBOX_KILL, body, &err), 0);
    /* An empty body is valid for every type that has no required field. */
    static const sq_req_type empty_ok[] = {SQ_REQ_SANDBOX_CREATE, SQ_REQ_SANDBOX_PAUSE, SQ_REQ_SANDBOX_RESUME,
                                           SQ_REQ_SANDBOX_KILL, SQ_REQ_FILES_LIST};
    for (size_t i = 0; i < sizeof empty_ok / sizeof empty_ok[0]; i++)
        assert_int_equal(sq_body_validate(empty_ok[i], body, &err), 0);
    json_decref(body);
}

/* ---- what a rejection keeps ----------------------------------------------------- */

static void test_ids_captured_on_rejection(void **state)
{
    (void)state;
    json_t *r = envelope("task.exec");
    json_object_set_new(r, "tenant", json_string("acme"));
    json_object_set_new(r, "metadata", json_pack("{s:s}", "jobId", "42"));
    json_object_set_new(body_of(r), "comand", json_string("ls"));
    sq_request req;
    sq_err err;
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(err.field, "body.comand");
    assert_string_equal(req.request_id, REQ);
    assert_string_equal(req.sandbox_id, SBX);
    assert_string_equal(req.task_id, TSK);
    assert_string_equal(req.tenant, "acme");
    assert_string_equal(req.type_name, "task.exec");
    assert_non_null(req.metadata);
    assert_string_equal(json_string_value(json_object_get(req.metadata, "jobId")), "42");
    sq_request_free(&req);

    /* A bad requestId: the sandbox id is still kept, so the rejection has a key. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "requestId", json_string("req_bad"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(err.field, "requestId");
    assert_string_equal(req.request_id, "");
    assert_string_equal(req.sandbox_id, SBX);
    sq_request_free(&req);

    /* Unsupported version: everything readable is kept. */
    r = envelope("task.exec");
    json_object_set_new(r, "v", json_integer(2));
    json_object_set_new(r, "replyTo", json_string("acme.results"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_int_equal(err.code, SQ_UNSUPPORTED_VERSION);
    assert_string_equal(req.request_id, REQ);
    assert_string_equal(req.sandbox_id, SBX);
    assert_string_equal(req.task_id, TSK);
    assert_string_equal(req.reply_to, "acme.results");

    sq_request_free(&req);

    /* A bad tenant falls back to "default" rather than echoing the bad value. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "tenant", json_string("no spaces"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(req.tenant, "default");
    assert_string_equal(req.request_id, REQ);
    sq_request_free(&req);

    /* Malformed ids are not captured: nothing unvalidated reaches a Kafka key. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "sandboxId", json_string("sbx_../../etc"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(req.sandbox_id, "");
    assert_string_equal(req.request_id, REQ);
    sq_request_free(&req);

    /* Metadata that fails validation is not kept: the rejection event echoes
     * metadata, and the event schema allows only a map of short strings. */
    r = envelope("sandbox.kill");
    json_object_set_new(r, "metadata", json_pack("{s:{s:s}}", "deep", "x", "y"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_REJECTED);
    assert_string_equal(err.field, "metadata.deep");
    assert_null(req.metadata);
    assert_string_equal(req.request_id, REQ);
    sq_request_free(&req);
}

/* ---- valid requests ------------------------------------------------------------- */

static void test_valid_requests(void **state)
{
    (void)state;
    sq_request req;
    sq_err err;

    /* A full sandbox.create, as in PROTOCOL.md. */
    const char *create =
        "{\"v\":1,\"requestId\":\"" REQ "\",\"type\":\"sandbox.create\",\"sandboxId\":\"" SBX "\","
        "\"tenant\":\"acme\",\"sentAt\":1795771391423,\"replyTo\":\"acme.results\",\"metadata\":{\"jobId\":\"42\"},"
        "\"body\":{\"region\":\"iad\",\"runtime\":\"python\",\"env\":{\"OPENROUTER_API_KEY\":\"sk-x\"},"
        "\"capabilities\":{\"agent\":{\"enabled\":true,\"defaultAgent\":\"build\"},"
        "\"browser\":{\"viewport\":{\"width\":1280,\"height\":720},\"recording\":false},"
        "\"documents\":{\"libreofficeHeadless\":true},\"recording\":{\"enabled\":true},"
        "\"storage\":{\"artifactPrefix\":\"acme/\"}},"
        "\"limits\":{\"memoryMb\":1024,\"cpus\":1.5,\"pids\":256,\"diskMb\":2048},\"network\":\"internet\","
        "\"timeoutMs\":600000,\"idleTimeoutMs\":60000,\"onTimeout\":\"pause\","
        "\"webhook\":{\"url\":\"https://example.com/hook\",\"secret\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\","
        "\"eventTypes\":[\"sandbox.ready\"]}}}";
    assert_int_equal(sq_request_parse(create, strlen(create), MAX_BYTES, &req, &err), SQ_PARSE_OK);
    assert_int_equal(err.code, SQ_OK);
    assert_int_equal(req.v, 1);
    assert_int_equal(req.type, SQ_REQ_SANDBOX_CREATE);
    assert_string_equal(req.type_name, "sandbox.create");
    assert_string_equal(req.request_id, REQ);
    assert_string_equal(req.sandbox_id, SBX);
    assert_string_equal(req.task_id, "");
    assert_string_equal(req.tenant, "acme");
    assert_string_equal(req.reply_to, "acme.results");
    assert_int_equal(req.sent_at, 1795771391423LL);
    assert_string_equal(json_string_value(json_object_get(req.metadata, "jobId")), "42");
    assert_string_equal(json_string_value(json_object_get(req.body, "runtime")), "python");
    sq_request_free(&req);
    assert_null(req.root);

    /* No body at all: an empty one is supplied; tenant defaults. */
    const char *kill = "{\"v\":1,\"requestId\":\"" REQ "\",\"type\":\"sandbox.kill\",\"sandboxId\":\"" SBX "\"}";
    assert_int_equal(sq_request_parse(kill, strlen(kill), MAX_BYTES, &req, &err), SQ_PARSE_OK);
    assert_true(json_is_object(req.body));
    assert_int_equal(json_object_size(req.body), 0);
    assert_string_equal(req.tenant, "default");
    assert_null(req.metadata);
    sq_request_free(&req);

    /* task.exec with everything. */
    json_t *r = exec_request();
    json_object_set_new(body_of(r), "args", json_pack("[s,s]", "-c", "print(1)"));
    json_object_set_new(body_of(r), "cwd", json_string("/workspace/src"));
    json_object_set_new(body_of(r), "env", json_pack("{s:s}", "PYTHONUNBUFFERED", "1"));
    json_object_set_new(body_of(r), "stdinB64", json_string("aGk="));
    json_object_set_new(body_of(r), "timeoutMs", json_integer(30000));
    json_object_set_new(body_of(r), "outputs", json_pack("[s]", "out/*.png"));
    assert_int_equal(parse_json(r, &req, &err), SQ_PARSE_OK);
    assert_int_equal(req.type, SQ_REQ_TASK_EXEC);
    assert_string_equal(req.task_id, TSK);
    sq_request_free(&req);

    /* taskId: null is allowed where no task is needed. */
    r = envelope("sandbox.pause");
    json_object_set_new(r, "taskId", json_null());
    json_object_set_new(body_of(r), "persist", json_true());
    expect_ok(r);

    r = envelope("task.browser");
    json_object_set_new(
        body_of(r), "actions",
        json_pack("[{s:s,s:s},{s:s,s:s,s:s},{s:s,s:s},{s:s,s:b},{s:s,s:i,s:i}]", "op", "goto", "url",
                  "https://example.com", "op", "type", "selector", "#q", "text", "sandq", "op", "press", "key",
                  "Enter", "op", "screenshot", "fullPage", 1, "op", "setViewport", "width", 800, "height", 600));
    expect_ok(r);

    r = envelope("files.read");
    json_object_set_new(body_of(r), "path", json_string("notes/a.txt"));
    json_object_set_new(body_of(r), "offset", json_integer(0));
    json_object_set_new(body_of(r), "length", json_integer(4096));
    expect_ok(r);

    expect_ok(envelope("files.list"));
    expect_ok(envelope("sandbox.resume"));

    r = envelope("sandbox.setTimeout");
    json_object_set_new(body_of(r), "timeoutMs", json_integer(120000));
    expect_ok(r);

    r = envelope("task.cancel");
    json_object_set_new(body_of(r), "targetTaskId", json_string("tsk_01ARZ3NDEKTSV4RRFFQ69G5FB0"));
    expect_ok(r);

    r = envelope("checkpoint.create");
    json_object_set_new(body_of(r), "checkpointId", json_string(CHK));
    json_object_set_new(body_of(r), "label", json_string("before upgrade"));
    expect_ok(r);

    r = envelope("handoff.request");
    json_object_set_new(body_of(r), "handoffId", json_string(HND));
    json_object_set_new(body_of(r), "reason", json_string("mfa"));
    json_object_set_new(body_of(r), "message", json_string("Enter the code sent to your phone"));
    json_object_set_new(body_of(r), "expiresInMs", json_integer(600000));
    expect_ok(r);

    r = envelope("handoff.accept");
    json_object_set_new(body_of(r), "handoffId", json_string(HND));
    json_object_set_new(body_of(r), "controller", json_string("ops@acme"));
    expect_ok(r);

    r = envelope("task.document");
    json_object_set_new(body_of(r), "input", json_string("report.docx"));
    json_object_set_new(body_of(r), "to", json_string("pdf"));
    expect_ok(r);

    r = envelope("task.document");
    json_object_set_new(body_of(r), "input", json_string("report.docx"));
    json_object_set_new(body_of(r), "to", json_string("pdf"));
    json_object_set_new(body_of(r), "timeoutMs", json_integer(60000));
    expect_ok(r);

    r = envelope("task.agent");
    json_object_set_new(body_of(r), "prompt", json_string("Write a haiku to out.txt"));
    json_object_set_new(body_of(r), "agent", json_string("plan"));
    json_object_set_new(body_of(r), "maxSteps", json_integer(20));
    expect_ok(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_envelope),
        cmocka_unit_test(test_not_json_quotes_nothing),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_sandbox_id),
        cmocka_unit_test(test_task_id),
        cmocka_unit_test(test_tenant),
        cmocka_unit_test(test_sent_at),
        cmocka_unit_test(test_reply_to),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_unknown_envelope_field),
        cmocka_unit_test(test_body_not_object),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_body_unknown_field),
        cmocka_unit_test(test_body_create_checkpoint),
        cmocka_unit_test(test_body_missing_required),
        cmocka_unit_test(test_body_empty_strings),
        cmocka_unit_test(test_body_files_path_b64_and_paging),
        cmocka_unit_test(test_body_args_not_strings),
        cmocka_unit_test(test_body_nul_bytes),
        cmocka_unit_test(test_body_exec_stdin_both),
        cmocka_unit_test(test_body_env_names),
        cmocka_unit_test(test_body_files_write),
        cmocka_unit_test(test_body_files_write_chunk_limit),
        cmocka_unit_test(test_body_create),
        cmocka_unit_test(test_body_browser),
        cmocka_unit_test(test_body_ids_and_enums),
        cmocka_unit_test(test_body_validate_direct),
        cmocka_unit_test(test_ids_captured_on_rejection),
        cmocka_unit_test(test_valid_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
