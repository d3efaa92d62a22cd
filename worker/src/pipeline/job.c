/* job.c — see job.h. */
#include "pipeline/job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/completer.h"
#include "metrics.h"
#include "sq/clock.h"
#include "store/pg_store.h"
#include "store/redis_store.h"
#include "sq/log.h"

static __thread sq_job *current;

void sq_job_set_current(sq_job *job) { current = job; }
sq_job *sq_job_current(void) { return current; }

sq_job *sq_job_new(sq_worker *w, rd_kafka_message_t *msg)
{
    sq_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->w = w;
    j->msg = msg;
    snprintf(j->topic, sizeof j->topic, "%s", rd_kafka_topic_name(msg->rkt));
    j->partition = msg->partition;
    j->offset = msg->offset;
    j->started_mono = sq_mono_ms();
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    pthread_mutex_lock(&w->offsets_mu);
    sq_offsets_arrive(w->offsets, j->topic, j->partition, j->offset);
    pthread_mutex_unlock(&w->offsets_mu);
    return j;
}

void sq_job_delivery_begin(sq_job *job)
{
    pthread_mutex_lock(&job->mu);
    job->pending++;
    pthread_mutex_unlock(&job->mu);
}

/* A sealed job whose deliveries all settled goes to the completer, once. */
static bool take_settled(sq_job *job)
{
    if (!job->sealed || job->settled || job->pending > 0)
        return false;
    job->settled = true;
    return true;
}

void sq_job_delivery_done(sq_job *job, bool ok)
{
    pthread_mutex_lock(&job->mu);
    job->pending--;
    if (!ok)
        job->failed_deliveries++;
    bool settled = take_settled(job);
    pthread_cond_broadcast(&job->cv);
    pthread_mutex_unlock(&job->mu);
    if (settled)
        sq_completer_push(job->w->completer, job); /* the job is the completer's now */
}

void sq_job_finish_async(sq_job *job)
{
    sq_completer_track(job->w->completer, job);
    pthread_mutex_lock(&job->mu);
    job->sealed = true;
    bool settled = take_settled(job);
    pthread_mutex_unlock(&job->mu);
    if (settled)
        sq_completer_push(job->w->completer, job);
}

/* librdkafka retries deliveries itself (idempotent producer); this bound only
 * keeps a job from waiting forever if the cluster is gone for good. */
#define DELIVERY_WAIT_MS 120000

static bool wait_deliveries(sq_job *job)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += DELIVERY_WAIT_MS / 1000;
    pthread_mutex_lock(&job->mu);
    while (job->pending > 0)
        if (pthread_cond_timedwait(&job->cv, &job->mu, &until) != 0)
            break;
    bool ok = job->pending == 0 && job->failed_deliveries == 0;
    job->failed_deliveries = 0;
    pthread_mutex_unlock(&job->mu);
    return ok;
}

void sq_job_free(sq_job *job)
{
    sq_request_free(&job->req);
    rd_kafka_message_destroy(job->msg);
    pthread_mutex_destroy(&job->mu);
    pthread_cond_destroy(&job->cv);
    free(job);
}

int sq_job_finish(sq_job *job, bool effects_ok)
{
    sq_worker *w = job->w;
    sq_log_ctx lc = {.sandbox_id = job->req.sandbox_id, .request_id = job->req.request_id};
    sq_err err;
    if (!wait_deliveries(job)) {
        sq_error(&lc, "events of %s were not acknowledged by Kafka", job->req.type_name);
        return -1;
    }
    if (!effects_ok)
        return -1;
    if (job->parsed && (sq_redis_request_done(w, job->req.request_id, &err) < 0 ||
                        sq_pg_request_record(w, job->req.request_id, job->req.sandbox_id, job->req.type_name, "done",
                                             &err) < 0)) {
        sq_error(&lc, "could not record %s as done: %s", job->req.type_name, err.msg);
        return -1;
    }
    pthread_mutex_lock(&w->offsets_mu);
    sq_offsets_complete(w->offsets, job->topic, job->partition, job->offset);
    pthread_mutex_unlock(&w->offsets_mu);
    sq_metrics_request(job->req.type, (double)(sq_mono_ms() - job->started_mono) / 1000.0);
    sq_job_free(job);
    return 0;
}

void sq_job_abandon(sq_job *job)
{
    wait_deliveries(job);
    sq_job_free(job);
}
