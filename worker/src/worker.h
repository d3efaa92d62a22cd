/* worker.h — the worker's shared context and the live-sandbox record.
 *
 * The worker owns the sandboxes of the partitions it is assigned (the partition
 * is the shard). Each live sandbox is an actor: a thread with a FIFO of
 * requests, so one sandbox runs one request at a time, in Kafka order, while
 * different sandboxes run in parallel even when they share a partition. The
 * actor's thread is also the thread that starts the sandbox, which matters:
 * PR_SET_PDEATHSIG fires when the *thread* that forked the sandbox exits.
 * What is done to the record (runtime, teardown, end, fail, pause) is
 * lifecycle/live.h; its queue is lifecycle/mailbox.h. */
#ifndef SQ_WORKER_H
#define SQ_WORKER_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lifecycle/lifetime.h"  /* issue 3: sandbox deadlines (sbx_limits.h comes with config.h) */
#include "config.h"
#include "handoff/handoff_state.h" /* issue 14: hand-offs and the control mode */
#include "pipeline/offsets.h"
#include "sandbox/sandbox.h"
#include "sq/protocol.h"
#include "store/pool.h"

typedef struct sq_job sq_job;
struct sq_worker;

typedef struct sq_live_sandbox {
    struct sq_worker *worker;
    char id[SQ_ID_MAX];
    char tenant[SQ_TENANT_MAX + 1];
    char region[8];
    char reply_to[SQ_TOPIC_MAX];
    sq_state state;
    sq_sandbox *runtime;
    char workspace[PATH_MAX];
    int workspace_fd;          /* O_PATH dirfd of the workspace, for openat2 */
    uid_t host_uid;
    gid_t host_gid;
    int slot;                  /* uid slot, held by slot_lock_fd's flock */
    int slot_lock_fd;
    sq_limits limits;          /* resolved at create (sbx_limits.h) */
    sq_lifetime lifetime;      /* timeoutMs / idleTimeoutMs clocks (lifecycle/lifetime.h, lifetime_tick.c) */
    json_t *env;               /* create-time env: secret, memory only */
    json_t *spec;              /* issue 13: the create body (env included), memory only; sealed when persisted */
    bool persisted;            /* issue 13: persisted (no processes, no worker): route asks Redis (lifecycle/persist.h) */
    bool persisting;           /* issue 13: its persist snapshot runs: the drain's task grace does not stop it */
    json_t *capabilities;      /* what is actually ready */
    struct sq_browser *browser; /* issue 11: its browser (caps/browser/browser.h), NULL without one */
    bool recording;            /* capabilities.recording.enabled: audit rows, asciicasts (caps/recording/) */
    bool recording_browser;    /* and recording.browser: each browser task as an MP4 (caps/browser/recording.h) */
    struct sq_brec *rec_standby; /* with it: a warm ffmpeg for the next browser task (actor only), or NULL */
    char artifact_prefix[260]; /* issue 13: capabilities.storage.artifactPrefix ("" none) */
    bool agent_enabled;        /* issue 12: capabilities.agent.enabled at create (caps/agent/) */
    char agent_default[8];     /* its defaultAgent: "build" or "plan" */
    struct sq_preview *preview; /* issue 14: its live preview (preview/preview_pump.h), NULL without; set under registry_mu */
    sq_handoff_book handoffs;  /* issue 14: hand-offs and controlMode (actor thread; handoff/handoff_live.h) */
    int64_t ckpt_auto_ms;      /* issue 13: checkpoint.intervalMs when checkpoint.auto, else 0 (actor thread) */
    int64_t ckpt_auto_due;     /* monotonic ms the next automatic checkpoint is due (handlers/checkpoint.c) */
    int64_t epoch;             /* owner lease fencing epoch (Redis `epoch`); writes with a stale one fail */
    bool fenced;               /* another worker took this sandbox over: stop, emit nothing more */
    bool handed_over;          /* taken over by a live owner (fenced): stop, emit nothing more */
    char req_topic[SQ_TOPIC_MAX]; /* the requests partition that owns it */
    int32_t req_partition;

    /* The actor: its thread and its FIFO of jobs (guarded by mu). */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sq_job *q_head, *q_tail;
    bool closing;              /* out of the registry: drains its queue, then exits */

    /* The control lane (lifecycle/control.h): kill and cancel reach a running
     * command. Guarded by mu, but for wake_fd and run_job, set once. */
    int wake_fd;               /* eventfd: wakes the exec loop of the running command */
    char running_task[SQ_ID_MAX]; /* the task of the job the actor took ("" none) */
    bool cancel_running;       /* a task.cancel for running_task came */
    bool kill_pending;         /* a sandbox.kill came: the running command stops */
    bool frozen_in_task;       /* paused (timeout) under a running command */
    char canceled[16][SQ_ID_MAX]; /* recently canceled tasks, a ring */
    unsigned canceled_next;
    int64_t owner_check_at;    /* monotonic ms of the next ownership check (actor thread) */
    void (*run_job)(struct sq_live_sandbox *sb, sq_job *job); /* the actor's, for a job run out of turn */
    struct sq_live_sandbox *next;
} sq_live_sandbox;

struct sq_webhooks; /* notify/webhook_delivery.h */
struct sq_art_store; /* artifacts/store.h */

/* One requests topic's consumer (pipeline/consumer.h): its own handle in its
 * own consumer group, and its own polling thread. One group per topic is what
 * spreads every topic over the workers: an assignor balances partition counts
 * per group member, not per topic. */
typedef struct sq_consumer {
    struct sq_worker *w;
    char topic[SQ_TOPIC_MAX];      /* <prefix>.requests, <prefix>.requests.<region> or <prefix>.worker.<id> */
    char group[SQ_TOPIC_MAX + 130]; /* <SANDQ_GROUP_ID>.<topic> */
    /* Guards `rk` for threads other than the consumer's own (the HTTP server):
     * the consumer's thread replaces the handle under it after a fatal error. */
    pthread_mutex_t handle_mu;
    rd_kafka_t *rk;
    atomic_bool assigned;          /* this handle has had an assignment */
    rd_kafka_t *parked[8];         /* fenced before any assignment: never destroyed (consumer.c) */
    bool paused;                   /* back-pressure paused its partitions (guarded by w->offsets_mu) */
    int assigned_count;            /* partitions assigned now (guarded by w->offsets_mu) */
    pthread_t thread;
    bool thread_started;
} sq_consumer;

#define SQ_CONSUMERS_MAX 3

typedef struct sq_worker {
    sq_worker_config cfg;
    char incarnation[SQ_ID_MAX]; /* this process's run: marks in-flight dedupe keys */
    sq_consumer consumers[SQ_CONSUMERS_MAX]; /* global and regional requests, this worker's forward topic */
    size_t n_consumers;
    rd_kafka_t *producer;
    sq_store_pool pool;
    char topic_events[SQ_TOPIC_MAX];
    char topic_dlq[SQ_TOPIC_MAX];

    pthread_mutex_t registry_mu; /* guards buckets, actors and live_count */
    sq_live_sandbox *buckets[256];
    size_t actors;               /* actor threads alive */
    pthread_cond_t actors_cv;    /* signalled when an actor exits */

    pthread_mutex_t offsets_mu;  /* guards offsets and each consumer's paused / assigned_count */
    sq_offsets *offsets;

    atomic_int stopping;
    _Atomic int64_t drain_at;    /* monotonic ms when SIGTERM was seen (0: running); issue 13's drain */
    pthread_t producer_poller;
    atomic_int producer_done;    /* tells the producer poller to finish */
    pthread_t heartbeat;
    atomic_bool heartbeat_done;  /* set once the sandboxes are settled at shutdown */
    /* This worker's forward topic (pipeline/forward.h): every offset below
     * forward_done has been dispatched (or was committed before this run);
     * meaningful once forward_known. A requests partition assigned to this
     * worker waits for it (consumer.c: wait_forwarded). */
    atomic_llong forward_done;
    atomic_bool forward_known;
    struct sq_writer *writer;
    struct sq_completer *completer; /* finishes jobs once their effects are durable */
    struct sq_webhooks *webhooks; /* the webhook delivery thread, or NULL */
    struct sq_art_store *artifacts; /* issue 13: the artifact store (artifacts/store.h) */
} sq_worker;

#endif
