/* body.c — request envelopes and bodies built from option structs. Pure (jansson
 * only): what goes on the wire is decided here and nowhere else. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sq/clock.h"
#include "sq/codec.h"
#include "units.h"
#include "utf8.h"

json_t *sqp_kv_object(const char *const *list, const char *what, sandq_error *err)
{
    json_t *o = json_object();
    for (size_t i = 0; list && list[i]; i++) {
        size_t klen = sqp_kv_key_len(list[i]);
        if (klen == 0) {
            json_decref(o);
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s entry \"%s\" is not KEY=VALUE", what, list[i]);
            return NULL;
        }
        char key[256];
        if (klen >= sizeof key) {
            json_decref(o);
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s key longer than %zu bytes", what, sizeof key - 1);
            return NULL;
        }
        memcpy(key, list[i], klen);
        key[klen] = '\0';
        json_t *v = json_string(list[i] + klen + 1);
        if (!v) {
            json_decref(o);
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s value of %s is not valid UTF-8", what, key);
            return NULL;
        }
        json_object_set_new(o, key, v);
    }
    return o;
}

static int set_str(json_t *o, const char *key, const char *val, sandq_error *err)
{
    if (!val)
        return 0;
    json_t *v = json_string(val);
    if (!v) {
        sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "%s is not valid UTF-8", key);
        return -1;
    }
    json_object_set_new(o, key, v);
    return 0;
}

json_t *sqp_body_create(const sandq_create_opts *o, const char *region, sandq_error *err)
{
    json_t *b = json_object();
    if (region && *region)
        json_object_set_new(b, "region", json_string(region));
    if (set_str(b, "runtime", o->runtime, err) || set_str(b, "network", o->network, err))
        goto fail;
    if (o->env && o->env[0]) {
        json_t *env = sqp_kv_object(o->env, "env", err);
        if (!env)
            goto fail;
        json_object_set_new(b, "env", env);
    }
    if (o->memory_mb > 0 || o->cpus > 0 || o->pids > 0 || o->disk_mb > 0) {
        json_t *lim = json_object();
        if (o->memory_mb > 0)
            json_object_set_new(lim, "memoryMb", json_integer(o->memory_mb));
        if (o->cpus > 0)
            json_object_set_new(lim, "cpus", json_real(o->cpus));
        if (o->pids > 0)
            json_object_set_new(lim, "pids", json_integer(o->pids));
        if (o->disk_mb > 0)
            json_object_set_new(lim, "diskMb", json_integer(o->disk_mb));
        json_object_set_new(b, "limits", lim);
    }
    if (o->timeout_ms > 0)
        json_object_set_new(b, "timeoutMs", json_integer(o->timeout_ms));
    if (o->idle_timeout_ms > 0)
        json_object_set_new(b, "idleTimeoutMs", json_integer(o->idle_timeout_ms));
    if (o->auto_checkpoint_ms > 0)
        json_object_set_new(b, "checkpoint", json_pack("{s:b, s:I}", "auto", 1, "intervalMs",
                                                       (json_int_t)o->auto_checkpoint_ms));
    if (o->body_json) {
        json_error_t jerr;
        json_t *extra = json_loads(o->body_json, 0, &jerr);
        if (!json_is_object(extra)) {
            json_decref(extra);
            sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "body_json is not a JSON object: %s",
                     extra ? "not an object" : jerr.text);
            goto fail;
        }
        json_object_update(b, extra);
        json_decref(extra);
    }
    return b;
fail:
    json_decref(b);
    return NULL;
}

json_t *sqp_body_exec(const char *const *argv, const sandq_exec_opts *o, sandq_error *err)
{
    if (!argv || !argv[0] || !*argv[0]) {
        sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "no command to run");
        return NULL;
    }
    json_t *b = json_object();
    if (set_str(b, "command", argv[0], err))
        goto fail;
    if (argv[1]) {
        json_t *args = json_array();
        json_object_set_new(b, "args", args);
        for (size_t i = 1; argv[i]; i++) {
            json_t *a = json_string(argv[i]);
            if (!a) {
                sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "argument %zu is not valid UTF-8", i);
                goto fail;
            }
            json_array_append_new(args, a);
        }
    }
    if (set_str(b, "cwd", o->cwd, err))
        goto fail;
    if (o->env && o->env[0]) {
        json_t *env = sqp_kv_object(o->env, "env", err);
        if (!env)
            goto fail;
        json_object_set_new(b, "env", env);
    }
    if (o->stdin_data && o->stdin_len > 0) {
        if (sqp_utf8_text(o->stdin_data, o->stdin_len)) {
            json_object_set_new(b, "stdin", json_stringn(o->stdin_data, o->stdin_len));
        } else {
            char *b64 = malloc(sq_b64_encoded_size(o->stdin_len));
            if (!b64) {
                sqp_fail(err, SANDQ_E_NO_MEMORY, "out of memory");
                goto fail;
            }
            sq_b64_encode(o->stdin_data, o->stdin_len, b64);
            json_object_set_new(b, "stdinB64", json_string(b64));
            free(b64);
        }
    }
    if (o->timeout_ms > 0)
        json_object_set_new(b, "timeoutMs", json_integer(o->timeout_ms));
    return b;
fail:
    json_decref(b);
    return NULL;
}

json_t *sqp_body_code(const char *code, const sandq_code_opts *o, sandq_error *err)
{
    if (!code) {
        sqp_fail(err, SANDQ_E_BAD_ARGUMENT, "no code to run");
        return NULL;
    }
    json_t *b = json_object();
    if (set_str(b, "code", code, err) || set_str(b, "language", o->language, err))
        goto fail;
    if (o->timeout_ms > 0)
        json_object_set_new(b, "timeoutMs", json_integer(o->timeout_ms));
    return b;
fail:
    json_decref(b);
    return NULL;
}

void sqp_body_set_path(json_t *body, const char *path)
{
    size_t n = strlen(path);
    if (sqp_utf8_text(path, n)) {
        json_object_set_new(body, "path", json_string(path));
        return;
    }
    /* Not UTF-8 (a name the sandbox made from other bytes): the same bytes as
     * base64, which every files.* request takes instead of path. */
    char *b64 = malloc(sq_b64_encoded_size(n));
    if (!b64)
        return; /* no path: the request is refused as missing one, not sent wrong */
    sq_b64_encode(path, n, b64);
    json_object_set_new(body, "pathB64", json_string(b64));
    free(b64);
}

json_t *sqp_body_files_write(const char *path, const void *data, size_t len, uint64_t offset, bool first,
                             uint32_t mode)
{
    char *b64 = malloc(sq_b64_encoded_size(len));
    if (!b64)
        return NULL;
    sq_b64_encode(data, len, b64);
    json_t *b = json_object();
    sqp_body_set_path(b, path);
    json_object_set_new(b, "contentB64", json_string(b64));
    free(b64);
    /* The first chunk has no offset: it creates or truncates the file. The rest write
     * at their offset without truncating (docs/internals.md "Files"). */
    if (!first)
        json_object_set_new(b, "offset", json_integer((json_int_t)offset));
    if (first && mode)
        json_object_set_new(b, "mode", json_integer(mode));
    return b;
}

json_t *sqp_envelope(const char *type, const char *request_id, const char *sandbox_id, const char *task_id,
                     const char *tenant, const char *reply_to, json_t *metadata, json_t *body)
{
    json_t *e = json_object();
    json_object_set_new(e, "v", json_integer(SQ_PROTOCOL_VERSION));
    json_object_set_new(e, "requestId", json_string(request_id));
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "sandboxId", json_string(sandbox_id));
    if (task_id && *task_id)
        json_object_set_new(e, "taskId", json_string(task_id));
    json_object_set_new(e, "tenant", json_string(tenant && *tenant ? tenant : "default"));
    json_object_set_new(e, "sentAt", json_integer(sq_now_ms()));
    if (reply_to && *reply_to)
        json_object_set_new(e, "replyTo", json_string(reply_to));
    if (metadata && json_object_size(metadata) > 0)
        json_object_set(e, "metadata", metadata);
    json_decref(metadata);
    json_object_set_new(e, "body", body ? body : json_object());
    return e;
}
