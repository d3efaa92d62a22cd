/* sandq.h — libsandq, the C client for sandq.
 *
 * A backend links libsandq to create sandboxes and run work in them. Every call
 * publishes a request to Kafka (`<prefix>.requests[.<region>]`, keyed by the
 * sandbox id) and, where the call waits for an answer, reads only the one
 * partition of `<prefix>.events` that holds that sandbox's events. No worker
 * address is needed, and Kafka is the only dependency of every call except three
 * read-only ones: sandq_get and sandq_list read the workers' live state in Redis,
 * sandq_history reads PostgreSQL (a short-lived connection per call).
 *
 * Conventions (as in curl):
 *  - Handles are opaque: sandq_client_t, sandq_task_t, sandq_sub_t.
 *  - Option structs: NULL means "all defaults"; otherwise start from the struct's
 *    _INIT macro (sandq_exec_opts o = SANDQ_EXEC_OPTS_INIT; o.timeout_ms = …), which
 *    zeroes it (every default) and sets its first field, struct_size, to the size
 *    the caller was compiled with. That is how the structs grow without breaking
 *    callers: new fields are only ever appended, and the library reads just the
 *    struct_size bytes the caller has (the rest keep their defaults) — see "Option
 *    structs" below. Strings are borrowed for the duration of the call only.
 *  - Every fallible call returns a sandq_code (SANDQ_OK == 0) and, if `err` is
 *    not NULL, fills *err with the code, a one-line human message and details.
 *  - Every call that waits has a deadline; 0 for a timeout means "the client's
 *    default timeout" (sandq_client_opts.timeout_ms).
 *  - Thread safety is stated per call. In short: a client may be shared by any
 *    number of threads; a task or a subscription is used by one thread at a time.
 *
 * Full documentation: docs/library.md. Example: producer/examples/launch_exec.c.
 *
 * This is the one source file of producer/ longer than ~600 lines, on purpose: it is
 * the whole public API with every call and field documented where it is declared (as
 * curl.h), and a caller includes just this file.
 */
#ifndef SANDQ_H
#define SANDQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SANDQ_API __attribute__((visibility("default")))
#else
#define SANDQ_API
#endif

#define SANDQ_VERSION "0.1.0"
#define SANDQ_VERSION_NUM 0x000100

/* Room for any sandq id ("sbx_" + 26-char ULID) with its NUL. */
#define SANDQ_ID_MAX 32

/* ------------------------------------------------------------------------- */
/* Errors                                                                     */
/* ------------------------------------------------------------------------- */

typedef enum sandq_code {
    SANDQ_OK = 0,

    /* The error codes of the wire protocol (PROTOCOL.md), carried by a
     * `request.rejected` event for your request or a `sandbox.task.failed`
     * event for your task. Same order and names as on the wire. */
    SANDQ_E_INVALID_REQUEST = 1,     /* invalid_request: schema violation; err->field names the field */
    SANDQ_E_UNSUPPORTED_VERSION = 2, /* unsupported_version */
    SANDQ_E_UNKNOWN_TYPE = 3,        /* unknown_type */
    SANDQ_E_SANDBOX_NOT_FOUND = 4,   /* sandbox_not_found */
    SANDQ_E_SANDBOX_EXISTS = 5,      /* sandbox_exists: create with an id already in use */
    SANDQ_E_INVALID_STATE = 6,       /* invalid_state: e.g. exec while the sandbox is still queued */
    SANDQ_E_FORBIDDEN = 7,           /* forbidden: tenant mismatch */
    SANDQ_E_CAPABILITY_DISABLED = 8, /* capability_disabled */
    SANDQ_E_PATH_OUTSIDE_WORKSPACE = 9, /* path_outside_workspace */
    SANDQ_E_NOT_FOUND = 10,          /* not_found: e.g. files.read of a missing file */
    SANDQ_E_PAYLOAD_TOO_LARGE = 11,  /* payload_too_large: request bigger than the worker (or broker) accepts */
    SANDQ_E_LIMIT_EXCEEDED = 12,     /* limit_exceeded (also: a read larger than max_bytes) */
    SANDQ_E_TIMED_OUT = 13,          /* timed_out: the *task* hit its timeoutMs inside the sandbox */
    SANDQ_E_CANCELED = 14,           /* canceled: the task was canceled (sandq_task_cancel) */
    SANDQ_E_INTERNAL = 15,           /* internal: worker-side error (also: an unknown wire code) */
    SANDQ_E_CAPABILITY_UNAVAILABLE = 16, /* capability_unavailable: the worker lacks what the capability needs */
    SANDQ_E_CHECKPOINT_NOT_FOUND = 17,   /* checkpoint_not_found: checkpoint.restore of an unknown id */
    SANDQ_E_HANDOFF_NOT_FOUND = 18,      /* handoff_not_found: no hand-off with that handoffId on the sandbox */
    SANDQ_E_WORKER_DRAINING = 19,        /* worker_draining: the worker drained under the task; it did not finish, retry */

    /* Client-side codes: never on the wire. */
    SANDQ_E_WAIT_TIMEOUT = 100,   /* wait_timeout: no answer before the call's deadline (the request
                                     may still take effect later) */
    SANDQ_E_KAFKA = 101,          /* kafka_error: brokers unreachable, topic missing, delivery failed */
    SANDQ_E_REDIS = 102,          /* redis_error: reserved for calls that read live state from Redis */
    SANDQ_E_BAD_ARGUMENT = 103,   /* bad_argument: invalid argument to a libsandq call (checked before sending) */
    SANDQ_E_NO_MEMORY = 104,      /* out_of_memory */
    SANDQ_E_SANDBOX_FAILED = 105, /* sandbox_failed: a `sandbox.failed` event; err->reason has data.reason */
    SANDQ_E_SANDBOX_ENDED = 106,  /* sandbox_ended: the sandbox ended while the call waited on it */
    SANDQ_E_INTEGRITY = 107,      /* integrity_error: a file transfer's sha256 or size did not match */
    SANDQ_E_PROTOCOL = 108,       /* protocol_error: an event for this call had an unexpected shape */
    SANDQ_E_IO = 109,             /* io_error: local I/O (used by the CLI) */
    SANDQ_E_DATABASE = 110,       /* database_error: PostgreSQL unreachable or a query failed (sandq_history) */
} sandq_code;

/* Details of a failure. Filled by every call that takes a `sandq_error *`
 * (which may be NULL); cleared to code SANDQ_OK on success. */
typedef struct sandq_error {
    sandq_code code;
    char message[512];               /* one line, human readable, no trailing newline */
    char field[96];                  /* SANDQ_E_INVALID_REQUEST: first bad field ("body.command"), else "" */
    char reason[64];                 /* SANDQ_E_SANDBOX_FAILED: data.reason of sandbox.failed ("worker_lost");
                                      * a failed task: its data.reason ("oom_killed", "selector_not_found"); else "" */
    char request_id[SANDQ_ID_MAX];   /* the request this error is about, if one was sent, else "" */
    char task_id[SANDQ_ID_MAX];      /* the task this error is about, if any, else "" */
    int exit_code;                   /* sandbox.task.failed's exitCode if present, else -1 */
} sandq_error;

/* Human description of a code ("sandbox not found"). Never NULL; static storage.
 * Thread safety: any thread. */
SANDQ_API const char *sandq_strerror(sandq_code code);
/* Machine name of a code: the wire name for protocol codes ("sandbox_not_found"),
 * "wait_timeout", "kafka_error", … for client-side ones. Never NULL; static.
 * Thread safety: any thread. */
SANDQ_API const char *sandq_code_name(sandq_code code);

/* ------------------------------------------------------------------------- */
/* Option structs                                                             */
/* ------------------------------------------------------------------------- */

/* Every sandq_*_opts struct begins with `size_t struct_size`, set by its _INIT macro
 * to sizeof the struct as the caller's copy of this header declares it. The library:
 *  - reads only struct_size bytes, so a program built against an older, smaller
 *    struct keeps working with a newer libsandq: the fields it does not know of keep
 *    their defaults;
 *  - accepts a larger struct (a program built against a newer header) only if every
 *    byte it does not know is zero, i.e. the program sets no option this library
 *    lacks; otherwise SANDQ_E_BAD_ARGUMENT, rather than silently ignoring it;
 *  - refuses struct_size 0 (a struct not made with its _INIT macro) with
 *    SANDQ_E_BAD_ARGUMENT naming the macro.
 * For maintainers: fields are appended at the end, never reordered or removed, and a
 * new field must not fall into the tail padding of the previous layout (add explicit
 * padding before it if it would). */

/* ------------------------------------------------------------------------- */
/* Client                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct sandq_client sandq_client_t;

typedef struct sandq_client_opts {
    size_t struct_size;   /* SANDQ_CLIENT_OPTS_INIT sets it: see "Option structs" above */
    /* Kafka bootstrap servers. NULL → $SANDQ_KAFKA_BROKERS, else "127.0.0.1:19092". */
    const char *brokers;
    /* Topic prefix. NULL → $SANDQ_TOPIC_PREFIX, else "sandq". */
    const char *topic_prefix;
    /* Default region for requests (three lowercase letters, e.g. "iad"): creates go to
     * `<prefix>.requests.<region>` with body.region set. NULL or "" → no region:
     * `<prefix>.requests`. Per-create override: sandq_create_opts.region. */
    const char *region;
    /* Tenant written on every request. NULL → $SANDQ_TENANT, else "default". */
    const char *tenant;
    /* Default deadline of waiting calls, in ms. 0 → $SANDQ_TIMEOUT_MS, else 60000. */
    int64_t timeout_ms;
    /* Kafka client.id. NULL → "sandq". */
    const char *client_id;
    /* Extra librdkafka settings, a NULL-terminated list of "key=value" strings applied
     * to the producer and the consumers (security.protocol, sasl.*, ssl.*, …). May be
     * NULL. The partitioner, acks and idempotence cannot be overridden. */
    const char *const *kafka_conf;
    /* Redis URL for sandq_get and sandq_list only (no other call touches Redis).
     * NULL → $SANDQ_REDIS_URL, else "redis://127.0.0.1:16379/0". */
    const char *redis_url;
    /* PostgreSQL URL (libpq conninfo) for sandq_history only. NULL → $SANDQ_DATABASE_URL,
     * else "postgresql://sandq@127.0.0.1:15432/sandq". */
    const char *database_url;
    /* Producer linger.ms: how long librdkafka waits to fill a batch. 0 → 2 ms (low
     * latency for interactive calls); bulk publishers (sandq_publish) want 10–50. */
    int linger_ms;
    /* Key that seals webhook endpoint secrets (base64 of 32 bytes, the workers' key),
     * for sandq_webhook_add/rotate only. NULL → $SANDQ_WEBHOOK_SECRET_KEY; none → secrets
     * are stored unencrypted (local stacks only). */
    const char *webhook_secret_key;
} sandq_client_opts;
#define SANDQ_CLIENT_OPTS_INIT {.struct_size = sizeof(sandq_client_opts)}

/* Create a client. `opts` may be NULL (all defaults). Does not contact Kafka yet:
 * the first call that needs the brokers reports SANDQ_E_KAFKA if they cannot be
 * reached. Returns NULL on failure (bad option, librdkafka refused the
 * configuration) with *err filled.
 * Thread safety: any thread. */
SANDQ_API sandq_client_t *sandq_client_new(const sandq_client_opts *opts, sandq_error *err);

/* Flush outstanding requests (up to 5 s) and free the client. NULL is a no-op.
 * No other call on this client (or its tasks or subscriptions, which must be freed
 * first) may be running. */
SANDQ_API void sandq_client_free(sandq_client_t *client);

/* Tell the client which region a sandbox was created in, so later requests for it go
 * to the same topic (PROTOCOL.md: every later request goes to the topic its create went
 * to). Sandboxes created by this client are remembered automatically; use this for
 * sandboxes created elsewhere. region NULL or "" → `<prefix>.requests`.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_client_set_sandbox_region(sandq_client_t *client, const char *sandbox_id,
                                                     const char *region, sandq_error *err);

/* Write a fresh sandbox id ("sbx_" + ULID) into out. Thread safety: any thread. */
SANDQ_API void sandq_new_sandbox_id(char out[SANDQ_ID_MAX]);

/* Free memory returned by libsandq (sandq_files_read's buffer). NULL is a no-op. */
SANDQ_API void sandq_free(void *p);

/* ------------------------------------------------------------------------- */
/* Sandboxes                                                                  */
/* ------------------------------------------------------------------------- */

typedef struct sandq_create_opts {
    size_t struct_size;   /* SANDQ_CREATE_OPTS_INIT sets it: see "Option structs" above */
    /* The sandbox id. NULL → a fresh "sbx_…" id (returned in sandq_sandbox.id). */
    const char *sandbox_id;
    /* Region. NULL → the client's region. "" → none, even if the client has one. */
    const char *region;
    /* "base", "python", "node" or "bun". NULL → not sent (worker default "base"). */
    const char *runtime;
    /* Environment of the sandbox: NULL-terminated list of "KEY=VALUE". May be NULL. */
    const char *const *env;
    /* "none" or "internet". NULL → not sent (worker default). */
    const char *network;
    /* Limits; 0 → not sent (worker default). */
    int64_t memory_mb;
    double cpus;
    int64_t pids;
    int64_t disk_mb;
    /* Lifetime in ms (paused time does not count). 0 → not sent (worker default). */
    int64_t timeout_ms;
    /* Idle timeout in ms. 0 → not sent. */
    int64_t idle_timeout_ms;
    /* Extra topic that also receives this sandbox's events. NULL → none. */
    const char *reply_to;
    /* Request metadata, echoed on every event the request causes: NULL-terminated
     * "KEY=VALUE" list. May be NULL. */
    const char *const *metadata;
    /* A JSON object merged into the request body after the fields above (for body
     * fields without a dedicated option: capabilities, webhook, onTimeout …).
     * NULL → nothing. Invalid JSON → SANDQ_E_BAD_ARGUMENT. */
    const char *body_json;
    /* Automatic checkpoints (docs/checkpoints.md): > 0 sends checkpoint
     * {auto: true, intervalMs: this}; 0 → not sent (none). The worker bounds it
     * (SANDQ_CHECKPOINT_AUTO_MIN_MS/MAX_MS): outside, the create is rejected. */
    int64_t auto_checkpoint_ms;
} sandq_create_opts;
#define SANDQ_CREATE_OPTS_INIT {.struct_size = sizeof(sandq_create_opts)}

/* What a create/launch/wait_ready call learned about a sandbox. */
typedef struct sandq_sandbox {
    char id[SANDQ_ID_MAX];
    char state[16];      /* "queued" after sandq_create; "ready" after launch/wait_ready */
    char region[16];     /* region requested (create) or reported by the worker (ready); "" if none */
    char worker_id[64];  /* the worker that owns it, once known; else "" */
    char request_id[SANDQ_ID_MAX]; /* the create request's id (sandq_create/launch), else "" */
} sandq_sandbox;

/* Publish a sandbox.create request and return once Kafka acknowledged it (acks=all).
 * out->state is "queued": the sandbox is not ready yet (use sandq_wait_ready, or
 * sandq_launch). Deadline: the client timeout. `opts` may be NULL. `out` may be NULL.
 * Errors: SANDQ_E_BAD_ARGUMENT, SANDQ_E_KAFKA, SANDQ_E_WAIT_TIMEOUT (no delivery report in time).
 * Thread safety: any thread, concurrently with other calls on the client. */
SANDQ_API sandq_code sandq_create(sandq_client_t *client, const sandq_create_opts *opts, sandq_sandbox *out,
                                  sandq_error *err);

/* sandq_create, then wait until the sandbox is ready (`sandbox.ready`).
 * timeout_ms bounds the whole call (0 → client timeout).
 * Errors: as sandq_create, plus the rejection's code (request.rejected for this
 * request, e.g. SANDQ_E_SANDBOX_EXISTS, SANDQ_E_INVALID_REQUEST), SANDQ_E_SANDBOX_FAILED
 * (sandbox.failed; err->reason and err->message from it), SANDQ_E_WAIT_TIMEOUT.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_launch(sandq_client_t *client, const sandq_create_opts *opts, int64_t timeout_ms,
                                  sandq_sandbox *out, sandq_error *err);

/* Wait until the sandbox is ready (or active). Returns at once if it already is.
 * Reads the sandbox's partition from just before its create if this client created
 * it, else from shortly before the time encoded in its id, to learn its current
 * state. Errors: SANDQ_E_SANDBOX_FAILED, SANDQ_E_SANDBOX_ENDED, SANDQ_E_WAIT_TIMEOUT,
 * SANDQ_E_KAFKA, SANDQ_E_BAD_ARGUMENT (malformed id). `out` may be NULL.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_wait_ready(sandq_client_t *client, const char *sandbox_id, int64_t timeout_ms,
                                      sandq_sandbox *out, sandq_error *err);

/* Publish sandbox.kill and wait for `sandbox.ended`. Errors: the rejection's code
 * (SANDQ_E_SANDBOX_NOT_FOUND, SANDQ_E_INVALID_STATE when it already ended, …),
 * SANDQ_E_SANDBOX_FAILED, SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_kill(sandq_client_t *client, const char *sandbox_id, int64_t timeout_ms,
                                sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Exec                                                                       */
/* ------------------------------------------------------------------------- */

typedef struct sandq_task sandq_task_t;

typedef enum sandq_stream {
    SANDQ_STDOUT = 1,
    SANDQ_STDERR = 2,
} sandq_stream;

/* Called with each piece of output, in order, exactly once per byte (duplicates from
 * a replayed task are dropped). Runs in the thread that called sandq_exec or
 * sandq_task_wait. */
typedef void (*sandq_output_fn)(void *user, sandq_stream stream, const void *bytes, size_t len);

typedef struct sandq_exec_opts {
    size_t struct_size;   /* SANDQ_EXEC_OPTS_INIT sets it: see "Option structs" above */
    /* Working directory inside the sandbox. NULL → /workspace. */
    const char *cwd;
    /* Extra environment: NULL-terminated "KEY=VALUE" list. May be NULL. */
    const char *const *env;
    /* Bytes for the command's stdin, sent with the request: the whole input must fit
     * in one request (the worker's limit, 1 MiB by default). NULL/0 → empty stdin. */
    const void *stdin_data;
    size_t stdin_len;
    /* Task timeout enforced by the worker, in ms (the command is killed and the task
     * fails with SANDQ_E_TIMED_OUT). 0 → not sent (worker default). */
    int64_t timeout_ms;
    /* How long sandq_exec waits. 0 → timeout_ms + 30 s if timeout_ms is set, else the
     * client timeout. (sandq_exec_start ignores this; sandq_task_wait takes its own.) */
    int64_t wait_ms;
    /* Output callback and its argument. NULL → output is discarded. */
    sandq_output_fn on_output;
    void *user;
    /* Request metadata: NULL-terminated "KEY=VALUE" list. May be NULL. */
    const char *const *metadata;
} sandq_exec_opts;
#define SANDQ_EXEC_OPTS_INIT {.struct_size = sizeof(sandq_exec_opts)}

typedef struct sandq_task_result {
    int exit_code;           /* the command's exit status (127: command not found) */
    int64_t duration_ms;     /* as reported by the worker */
} sandq_task_result;

/* Run argv[0] with arguments argv[1..] (NULL-terminated) in the sandbox and wait for it.
 * Output streams to opts->on_output while it runs. On SANDQ_OK, *exit_code (may be NULL)
 * is the command's exit status — a non-zero exit is still SANDQ_OK.
 * Errors: the rejection's code (SANDQ_E_SANDBOX_NOT_FOUND, SANDQ_E_INVALID_STATE, …),
 * the task failure's code (SANDQ_E_TIMED_OUT, SANDQ_E_CANCELED, SANDQ_E_INTERNAL, …),
 * SANDQ_E_SANDBOX_ENDED, SANDQ_E_WAIT_TIMEOUT (the task keeps running; it is not
 * canceled), SANDQ_E_KAFKA.
 * Thread safety: any thread; the callback runs in the calling thread. */
SANDQ_API sandq_code sandq_exec(sandq_client_t *client, const char *sandbox_id, const char *const *argv,
                                const sandq_exec_opts *opts, int *exit_code, sandq_error *err);

/* Asynchronous exec: publish the task.exec request and return once Kafka acknowledged
 * it; *task receives a handle to wait on (free it with sandq_task_free). The output
 * callback in opts is kept and called from sandq_task_wait.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_exec_start(sandq_client_t *client, const char *sandbox_id, const char *const *argv,
                                      const sandq_exec_opts *opts, sandq_task_t **task, sandq_error *err);

/* Wait up to timeout_ms (0 → client timeout; may be short, e.g. 100, to poll) for the
 * task to finish, delivering output meanwhile. SANDQ_OK: finished, *result filled
 * (may be NULL). SANDQ_E_WAIT_TIMEOUT: still running; call again. Any other code: the
 * task failed or was rejected (stable: later calls return the same).
 * Thread safety: one thread at a time per task. */
SANDQ_API sandq_code sandq_task_wait(sandq_task_t *task, int64_t timeout_ms, sandq_task_result *result,
                                     sandq_error *err);

/* Ask the worker to cancel the task (task.cancel); returns once Kafka acknowledged it.
 * Keep calling sandq_task_wait: it ends with SANDQ_E_CANCELED (or the task's normal end
 * if it finished first). Thread safety: one thread at a time per task. */
SANDQ_API sandq_code sandq_task_cancel(sandq_task_t *task, sandq_error *err);

/* Cancel a task of the sandbox by its id (task.cancel), for example one that another
 * client or process started, and wait until it ends: SANDQ_OK once the task ended
 * `canceled` (a running one stopped, a queued one that will never start);
 * SANDQ_E_INVALID_STATE when it had already ended, or ended otherwise before the
 * cancel reached it; SANDQ_E_NOT_FOUND for a task the sandbox never had;
 * SANDQ_E_WAIT_TIMEOUT when no answer came in timeout_ms (0: client timeout). */
SANDQ_API sandq_code sandq_cancel(sandq_client_t *client, const char *sandbox_id, const char *task_id,
                                  int64_t timeout_ms, sandq_error *err);

/* The task's id ("tsk_…"); valid until sandq_task_free. */
SANDQ_API const char *sandq_task_id(const sandq_task_t *task);

/* Free a task handle (does not cancel the task). NULL is a no-op. */
SANDQ_API void sandq_task_free(sandq_task_t *task);

/* ------------------------------------------------------------------------- */
/* Files (paths are inside /workspace; relative paths are relative to it)     */
/* ------------------------------------------------------------------------- */

typedef struct sandq_write_opts {
    size_t struct_size;   /* SANDQ_WRITE_OPTS_INIT sets it: see "Option structs" above */
    /* File mode for a new file (e.g. 0644). 0 → not sent (worker default). */
    uint32_t mode;
    /* Longest wait for any one chunk's acknowledgement, in ms (so any file size
     * works). 0 → client timeout. */
    int64_t timeout_ms;
} sandq_write_opts;
#define SANDQ_WRITE_OPTS_INIT {.struct_size = sizeof(sandq_write_opts)}

typedef struct sandq_write_result {
    int64_t size_bytes;   /* file size after the write, as reported by the worker */
    char sha256[65];      /* sha256 (hex) of all bytes written, computed locally */
    int chunks;           /* number of files.write requests sent */
} sandq_write_result;

/* Write len bytes (any size, 0 allowed) to path, creating or truncating the file.
 * Splits the data into ordered chunks of ≤ 512 KiB (one files.write request each; the
 * first truncates, the rest carry their offset), keeps a few in flight, and checks each
 * chunk's sha256 and the final size against the workers' results.
 * Errors: the rejection's or task failure's code (SANDQ_E_PATH_OUTSIDE_WORKSPACE,
 * SANDQ_E_INVALID_STATE, …), SANDQ_E_INTEGRITY, SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA.
 * On error the file may be partly written. opts and result may be NULL.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_files_write(sandq_client_t *client, const char *sandbox_id, const char *path,
                                       const void *data, size_t len, const sandq_write_opts *opts,
                                       sandq_write_result *result, sandq_error *err);

typedef struct sandq_read_opts {
    size_t struct_size;   /* SANDQ_READ_OPTS_INIT sets it: see "Option structs" above */
    int64_t offset;       /* first byte to read. 0 → start of file */
    int64_t length;       /* bytes to read. 0 → to the end of the file */
    /* Refuse (SANDQ_E_LIMIT_EXCEEDED) a read returning more than this. 0 → 256 MiB. */
    size_t max_bytes;
    /* Longest wait for the next chunk, in ms. 0 → client timeout. */
    int64_t timeout_ms;
} sandq_read_opts;
#define SANDQ_READ_OPTS_INIT {.struct_size = sizeof(sandq_read_opts)}

typedef struct sandq_read_result {
    int64_t size_bytes;   /* whole file size */
    int64_t offset;       /* where the returned bytes start */
    char sha256[65];      /* sha256 (hex) of the returned bytes, verified */
} sandq_read_result;

/* Read a file into a new buffer: *data (free with sandq_free; NUL-terminated for
 * convenience, the NUL not counted) and *len. A worker returns at most its read cap
 * per request (SANDQ_FILES_READ_MAX_BYTES, default 4 MiB), so the file is read as
 * ranges of at most 4 MiB, one files.read each, until `length` or the end of the file;
 * each range's ordered `data` chunks are reassembled and their length and sha256
 * verified against that range's result. A file that changes between ranges is read
 * as it is at each range.
 * Errors: SANDQ_E_NOT_FOUND, SANDQ_E_PATH_OUTSIDE_WORKSPACE, SANDQ_E_LIMIT_EXCEEDED,
 * SANDQ_E_INTEGRITY, SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA, … opts and result may be NULL.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_files_read(sandq_client_t *client, const char *sandbox_id, const char *path,
                                      const sandq_read_opts *opts, void **data, size_t *len,
                                      sandq_read_result *result, sandq_error *err);

/* Paths passed to sandq_files_* are bytes, like file names: one that is not UTF-8
 * travels as the request's pathB64. Listed names and paths are bytes too (a name
 * that is not UTF-8 comes from the worker as nameB64/pathB64 and is decoded here). */
typedef struct sandq_file_entry {
    const char *name;     /* "main.py" */
    const char *path;     /* relative to /workspace: "src/main.py" */
    const char *type;     /* "file", "dir", "symlink" or "other" */
    int64_t size_bytes;
    uint32_t mode;        /* mode bits as reported by the worker (e.g. 0644) */
    int64_t mtime;        /* epoch ms */
} sandq_file_entry;

typedef struct sandq_file_list {
    size_t count;
    sandq_file_entry *entries;
    const char *json;     /* the task's whole `result` object as compact JSON */
} sandq_file_list;

/* List a directory (path NULL → /workspace), recursively if `recursive`. *out is freed
 * with sandq_file_list_free. The worker answers a page at a time (≤ 1000 entries each);
 * this follows every page (one files.list request each) and returns the whole listing,
 * sorted by path. timeout_ms 0 → client timeout, for each page.
 * Errors: SANDQ_E_NOT_FOUND, SANDQ_E_PATH_OUTSIDE_WORKSPACE, SANDQ_E_WAIT_TIMEOUT, …
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_files_list(sandq_client_t *client, const char *sandbox_id, const char *path,
                                      int recursive, int64_t timeout_ms, sandq_file_list **out,
                                      sandq_error *err);
SANDQ_API void sandq_file_list_free(sandq_file_list *list);

/* Remove a file, or a directory tree with `recursive`. A missing path is
 * SANDQ_E_NOT_FOUND. timeout_ms 0 → client timeout. Thread safety: any thread. */
SANDQ_API sandq_code sandq_files_remove(sandq_client_t *client, const char *sandbox_id, const char *path,
                                        int recursive, int64_t timeout_ms, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Events                                                                     */
/* ------------------------------------------------------------------------- */

typedef struct sandq_sub sandq_sub_t;

/* One event. All pointers are owned by the subscription and valid until the next
 * sandq_events_next or sandq_events_close on it. Absent strings are "". */
typedef struct sandq_event {
    const char *json;         /* the raw event envelope, as received (NUL-terminated) */
    size_t json_len;
    const char *type;         /* "sandbox.ready" */
    const char *event_id;
    const char *sandbox_id;
    const char *task_id;
    const char *request_id;
    const char *state;        /* data.state for lifecycle events, else "" */
    const char *data_json;    /* the `data` object as compact JSON */
    int64_t seq;
    int64_t at;               /* epoch ms */
    int32_t partition;        /* where it was read from */
    int64_t offset;
} sandq_event;

/* Subscribe to `<prefix>.events`: only sandbox_id's events (reading just its partition)
 * or, with sandbox_id NULL, every sandbox's (all partitions). Starts at the current end
 * of the topic (concrete offsets taken now: nothing published after this call returns
 * is missed), or at the beginning with from_beginning. No consumer group is joined and
 * no offsets are committed. Thread safety: any thread. */
SANDQ_API sandq_code sandq_events_open(sandq_client_t *client, const char *sandbox_id, int from_beginning,
                                       sandq_sub_t **out, sandq_error *err);

/* Next event, waiting up to timeout_ms (0 → return at once if none is buffered).
 * SANDQ_OK: *ev filled. SANDQ_E_WAIT_TIMEOUT: nothing arrived (not fatal; call again).
 * A message that is not a valid event envelope is skipped.
 * Thread safety: one thread at a time per subscription. */
SANDQ_API sandq_code sandq_events_next(sandq_sub_t *sub, int64_t timeout_ms, sandq_event *ev, sandq_error *err);

/* 1 if every subscribed partition has been read up to its end (as of the last
 * sandq_events_next), else 0. Lets a caller print "what is there" and stop. */
SANDQ_API int sandq_events_caught_up(const sandq_sub_t *sub);

/* Close a subscription. NULL is a no-op. */
SANDQ_API void sandq_events_close(sandq_sub_t *sub);

/* Like sandq_events_open, but start at the first event published at or after
 * since_ms (epoch ms; Kafka's timestamp index), then follow. One subscription with
 * sandbox_id NULL is how a process waits on thousands of sandboxes with a single
 * consumer (the batch command does this): route events by ev->sandbox_id.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_events_open_since(sandq_client_t *client, const char *sandbox_id, int64_t since_ms,
                                             sandq_sub_t **out, sandq_error *err);

/* Wait until each of ids[0..n) is ready, with ONE consumer for all of them (however
 * many: thousands are fine) instead of one per sandbox. Reads every partition of the
 * events topic from since_ms (epoch ms; 0 → from shortly before the earliest time in
 * the ids, as sandq_wait_ready does) and decides each sandbox once everything up to
 * the present has been read, so an old `ready` never hides a later `ended`.
 * codes (may be NULL; n entries) gets each sandbox's outcome: SANDQ_OK (ready or
 * active), SANDQ_E_SANDBOX_FAILED, SANDQ_E_SANDBOX_ENDED, or SANDQ_E_WAIT_TIMEOUT
 * (undecided at the deadline). Returns SANDQ_OK when all are ready, else the first
 * non-OK code in ids order, with err about that sandbox. timeout_ms bounds the
 * whole call (0 → client timeout). Thread safety: any thread. */
SANDQ_API sandq_code sandq_wait_ready_many(sandq_client_t *client, const char *const *ids, size_t n, int64_t since_ms,
                                           int64_t timeout_ms, sandq_code *codes, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* More lifecycle: pause, resume, set_timeout                                 */
/* ------------------------------------------------------------------------- */

/* Publish sandbox.pause (body.persist when `persist`) and wait for `sandbox.paused`.
 * Errors: the rejection's code (SANDQ_E_INVALID_STATE when not ready/active,
 * SANDQ_E_CAPABILITY_DISABLED from a worker that cannot pause yet, …),
 * SANDQ_E_INTERNAL when the worker could not freeze the sandbox and returned it
 * to ready (reason pause_failed, in err->message), SANDQ_E_SANDBOX_FAILED,
 * SANDQ_E_SANDBOX_ENDED, SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_pause(sandq_client_t *client, const char *sandbox_id, int persist, int64_t timeout_ms,
                                 sandq_error *err);

/* Publish sandbox.resume and wait for `sandbox.resumed` (or `sandbox.ready`). `out`
 * (may be NULL) gets the state and placement. Errors: as sandq_pause
 * (SANDQ_E_INVALID_STATE unless paused). Thread safety: any thread. */
SANDQ_API sandq_code sandq_resume(sandq_client_t *client, const char *sandbox_id, int64_t timeout_ms,
                                  sandq_sandbox *out, sandq_error *err);

/* Publish sandbox.setTimeout {timeoutMs: lifetime_ms}. The protocol has no event that
 * acknowledges it, so after Kafka's acknowledgement the call watches the sandbox's
 * partition for wait_ms (0 → 2000) and fails only if the worker rejects the request in
 * that time (e.g. SANDQ_E_SANDBOX_NOT_FOUND, SANDQ_E_CAPABILITY_DISABLED); SANDQ_OK
 * means "published, not rejected within wait_ms". Thread safety: any thread. */
SANDQ_API sandq_code sandq_set_timeout(sandq_client_t *client, const char *sandbox_id, int64_t lifetime_ms,
                                       int64_t wait_ms, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Code                                                                       */
/* ------------------------------------------------------------------------- */

typedef struct sandq_code_opts {
    size_t struct_size;   /* SANDQ_CODE_OPTS_INIT sets it: see "Option structs" above */
    /* "python", "javascript", "typescript" or "bash". NULL → not sent (the worker picks
     * the sandbox runtime's language). */
    const char *language;
    /* Task timeout enforced by the worker, ms. 0 → not sent. */
    int64_t timeout_ms;
    /* How long sandq_run_code waits; 0 → as sandq_exec_opts.wait_ms. */
    int64_t wait_ms;
    sandq_output_fn on_output;
    void *user;
    /* Request metadata: NULL-terminated "KEY=VALUE" list. May be NULL. */
    const char *const *metadata;
} sandq_code_opts;
#define SANDQ_CODE_OPTS_INIT {.struct_size = sizeof(sandq_code_opts)}

/* Run source code (task.code) and wait; output streams to opts->on_output. *exit_code
 * is the interpreter's exit status (non-zero is still SANDQ_OK). Errors as sandq_exec.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_run_code(sandq_client_t *client, const char *sandbox_id, const char *code,
                                    const sandq_code_opts *opts, int *exit_code, sandq_error *err);
/* Asynchronous form: returns a task handle once Kafka acknowledged the request; wait
 * with sandq_task_wait. Thread safety: any thread. */
SANDQ_API sandq_code sandq_run_code_start(sandq_client_t *client, const char *sandbox_id, const char *code,
                                          const sandq_code_opts *opts, sandq_task_t **task, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Browser (a sandbox created with capabilities.browser; docs/browser.md)     */
/* ------------------------------------------------------------------------- */

typedef struct sandq_browser_opts {
    size_t struct_size;   /* SANDQ_BROWSER_OPTS_INIT sets it: see "Option structs" above */
    /* The task's timeoutMs for the whole list of actions. 0 → not sent (worker
     * default, 60 s). */
    int64_t timeout_ms;
    /* How long sandq_browser_run waits; 0 → timeout_ms + 30 s if timeout_ms is set,
     * else 90 s. */
    int64_t wait_ms;
} sandq_browser_opts;
#define SANDQ_BROWSER_OPTS_INIT {.struct_size = sizeof(sandq_browser_opts)}

/* Run a task.browser: actions_json is the request's `actions` array as JSON text, e.g.
 * [{"op":"goto","url":"file:///workspace/a.html"},{"op":"evaluate","expression":"document.title"}]
 * (PROTOCOL.md lists the ops). On SANDQ_OK, *result_json (may be NULL; free with
 * sandq_free) is the completed task's `result` as JSON text: {"actions":[{"index",
 * "op", …}, …]}. When an action fails the task fails: the code is the failure's
 * (SANDQ_E_NOT_FOUND for a selector that matches nothing, SANDQ_E_TIMED_OUT, …),
 * err->message starts with the action ("action 1 (click #x) failed: …") and
 * err->reason says why ("selector_not_found", "evaluate_threw", "browser_exited", …).
 * Errors also: SANDQ_E_CAPABILITY_DISABLED (a sandbox without a browser),
 * SANDQ_E_BAD_ARGUMENT (actions_json not a JSON array), the rejection's code,
 * SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA. `opts` may be NULL. Thread safety: any thread. */
SANDQ_API sandq_code sandq_browser_run(sandq_client_t *client, const char *sandbox_id, const char *actions_json,
                                       const sandq_browser_opts *opts, char **result_json, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Agent (a sandbox created with capabilities.agent; docs/agent.md)           */
/* ------------------------------------------------------------------------- */

/* Called with each sandbox.task.progress of an agent task as JSON text:
 * {"kind":"agent","step":N,"tool":"write","summary":"write report.md",
 *  "tokens":{"prompt":…,"completion":…},"totalTokens":…}. Runs in the thread
 * that called sandq_prompt / sandq_prompt_wait. */
typedef void (*sandq_progress_fn)(void *user, const char *progress_json);

typedef struct sandq_prompt_opts {
    size_t struct_size;   /* SANDQ_PROMPT_OPTS_INIT sets it: see "Option structs" above */
    /* "build" (all tools) or "plan" (read-only). NULL → the sandbox's defaultAgent. */
    const char *agent;
    /* A model id for this task. NULL → the sandbox env's OPENROUTER_MODEL. */
    const char *model;
    /* Model turns with tool calls before one last text-only turn. 0 → worker default (50). */
    int max_steps;
    /* The task's timeoutMs. 0 → not sent (the worker's SANDQ_AGENT_TIMEOUT_MS, 30 min). */
    int64_t timeout_ms;
    /* How long sandq_prompt waits; 0 → timeout_ms + 30 s if timeout_ms is set, else
     * 31 minutes. (sandq_prompt_wait takes its own.) */
    int64_t wait_ms;
    /* Progress callback and its argument. NULL → progress is not reported. */
    sandq_progress_fn on_progress;
    void *user;
    /* Request metadata: NULL-terminated "KEY=VALUE" list. May be NULL. */
    const char *const *metadata;
} sandq_prompt_opts;
#define SANDQ_PROMPT_OPTS_INIT {.struct_size = sizeof(sandq_prompt_opts)}

/* Queue a task.agent with this prompt and return once Kafka acknowledged it; wait
 * with sandq_prompt_wait (or sandq_task_wait), cancel with sandq_task_cancel, free
 * with sandq_task_free. Thread safety: any thread. */
SANDQ_API sandq_code sandq_prompt_async(sandq_client_t *client, const char *sandbox_id, const char *prompt,
                                        const sandq_prompt_opts *opts, sandq_task_t **task, sandq_error *err);
/* Wait up to timeout_ms (0 → client timeout) for the agent task to end, reporting
 * progress meanwhile. On SANDQ_OK, *result_json (may be NULL; free with sandq_free)
 * is the completed task's result: {"answer", "agent", "model", "stopReason",
 * "steps", "usage" {promptTokens, completionTokens, totalTokens, cost?},
 * "filesChanged" […], "title"?}. SANDQ_E_WAIT_TIMEOUT: still running, call again. A failed
 * task returns its code with err->reason: SANDQ_E_CAPABILITY_DISABLED
 * (agent_not_configured: the env lacks the key or model), SANDQ_E_CAPABILITY_UNAVAILABLE
 * (model_rejected, model_unavailable, model_error, model_unreachable,
 * model_endpoint_refused), SANDQ_E_LIMIT_EXCEEDED (token_limit), SANDQ_E_TIMED_OUT,
 * SANDQ_E_CANCELED. Thread safety: one thread at a time per task. */
SANDQ_API sandq_code sandq_prompt_wait(sandq_task_t *task, int64_t timeout_ms, char **result_json,
                                       sandq_error *err);
/* sandq_prompt_async + sandq_prompt_wait (opts->wait_ms) + sandq_task_free. */
SANDQ_API sandq_code sandq_prompt(sandq_client_t *client, const char *sandbox_id, const char *prompt,
                                  const sandq_prompt_opts *opts, char **result_json, sandq_error *err);
/* An agent task's transcript from PostgreSQL (table agent_transcripts, secrets
 * redacted): *json (free with sandq_free) is {"taskId", "sandboxId", "agent",
 * "model", "steps", "createdAt", "transcript": {"agent", "model", "outcome",
 * "messages": […], "truncated"?}}. SANDQ_E_NOT_FOUND when there is none (yet: it is
 * written when the task ends), SANDQ_E_FORBIDDEN for another tenant's sandbox,
 * SANDQ_E_DATABASE. Thread safety: any thread. */
SANDQ_API sandq_code sandq_agent_transcript(sandq_client_t *client, const char *task_id, char **json,
                                            sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Documents (a sandbox created with capabilities.documents; docs/documents.md) */
/* ------------------------------------------------------------------------- */

typedef struct sandq_document_opts {
    size_t struct_size;   /* SANDQ_DOCUMENT_OPTS_INIT sets it: see "Option structs" above */
    /* Directory for the output inside /workspace (made if missing). NULL → the
     * input's directory. */
    const char *outdir;
    /* The conversion's timeoutMs. 0 → not sent (worker default, 120 s). */
    int64_t timeout_ms;
    /* How long sandq_document_convert waits; 0 → timeout_ms + 30 s if timeout_ms is
     * set, else 150 s. */
    int64_t wait_ms;
} sandq_document_opts;
#define SANDQ_DOCUMENT_OPTS_INIT {.struct_size = sizeof(sandq_document_opts)}

/* What a task.document produced (its sandbox.document.converted). */
typedef struct sandq_document_result {
    char output[4400];    /* the file written, absolute in the sandbox: "/workspace/out/report.pdf" */
    char from[17];        /* the input's format: "docx" */
    char format[17];      /* the output's: "pdf" */
    int64_t size_bytes;
    char sha256[65];      /* hex, of the output as the worker read it */
    int64_t duration_ms;  /* the converter's running time in the sandbox */
} sandq_document_result;

/* Convert a workspace file (task.document): `input` names its format by its extension
 * (docx, odt, html, md, xlsx, ods, csv, pptx, pdf), `to` the target (pdf, odt, docx,
 * ods, xlsx, csv, txt; which depend on the input). The output stays in the sandbox;
 * fetch it with sandq_files_read(result->output). Errors: SANDQ_E_CAPABILITY_DISABLED
 * (a sandbox without documents), SANDQ_E_INVALID_REQUEST (an unsupported pair, field
 * body.to; a damaged input, err->reason "conversion_failed"), SANDQ_E_NOT_FOUND,
 * SANDQ_E_PATH_OUTSIDE_WORKSPACE, SANDQ_E_TIMED_OUT, SANDQ_E_LIMIT_EXCEEDED
 * (out of memory), SANDQ_E_CANCELED, SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA. opts and
 * result may be NULL. Thread safety: any thread. */
SANDQ_API sandq_code sandq_document_convert(sandq_client_t *client, const char *sandbox_id, const char *input,
                                            const char *to, const sandq_document_opts *opts,
                                            sandq_document_result *result, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Checkpoints (docs/checkpoints.md)                                          */
/* ------------------------------------------------------------------------- */

typedef struct sandq_checkpoint_opts {
    size_t struct_size;   /* SANDQ_CHECKPOINT_OPTS_INIT sets it: see "Option structs" above */
    /* create: the checkpoint's label (NULL: none) and its id ("" or NULL: a new
     * chk_ ULID, written to checkpoint_id_out). */
    const char *label;
    const char *checkpoint_id;
    /* How long the call waits for the task's outcome; 0 → 600 s (an archive of a
     * large workspace takes a while). */
    int64_t wait_ms;
} sandq_checkpoint_opts;
#define SANDQ_CHECKPOINT_OPTS_INIT {.struct_size = sizeof(sandq_checkpoint_opts)}

/* checkpoint.create: archive the sandbox's workspace (its browser profile included)
 * into the workers' artifact store. checkpoint_id_out (may be NULL) gets the id;
 * *result_json (may be NULL; free with sandq_free) the completed task's result:
 * {"checkpointId", "label"?, "sizeBytes", "durationMs", "sha256", "storeUrl",
 * "expired": [ids removed by retention]}. Errors: the task's code (SANDQ_E_CANCELED
 * on a kill, SANDQ_E_LIMIT_EXCEEDED over SANDQ_CHECKPOINT_MAX_BYTES), a rejection's
 * (SANDQ_E_INVALID_STATE while paused), SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA.
 * `opts` may be NULL. Thread safety: any thread. */
SANDQ_API sandq_code sandq_checkpoint_create(sandq_client_t *client, const char *sandbox_id,
                                             const sandq_checkpoint_opts *opts, char checkpoint_id_out[SANDQ_ID_MAX],
                                             char **result_json, sandq_error *err);
/* checkpoint.restore: replace the workspace with a checkpoint's and restart the
 * sandbox's browser. An id this sandbox does not have (never made, removed by
 * retention) is SANDQ_E_CHECKPOINT_NOT_FOUND. */
SANDQ_API sandq_code sandq_checkpoint_restore(sandq_client_t *client, const char *sandbox_id,
                                              const char *checkpoint_id, const sandq_checkpoint_opts *opts,
                                              char **result_json, sandq_error *err);
/* checkpoints.list: *result_json gets {"checkpoints": [{"checkpointId", "label"?,
 * "sizeBytes", "sha256", "durationMs", "createdAt"}, …] newest first, "keep": N}. */
SANDQ_API sandq_code sandq_checkpoints_list(sandq_client_t *client, const char *sandbox_id,
                                            const sandq_checkpoint_opts *opts, char **result_json, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Hand-offs (docs/handoff.md)                                                */
/* ------------------------------------------------------------------------- */

typedef struct sandq_handoff_opts {
    size_t struct_size;        /* SANDQ_HANDOFF_OPTS_INIT sets it: see "Option structs" above */
    /* sandq_handoff_request: what the agent does once control returns (NULL → none). */
    const char *resume_prompt;
    /* sandq_handoff_request: how long the hand-off may stay open; 0 → the worker's
     * default, 15 minutes. Past it the hand-off is `expired` and control returns to ai. */
    int64_t expires_in_ms;
    /* sandq_handoff_request: "sdk" (NULL) or "dashboard". */
    const char *requested_by;
    /* sandq_handoff_accept: "human" (NULL; the agent may not act) or "shared". */
    const char *control_mode;
    /* sandq_handoff_complete: the person's note for the agent (NULL → none). */
    const char *note;
    /* How long the call waits for its event; 0 → the client's timeout. */
    int64_t wait_ms;
} sandq_handoff_opts;
#define SANDQ_HANDOFF_OPTS_INIT {.struct_size = sizeof(sandq_handoff_opts)}

/* Ask a person to take over sandbox_id (handoff.request). handoff_id NULL → a new
 * hnd_ id. reason: mfa, captcha, approval, login_failed, ambiguous_ui, file_download
 * or custom. On success *handoff_json (free with sandq_free; may be NULL if not
 * wanted) is the sandbox.handoff.requested event's data: {handoffId, status
 * "pending", reason, message, requestedBy, requestedAt, expiresAt, controlMode, …}.
 * Errors: the request's rejection (SANDQ_E_INVALID_STATE while another hand-off is
 * open), SANDQ_E_WAIT_TIMEOUT, SANDQ_E_KAFKA, SANDQ_E_BAD_ARGUMENT. Any thread. */
SANDQ_API sandq_code sandq_handoff_request(sandq_client_t *client, const char *sandbox_id, const char *handoff_id,
                                           const char *reason, const char *message, const sandq_handoff_opts *opts,
                                           char **handoff_json, sandq_error *err);
/* A person (controller) takes over a pending hand-off: controlMode becomes human (or
 * opts->control_mode "shared"). *handoff_json: the sandbox.handoff.accepted data.
 * Errors as above, and SANDQ_E_HANDOFF_NOT_FOUND. */
SANDQ_API sandq_code sandq_handoff_accept(sandq_client_t *client, const char *sandbox_id, const char *handoff_id,
                                          const char *controller, const sandq_handoff_opts *opts,
                                          char **handoff_json, sandq_error *err);
/* The person is done (an accepted hand-off): control returns to ai; opts->note is
 * passed on. *handoff_json: the sandbox.handoff.completed data. */
SANDQ_API sandq_code sandq_handoff_complete(sandq_client_t *client, const char *sandbox_id, const char *handoff_id,
                                            const sandq_handoff_opts *opts, char **handoff_json, sandq_error *err);
/* Withdraw a pending or accepted hand-off: control returns to ai.
 * *handoff_json: the sandbox.handoff.cancelled data. */
SANDQ_API sandq_code sandq_handoff_cancel(sandq_client_t *client, const char *sandbox_id, const char *handoff_id,
                                          const sandq_handoff_opts *opts, char **handoff_json, sandq_error *err);
/* The sandbox's hand-offs from PostgreSQL (client opts.database_url), oldest first,
 * as a JSON array of the hand-offs as their latest events carried them (free with
 * sandq_free). Another tenant's sandbox is SANDQ_E_FORBIDDEN; an unknown one
 * SANDQ_E_SANDBOX_NOT_FOUND. Errors: SANDQ_E_DATABASE. Any thread. */
SANDQ_API sandq_code sandq_handoff_list(sandq_client_t *client, const char *sandbox_id, char **handoffs_json,
                                        sandq_error *err);

typedef struct sandq_preview_opts {
    size_t struct_size;   /* SANDQ_PREVIEW_OPTS_INIT sets it: see "Option structs" above */
    /* 0 → a view-only URL; 1 → a control URL (input is accepted only while an accepted
     * hand-off lets a person act). */
    int control;
    /* How long the URL is valid; 0 → 1 hour; at most 24 hours. */
    int64_t ttl_ms;
    /* How long the call waits for the worker's answer; 0 → the client's timeout. */
    int64_t wait_ms;
} sandq_preview_opts;
#define SANDQ_PREVIEW_OPTS_INIT {.struct_size = sizeof(sandq_preview_opts)}

/* A signed, expiring URL of sandbox_id's live browser preview (preview.url), served
 * by the sandbox's worker at its SANDQ_PUBLIC_URL. *url: free with sandq_free;
 * *expires_at (may be NULL): epoch ms. A sandbox without a browser is
 * SANDQ_E_CAPABILITY_DISABLED. Errors as sandq_handoff_request. Any thread. */
SANDQ_API sandq_code sandq_preview_url(sandq_client_t *client, const char *sandbox_id, const sandq_preview_opts *opts,
                                       char **url, int64_t *expires_at, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Live state (Redis) and history (PostgreSQL)                                */
/* ------------------------------------------------------------------------- */

/* A sandbox as the workers' live state in Redis describes it
 * (`sandq:{sbx_…}:sandbox`, docs/internals.md). Absent fields are "" / 0. */
typedef struct sandq_sandbox_info {
    char id[SANDQ_ID_MAX];
    char state[16];
    char previous[16];
    char tenant[64];
    char region[16];
    char worker_id[64];
    char runtime[16];
    char reply_to[256];
    int64_t created_at;   /* epoch ms */
    int64_t updated_at;   /* epoch ms */
    int64_t seq;          /* last event seq used */
} sandq_sandbox_info;

/* Read one sandbox's live state from Redis (client opts.redis_url). Sandboxes of another
 * tenant are SANDQ_E_FORBIDDEN; an unknown id (or one whose state has expired) is
 * SANDQ_E_SANDBOX_NOT_FOUND. Errors: SANDQ_E_REDIS, SANDQ_E_BAD_ARGUMENT.
 * One short-lived Redis connection per call. Thread safety: any thread. */
SANDQ_API sandq_code sandq_get(sandq_client_t *client, const char *sandbox_id, sandq_sandbox_info *out,
                               sandq_error *err);

typedef struct sandq_list_opts {
    size_t struct_size;   /* SANDQ_LIST_OPTS_INIT sets it: see "Option structs" above */
    /* Only sandboxes in this state ("ready", "ended", …). NULL → any. */
    const char *state;
    /* 1 → every tenant's; 0 → only the client's tenant. */
    int all_tenants;
    /* Newest first, at most this many. 0 → 1000. */
    size_t limit;
} sandq_list_opts;
#define SANDQ_LIST_OPTS_INIT {.struct_size = sizeof(sandq_list_opts)}

/* List sandboxes from Redis (the `sandq:sandboxes` index, newest first). *out is an
 * array of *count entries, freed with sandq_free (NULL when *count is 0).
 * Errors: SANDQ_E_REDIS, SANDQ_E_BAD_ARGUMENT. Thread safety: any thread. */
SANDQ_API sandq_code sandq_list(sandq_client_t *client, const sandq_list_opts *opts, sandq_sandbox_info **out,
                                size_t *count, sandq_error *err);

typedef struct sandq_history_entry {
    int64_t seq;
    int64_t at;               /* epoch ms */
    const char *type;         /* "sandbox.ready" */
    const char *task_id;      /* "" if none */
    const char *request_id;   /* "" if none */
    const char *json;         /* the event envelope as recorded */
} sandq_history_entry;

typedef struct sandq_sandbox_history {
    const char *sandbox_json; /* the `sandboxes` row as a JSON object */
    const char *tasks_json;   /* the sandbox's `tasks` rows, a JSON array, oldest first */
    size_t count;             /* events, by seq */
    sandq_history_entry *entries;
} sandq_sandbox_history;

/* Read a sandbox's durable history from PostgreSQL (client opts.database_url): its
 * row, its tasks and every event recorded for it. Another tenant's sandbox is
 * SANDQ_E_FORBIDDEN; an unknown one SANDQ_E_SANDBOX_NOT_FOUND. Errors: SANDQ_E_DATABASE.
 * Free *out with sandq_history_free. Thread safety: any thread. */
SANDQ_API sandq_code sandq_history(sandq_client_t *client, const char *sandbox_id, sandq_sandbox_history **out,
                                   sandq_error *err);
SANDQ_API void sandq_history_free(sandq_sandbox_history *history);

/* Read a sandbox's audit trail from PostgreSQL (client opts.database_url; the
 * `audit` table, docs/recording.md): *rows_json gets a JSON array, oldest first,
 * of {seq, at (epoch ms), category, eventType, requestType, taskId, requestId,
 * detail}, secrets redacted; free it with sandq_free. *recording (may be NULL)
 * says whether the sandbox was created with capabilities.recording.enabled (if
 * not, the array is empty: nothing was recorded). Errors as sandq_history.
 * Thread safety: any thread. */
SANDQ_API sandq_code sandq_audit(sandq_client_t *client, const char *sandbox_id, char **rows_json, int *recording,
                                 sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Bulk publishing                                                            */
/* ------------------------------------------------------------------------- */

/* Called once per sandq_publish'ed request, from sandq_poll/sandq_flush, with
 * SANDQ_OK once the broker acknowledged it (acks=all, idempotent producer) or the
 * failure (SANDQ_E_KAFKA, SANDQ_E_PAYLOAD_TOO_LARGE) and a message. */
typedef void (*sandq_delivery_fn)(void *user, sandq_code code, const char *message);

/* Publish a complete request envelope (JSON text, as PROTOCOL.md) without waiting:
 * it is checked as the worker would check it (SANDQ_E_INVALID_REQUEST, err->field),
 * keyed by its sandboxId and sent to `<prefix>.requests[.<region>]` (a create's
 * body.region, else the topic of the sandbox's create if known, else the client's
 * region). librdkafka batches it (client opts.linger_ms). When the local queue is full
 * the call serves delivery reports until there is room (up to the client timeout).
 * `cb` may be NULL. Thread safety: any thread. Callbacks run in whichever thread serves
 * the producer's delivery reports: sandq_poll, sandq_flush, or another call of this
 * client that waits for a delivery (sandq_create, sandq_exec, …) — keep them short and
 * make them safe for that, or publish and poll from one thread. */
SANDQ_API sandq_code sandq_publish(sandq_client_t *client, const char *envelope_json, size_t len,
                                   sandq_delivery_fn cb, void *user, sandq_error *err);
/* Check an envelope as the worker would (sandq_publish does this itself):
 * SANDQ_OK, or SANDQ_E_INVALID_REQUEST / _UNSUPPORTED_VERSION / _UNKNOWN_TYPE with the
 * worker's message and err->field. Pure; thread safety: any thread. */
SANDQ_API sandq_code sandq_check_request(const char *envelope_json, size_t len, sandq_error *err);

/* sandq_publish for an envelope the caller has already checked (sandq_check_request)
 * and whose routing it knows, skipping the parse — for publishers at volume.
 * sandbox_id: the envelope's sandboxId (the Kafka key). create_region: NULL unless the
 * envelope is a sandbox.create, then its body.region ("" for none). An unchecked
 * invalid envelope is not caught here: the worker rejects it. Thread safety: any thread. */
SANDQ_API sandq_code sandq_publish_checked(sandq_client_t *client, const char *sandbox_id, const char *create_region,
                                           const char *envelope_json, size_t len, sandq_delivery_fn cb, void *user,
                                           sandq_error *err);

/* Serve delivery reports for up to timeout_ms; returns how many callbacks ran. */
SANDQ_API int sandq_poll(sandq_client_t *client, int timeout_ms);
/* Wait until every published request is acknowledged (or failed), up to timeout_ms.
 * SANDQ_E_WAIT_TIMEOUT if some are still in flight. */
SANDQ_API sandq_code sandq_flush(sandq_client_t *client, int64_t timeout_ms, sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Webhook endpoints and the delivery log (PostgreSQL)                        */
/* ------------------------------------------------------------------------- */

/* Tenant and operator webhook endpoints live in PostgreSQL beside the delivery log
 * the workers keep (docs/webhooks.md), so these calls read and write it directly
 * (client opts.database_url; one short-lived connection per call, 5 s connect
 * timeout) and need no Kafka and no running worker, except to deliver. Endpoint
 * secrets are sealed with opts.webhook_secret_key, the key the workers open them with.
 * Failures of PostgreSQL are SANDQ_E_DATABASE ("postgres: …"); an unknown endpoint or
 * delivery is SANDQ_E_NOT_FOUND. Thread safety: any thread. */

#define SANDQ_WEBHOOK_SECRET_MAX 128

/* Rows of text, as a query returned them: what `sandq webhooks list|deliveries|test`
 * print. cells[row * cols + col] is NULL for SQL NULL. Freed with sandq_table_free. */
typedef struct sandq_table {
    size_t rows;
    size_t cols;
    const char *const *names;   /* cols column names */
    const char *const *cells;   /* rows * cols, row-major */
} sandq_table;
SANDQ_API void sandq_table_free(sandq_table *table);
/* The cell of `row` in the column named `name`; NULL if NULL in SQL or no such column. */
SANDQ_API const char *sandq_table_get(const sandq_table *table, size_t row, const char *name);

typedef struct sandq_webhook_opts {
    size_t struct_size;              /* SANDQ_WEBHOOK_OPTS_INIT sets it (see "Option structs") */
    /* Deliver only these event types (exact, or a prefix such as "sandbox.task.*"):
     * NULL-terminated list. NULL → every type. */
    const char *const *event_types;
    /* Only events of this tenant. NULL → every tenant's (an operator endpoint). */
    const char *tenant;
    /* Free text. NULL → none. */
    const char *description;
    /* The secret, "whsec_" + base64. NULL → a new random one. */
    const char *secret;
} sandq_webhook_opts;
#define SANDQ_WEBHOOK_OPTS_INIT {.struct_size = sizeof(sandq_webhook_opts)}

/* A secret made or taken by sandq_webhook_add / sandq_webhook_rotate: shown once, never
 * readable again. */
typedef struct sandq_webhook_secret {
    char endpoint_id[SANDQ_ID_MAX];
    char secret[SANDQ_WEBHOOK_SECRET_MAX];
    int stored_plain;                /* 1: no secret key configured, stored unencrypted */
} sandq_webhook_secret;

/* Add an endpoint for url (http:// or https://, at most 2048 characters, no spaces).
 * out gets its new id ("ep_…") and secret. Errors: SANDQ_E_BAD_ARGUMENT (url, secret,
 * a malformed secret key), SANDQ_E_DATABASE. */
SANDQ_API sandq_code sandq_webhook_add(sandq_client_t *client, const char *url, const sandq_webhook_opts *opts,
                                       sandq_webhook_secret *out, sandq_error *err);
/* Tenant and operator endpoints, oldest first (columns id, sandbox, tenant, url,
 * event_types, status, rotating, description); secrets are never returned. */
SANDQ_API sandq_code sandq_webhook_list(sandq_client_t *client, sandq_table **out, sandq_error *err);
/* Remove an endpoint; its pending deliveries become failed ("endpoint removed") in the
 * same transaction. */
SANDQ_API sandq_code sandq_webhook_remove(sandq_client_t *client, const char *endpoint_id, sandq_error *err);
/* A new secret (secret NULL → generated) while the previous one keeps signing too,
 * until sandq_webhook_rotate_done. */
SANDQ_API sandq_code sandq_webhook_rotate(sandq_client_t *client, const char *endpoint_id, const char *secret,
                                          sandq_webhook_secret *out, sandq_error *err);
SANDQ_API sandq_code sandq_webhook_rotate_done(sandq_client_t *client, const char *endpoint_id, sandq_error *err);
/* Enable an endpoint again (a 410 disabled it); what waited is delivered. */
SANDQ_API sandq_code sandq_webhook_enable(sandq_client_t *client, const char *endpoint_id, sandq_error *err);
/* Queue a webhook.test event for the endpoint through the real outbox and wake the
 * workers; *delivery_id is its delivery, to follow with sandq_webhook_delivery. */
SANDQ_API sandq_code sandq_webhook_test(sandq_client_t *client, const char *endpoint_id, int64_t *delivery_id,
                                        sandq_error *err);
/* One delivery (columns delivery, event_id, state, attempts, status, latency_ms, error):
 * one row, or SANDQ_E_NOT_FOUND. */
SANDQ_API sandq_code sandq_webhook_delivery(sandq_client_t *client, int64_t delivery_id, sandq_table **out,
                                            sandq_error *err);

typedef struct sandq_deliveries_opts {
    size_t struct_size;              /* SANDQ_DELIVERIES_OPTS_INIT sets it */
    int failed_only;                 /* 1 → only failed deliveries */
    const char *endpoint_id;         /* NULL → every endpoint's */
    size_t limit;                    /* newest first, at most this many; 0 → 50 */
} sandq_deliveries_opts;
#define SANDQ_DELIVERIES_OPTS_INIT {.struct_size = sizeof(sandq_deliveries_opts)}

/* The delivery log, newest first (columns id, event_id, event_type, endpoint_id, state,
 * attempts, status, latency_ms, next_attempt, error). */
SANDQ_API sandq_code sandq_webhook_deliveries(sandq_client_t *client, const sandq_deliveries_opts *opts,
                                              sandq_table **out, sandq_error *err);
/* Make a delivery due now (one more attempt if it had used up its schedule).
 * *endpoint_enabled (may be NULL) tells whether its endpoint is enabled: a disabled
 * one delivers nothing until sandq_webhook_enable. */
SANDQ_API sandq_code sandq_webhook_redeliver(sandq_client_t *client, int64_t delivery_id, int *endpoint_enabled,
                                             sandq_error *err);

/* ------------------------------------------------------------------------- */
/* Artifacts (PostgreSQL and the artifact store)                             */
/* ------------------------------------------------------------------------- */

/* Files a task exported (`outputs` on task.exec/task.code; docs/artifacts.md). The
 * rows live in PostgreSQL (client opts.database_url, one short-lived connection per
 * call); the bytes in the workers' artifact store. Every `sandbox.artifacts.updated`
 * event carries a download URL that expires; these calls make a fresh one the way a
 * worker does, so they need the same settings the workers have: for a directory
 * store (file://) the URL key and the base URL of a worker's HTTP endpoint that
 * serves it, for S3 the endpoint, region and credentials (sandq_artifact_opts).
 * Another tenant's artifacts are SANDQ_E_FORBIDDEN. Thread safety: any thread. */

typedef struct sandq_artifact {
    char artifact_id[SANDQ_ID_MAX];
    char sandbox_id[SANDQ_ID_MAX];
    char task_id[SANDQ_ID_MAX];  /* "" if no task exported it */
    const char *path;            /* relative to /workspace */
    int64_t size_bytes;
    char sha256[65];             /* lowercase hex */
    const char *content_type;
    int64_t created_at;          /* epoch ms */
} sandq_artifact;

/* The sandbox's artifacts, oldest first. *out is one allocation of *count entries
 * (strings inside it), freed with sandq_free (NULL when *count is 0). Errors:
 * SANDQ_E_BAD_ARGUMENT, SANDQ_E_DATABASE, SANDQ_E_FORBIDDEN. */
SANDQ_API sandq_code sandq_artifacts_list(sandq_client_t *client, const char *sandbox_id, sandq_artifact **out,
                                          size_t *count, sandq_error *err);

typedef struct sandq_artifact_opts {
    size_t struct_size;          /* SANDQ_ARTIFACT_OPTS_INIT sets it (see "Option structs") */
    /* How long the URL lives, seconds (60 .. 604800). 0 → 3600. */
    int64_t ttl_s;
    /* Directory store: the URL key (base64 of 32 bytes). NULL → $SANDQ_ARTIFACT_URL_KEY,
     * else derived from the client's webhook_secret_key, as the workers derive it. */
    const char *url_key;
    /* Directory store: where a worker's HTTP endpoint is reached. NULL →
     * $SANDQ_ARTIFACT_URL_BASE, else "http://127.0.0.1:9464". */
    const char *url_base;
    /* S3 store. NULL → $SANDQ_S3_ENDPOINT (else https://s3.amazonaws.com),
     * $SANDQ_S3_REGION / $AWS_REGION (else us-east-1), $SANDQ_S3_ACCESS_KEY_ID /
     * $AWS_ACCESS_KEY_ID, $SANDQ_S3_SECRET_ACCESS_KEY / $AWS_SECRET_ACCESS_KEY. */
    const char *s3_endpoint;
    const char *s3_region;
    const char *s3_access_key_id;
    const char *s3_secret_access_key;
} sandq_artifact_opts;
#define SANDQ_ARTIFACT_OPTS_INIT {.struct_size = sizeof(sandq_artifact_opts)}

/* A fresh signed download URL for an artifact into url (url_size bytes; 8192 is
 * always enough). Errors: SANDQ_E_NOT_FOUND, SANDQ_E_FORBIDDEN, SANDQ_E_DATABASE,
 * SANDQ_E_BAD_ARGUMENT (missing key or credentials). */
SANDQ_API sandq_code sandq_artifact_url(sandq_client_t *client, const char *artifact_id,
                                        const sandq_artifact_opts *opts, char *url, size_t url_size,
                                        sandq_error *err);
/* Download an artifact into out_path (written to out_path.part, then renamed), checking
 * its size and sha256 against the row: a mismatch is SANDQ_E_INTEGRITY and leaves no
 * file. The store refusing the URL (HTTP 403/404) is SANDQ_E_FORBIDDEN/SANDQ_E_NOT_FOUND;
 * other transfer failures SANDQ_E_IO. */
SANDQ_API sandq_code sandq_artifact_get(sandq_client_t *client, const char *artifact_id,
                                        const sandq_artifact_opts *opts, const char *out_path, sandq_error *err);

#ifdef __cplusplus
}
#endif

#endif /* SANDQ_H */
