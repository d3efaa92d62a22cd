/* batch.c — pure parts of `sandq batch submit`: deterministic ids, JSONL line parsing,
 * the token-bucket rate limiter and progress formatting (batch.h). */
#include "batch.h"

#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq/codec.h"
#include "sq/protocol.h"
#include "units.h"

/* ---- deterministic ids ---- */

void sqp_batch_seed(const char *salt, uint64_t lineno, const char *line, size_t len,
                    unsigned char seed[SQP_BATCH_SEED_LEN])
{
    SHA256_CTX ctx;
    /* SHA256_* are deprecated in OpenSSL 3 but stable and pure; EVP would allocate. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_Init(&ctx);
    static const char tag[] = "sandq-batch/1";
    SHA256_Update(&ctx, tag, sizeof tag); /* with its NUL */
    const char *s = salt ? salt : "";
    SHA256_Update(&ctx, s, strlen(s) + 1);
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)lineno);
    SHA256_Update(&ctx, num, (size_t)n + 1);
    SHA256_Update(&ctx, line, len);
    SHA256_Final(seed, &ctx);
#pragma GCC diagnostic pop
}

void sqp_batch_id(const unsigned char seed[SQP_BATCH_SEED_LEN], const char *prefix, const char *role,
                  char out[SQ_ID_MAX])
{
    unsigned char buf[SQP_BATCH_SEED_LEN + 64];
    size_t rl = strlen(role);
    if (rl > 64)
        rl = 64;
    memcpy(buf, seed, SQP_BATCH_SEED_LEN);
    memcpy(buf + SQP_BATCH_SEED_LEN, role, rl);
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256(buf, SQP_BATCH_SEED_LEN + rl, h);
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = (ms << 8) | h[i];
    ms &= (1ULL << 40) - 1;
    char ulid[SQ_ULID_LEN + 1];
    sq_ulid_encode(ms, h + 6, ulid);
    snprintf(out, SQ_ID_MAX, "%s_%s", prefix, ulid);
}

/* ---- line parsing ---- */

void sqp_batch_job_free(sqp_batch_job *job)
{
    if (!job)
        return;
    json_decref(job->create_body);
    json_decref(job->metadata);
    json_decref(job->raw_env);
    for (size_t i = 0; i < job->ntasks; i++)
        json_decref(job->tasks[i].body);
    free(job->tasks);
    memset(job, 0, sizeof *job);
}

static bool needs_task_id(const char *type)
{
    return strncmp(type, "task.", 5) == 0 || strncmp(type, "files.", 6) == 0 || strncmp(type, "checkpoint.", 11) == 0;
}

static sqp_line_kind fail(char *errbuf, size_t errlen, const char *fmt, const char *a)
{
    snprintf(errbuf, errlen, fmt, a ? a : "");
    return SQP_LINE_ERROR;
}

static json_t *string_array_check(json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v)) return NULL;
    return a;
}

/* One element of "tasks" → type and body (new reference). */
static int parse_task(json_t *t, size_t idx, sqp_batch_task *out, char *errbuf, size_t errlen)
{
    char where[32];
    snprintf(where, sizeof where, "tasks[%zu]", idx);
    if (!json_is_object(t)) {
        fail(errbuf, errlen, "%s is not an object", where);
        return -1;
    }
    json_t *timeout = json_object_get(t, "timeoutMs");
    if (timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < 1)) {
        fail(errbuf, errlen, "%s.timeoutMs is not a positive integer", where);
        return -1;
    }
    json_t *body = NULL;
    json_t *v;
    if ((v = json_object_get(t, "exec"))) {
        if (!string_array_check(v)) {
            fail(errbuf, errlen, "%s.exec must be a non-empty array of strings [\"cmd\", \"arg\"…]", where);
            return -1;
        }
        body = json_pack("{s:O}", "command", json_array_get(v, 0));
        if (json_array_size(v) > 1) {
            json_t *args = json_array();
            for (size_t i = 1; i < json_array_size(v); i++)
                json_array_append(args, json_array_get(v, i));
            json_object_set_new(body, "args", args);
        }
        snprintf(out->type, sizeof out->type, "task.exec");
    } else if ((v = json_object_get(t, "sh"))) {
        if (!json_is_string(v)) {
            fail(errbuf, errlen, "%s.sh must be a string", where);
            return -1;
        }
        body = json_pack("{s:s, s:[s, O]}", "command", "sh", "args", "-c", v);
        snprintf(out->type, sizeof out->type, "task.exec");
    } else if ((v = json_object_get(t, "code"))) {
        json_t *lang = json_object_get(t, "language");
        if (!json_is_string(v) || (lang && !json_is_string(lang))) {
            fail(errbuf, errlen, "%s.code and .language must be strings", where);
            return -1;
        }
        body = json_pack("{s:O}", "code", v);
        if (lang)
            json_object_set(body, "language", lang);
        snprintf(out->type, sizeof out->type, "task.code");
    } else if ((v = json_object_get(t, "prompt"))) {
        /* issue 12: an agent job, {"prompt": "…", "agent"?: "build"|"plan"} */
        json_t *agent = json_object_get(t, "agent");
        if (!json_is_string(v) || !json_string_length(v) || (agent && !json_is_string(agent))) {
            fail(errbuf, errlen, "%s.prompt must be a non-empty string (and .agent a string)", where);
            return -1;
        }
        body = json_pack("{s:O}", "prompt", v);
        if (agent)
            json_object_set(body, "agent", agent);
        snprintf(out->type, sizeof out->type, "task.agent");
    } else if ((v = json_object_get(t, "type"))) {
        json_t *b = json_object_get(t, "body");
        if (!json_is_string(v) || !needs_task_id(json_string_value(v)) ||
            strlen(json_string_value(v)) >= sizeof out->type) {
            fail(errbuf, errlen, "%s.type must be a task.*, files.* or checkpoint.* request type", where);
            return -1;
        }
        if (b && !json_is_object(b)) {
            fail(errbuf, errlen, "%s.body must be an object", where);
            return -1;
        }
        body = b ? json_deep_copy(b) : json_object();
        snprintf(out->type, sizeof out->type, "%s", json_string_value(v));
    } else {
        fail(errbuf, errlen, "%s needs one of exec, sh, code, prompt or type", where);
        return -1;
    }
    if (timeout && !json_object_get(body, "timeoutMs"))
        json_object_set(body, "timeoutMs", timeout);
    out->body = body;
    return 0;
}

static bool string_map(json_t *o)
{
    if (!json_is_object(o))
        return false;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (!json_is_string(v)) return false;
    return true;
}

static sqp_line_kind parse_raw(json_t *root, const unsigned char *seed, const char *tenant, sqp_batch_job *out,
                               char *errbuf, size_t errlen)
{
    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type) || json_string_length(type) >= sizeof out->raw_type)
        return fail(errbuf, errlen, "\"type\" must be a request type string%s", NULL);
    snprintf(out->raw_type, sizeof out->raw_type, "%s", json_string_value(type));
    out->raw = true;
    json_t *env = json_deep_copy(root);
    if (!json_object_get(env, "v"))
        json_object_set_new(env, "v", json_integer(SQ_PROTOCOL_VERSION));
    if (!json_object_get(env, "tenant") && tenant && *tenant)
        json_object_set_new(env, "tenant", json_string(tenant));
    struct {
        const char *key, *prefix, *role;
        char *dst;
        bool needed;
    } ids[] = {{"requestId", "req", "raw-request", out->raw_request_id, true},
               {"sandboxId", "sbx", "sandbox", out->sandbox_id, true},
               {"taskId", "tsk", "raw-task", out->raw_task_id, needs_task_id(out->raw_type)}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        json_t *v = json_object_get(env, ids[i].key);
        if (json_is_string(v)) {
            snprintf(ids[i].dst, SQ_ID_MAX, "%s", json_string_value(v));
        } else if (!v && ids[i].needed) {
            sqp_batch_id(seed, ids[i].prefix, ids[i].role, ids[i].dst);
            json_object_set_new(env, ids[i].key, json_string(ids[i].dst));
        }
    }
    out->raw_env = env;
    return SQP_LINE_JOB;
}

sqp_line_kind sqp_batch_parse_line(const char *line, size_t len, uint64_t lineno, const char *salt,
                                   const char *tenant, sqp_batch_job *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->line = lineno;
    if (errlen)
        errbuf[0] = '\0';
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len || line[i] == '#')
        return SQP_LINE_SKIP;
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(errbuf, errlen, "not JSON: %s (column %d)", jerr.text, jerr.column);
        return SQP_LINE_ERROR;
    }
    sqp_line_kind kind = SQP_LINE_ERROR;
    unsigned char seed[SQP_BATCH_SEED_LEN];
    sqp_batch_seed(salt, lineno, line, len, seed);
    if (!json_is_object(root)) {
        fail(errbuf, errlen, "a line must be a JSON object%s", NULL);
        goto done;
    }
    if (json_object_get(root, "type")) {
        kind = parse_raw(root, seed, tenant, out, errbuf, errlen);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "create") && strcmp(key, "tasks") && strcmp(key, "metadata") && strcmp(key, "keep")) {
            fail(errbuf, errlen, "unknown field \"%s\" (a job has create, tasks, metadata, keep; a raw request has type)",
                 key);
            goto done;
        }
    }
    json_t *create = json_object_get(root, "create");
    if (create && !json_is_object(create)) {
        fail(errbuf, errlen, "\"create\" must be an object (a sandbox.create body)%s", NULL);
        goto done;
    }
    json_t *meta = json_object_get(root, "metadata");
    if (meta && !string_map(meta)) {
        fail(errbuf, errlen, "\"metadata\" must be an object of strings%s", NULL);
        goto done;
    }
    json_t *keep = json_object_get(root, "keep");
    if (keep && !json_is_boolean(keep)) {
        fail(errbuf, errlen, "\"keep\" must be true or false%s", NULL);
        goto done;
    }
    json_t *tasks = json_object_get(root, "tasks");
    if (tasks && !json_is_array(tasks)) {
        fail(errbuf, errlen, "\"tasks\" must be an array%s", NULL);
        goto done;
    }
    size_t nt = tasks ? json_array_size(tasks) : 0;
    if (nt > SQP_BATCH_MAX_TASKS) {
        snprintf(errbuf, errlen, "more than %d tasks", SQP_BATCH_MAX_TASKS);
        goto done;
    }
    out->create_body = create ? json_deep_copy(create) : json_object();
    out->metadata = meta ? json_deep_copy(meta) : NULL;
    out->keep = keep && json_is_true(keep);
    out->tasks = calloc(nt ? nt : 1, sizeof *out->tasks);
    if (!out->tasks) {
        snprintf(errbuf, errlen, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < nt; t++) {
        if (parse_task(json_array_get(tasks, t), t, &out->tasks[t], errbuf, errlen) < 0)
            goto done;
        out->ntasks++;
        char role[32];
        snprintf(role, sizeof role, "task-%zu", t);
        sqp_batch_id(seed, "tsk", role, out->tasks[t].task_id);
        snprintf(role, sizeof role, "task-request-%zu", t);
        sqp_batch_id(seed, "req", role, out->tasks[t].request_id);
    }
    sqp_batch_id(seed, "sbx", "sandbox", out->sandbox_id);
    sqp_batch_id(seed, "req", "create", out->create_request_id);
    sqp_batch_id(seed, "req", "kill", out->kill_request_id);
    kind = SQP_LINE_JOB;
done:
    json_decref(root);
    if (kind == SQP_LINE_ERROR) {
        sqp_batch_job_free(out);
        out->line = lineno;
    }
    return kind;
}

/* ---- rate limiter ---- */

void sqp_rate_init(sqp_rate *r, double per_sec, int64_t now_ms)
{
    r->rate = per_sec > 0 ? per_sec : 0;
    /* a tenth of a second of tokens (at least 1): smooth, yet a high rate is not
     * limited by the caller's polling granularity */
    r->burst = r->rate > 10 ? r->rate / 10 : 1;
    r->tokens = 1;
    r->last_ms = now_ms;
}

static void refill(sqp_rate *r, int64_t now_ms)
{
    if (now_ms > r->last_ms) {
        r->tokens += r->rate * (double)(now_ms - r->last_ms) / 1000.0;
        if (r->tokens > r->burst)
            r->tokens = r->burst;
        r->last_ms = now_ms;
    }
}

bool sqp_rate_take(sqp_rate *r, int64_t now_ms)
{
    if (r->rate <= 0)
        return true;
    refill(r, now_ms);
    if (r->tokens >= 1) {
        r->tokens -= 1;
        return true;
    }
    return false;
}

int64_t sqp_rate_wait_ms(const sqp_rate *r, int64_t now_ms)
{
    if (r->rate <= 0)
        return 0;
    sqp_rate c = *r;
    refill(&c, now_ms);
    if (c.tokens >= 1)
        return 0;
    return (int64_t)ceil((1 - c.tokens) * 1000.0 / c.rate);
}

int sqp_parse_rate(const char *s, double *per_sec)
{
    if (!s || !*s)
        return -1;
    char *end;
    double n = strtod(s, &end);
    if (end == s || !isfinite(n) || n <= 0)
        return -1;
    double div = 1;
    if (*end == '/') {
        end++;
        if (strcmp(end, "s") == 0)
            div = 1;
        else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
            div = 60;
        else if (strcmp(end, "h") == 0)
            div = 3600;
        else
            return -1;
    } else if (*end) {
        return -1;
    }
    *per_sec = n / div;
    return 0;
}

/* ---- progress ---- */

static void eta_text(const sqp_progress *p, char *out, size_t len)
{
    uint64_t done = p->waiting ? p->succeeded + p->failed : p->submitted;
    uint64_t left = p->total > done ? p->total - done : 0;
    if (left == 0) {
        snprintf(out, len, "0s");
        return;
    }
    if (p->rate <= 0) {
        snprintf(out, len, "?");
        return;
    }
    sqp_format_duration((int64_t)((double)left / p->rate * 1000.0), out, len);
}

char *sqp_progress_bar(const sqp_progress *p, int width, char *out, size_t len)
{
    if (width < 1)
        width = 1;
    if (width > 200)
        width = 200;
    uint64_t done = p->waiting ? p->succeeded + p->failed : p->submitted;
    double frac = p->total ? (double)done / (double)p->total : 1.0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * width);
    char bar[204];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    char eta[32];
    eta_text(p, eta, sizeof eta);
    snprintf(out, len, "[%s] %3d%% %llu/%llu submitted | %llu running | %llu ok | %llu failed | %.1f/s | ETA %s",
             bar, (int)(frac * 100), (unsigned long long)p->submitted, (unsigned long long)p->total,
             (unsigned long long)p->running, (unsigned long long)p->succeeded, (unsigned long long)p->failed,
             p->rate, eta);
    return out;
}

char *sqp_progress_line(const sqp_progress *p, char *out, size_t len)
{
    char el[32], eta[32];
    sqp_format_duration(p->elapsed_ms, el, sizeof el);
    eta_text(p, eta, sizeof eta);
    snprintf(out, len,
             "batch: %llu/%llu submitted, %llu running, %llu succeeded, %llu failed, %.1f/s, elapsed %s, eta %s",
             (unsigned long long)p->submitted, (unsigned long long)p->total, (unsigned long long)p->running,
             (unsigned long long)p->succeeded, (unsigned long long)p->failed, p->rate, el, eta);
    return out;
}
