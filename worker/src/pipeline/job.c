/* job.c — see job.h. */
#include "pipeline/job.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sq/clock.h"

static __thread sq_job *current;

void sq_job_set_current(sq_job *job) { current = job; }
sq_job *sq_job_current(void) { return current; }

void sq_job_keep_answer(const char *envelope)
{
    if (!current)
        return;
    char *copy = strdup(envelope);
    if (!copy)
        return; /* out of memory: a retry runs the request again, as before */
    free(current->answer);
    current->answer = copy;
}

void sq_job_effect_begins(void)
{
    if (current)
        current->effect_started = true;
}

sq_job *sq_job_new(sq_worker *w, rd_kafka_message_t *msg)
{
    sq_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->w = w;
    atomic_init(&j->refs, 1);
    j->tallies[SQ_DELIVERY_REQUIRED] = (sq_job_tally){.job = j, .kind = SQ_DELIVERY_REQUIRED};
    j->tallies[SQ_DELIVERY_BEST_EFFORT] = (sq_job_tally){.job = j, .kind = SQ_DELIVERY_BEST_EFFORT};
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

/* The consumed message is the owner's, and only while it handles the job:
 * librdkafka cannot destroy its consumer while one of its messages is still
 * out (rd_kafka_destroy waits for it), and a job the owner has let go of may
 * wait for a delivery report or a commit long after that — at shutdown, with
 * Kafka or PostgreSQL down. */
static void drop_message(sq_job *job)
{
    if (job->msg)
        rd_kafka_message_destroy(job->msg);
    job->msg = NULL;
}

static void job_free(sq_job *job)
{
    free(job->answer);
    sq_request_free(&job->req);
    drop_message(job);
    pthread_mutex_destroy(&job->mu);
    pthread_cond_destroy(&job->cv);
    free(job);
}

void sq_job_release(sq_job *job)
{
    if (atomic_fetch_sub(&job->refs, 1) == 1)
        job_free(job);
}

void sq_job_delivery_begin(sq_job *job)
{
    atomic_fetch_add(&job->refs, 1); /* dropped by sq_job_delivery_done */
    pthread_mutex_lock(&job->mu);
    job->pending++;
    pthread_mutex_unlock(&job->mu);
}

/* A sealed job whose deliveries all settled goes to its on_settled, once. */
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
        job->on_settled(job); /* the owner's reference is on_settled's now */
    sq_job_release(job);      /* this delivery's */
}

const sq_job_tally *sq_job_tally_begin(sq_job *job, sq_delivery_kind kind)
{
    /* A message no job counts still says what kind it is, for its report. */
    static const sq_job_tally unowned[2] = {{NULL, SQ_DELIVERY_REQUIRED}, {NULL, SQ_DELIVERY_BEST_EFFORT}};
    if (!job)
        return &unowned[kind];
    sq_job_delivery_begin(job);
    return &job->tallies[kind];
}

void sq_job_tally_done(const sq_job_tally *t, bool ok)
{
    if (t && t->job)
        sq_job_delivery_done(t->job, ok || t->kind == SQ_DELIVERY_BEST_EFFORT);
}

void sq_job_seal(sq_job *job, void (*on_settled)(sq_job *job))
{
    drop_message(job);
    pthread_mutex_lock(&job->mu);
    job->on_settled = on_settled;
    job->sealed = true;
    bool settled = take_settled(job);
    pthread_mutex_unlock(&job->mu);
    if (settled)
        on_settled(job);
}

/* librdkafka retries deliveries itself (idempotent producer, no message
 * timeout: kafka_conf.c); this bound only keeps a caller that waits from
 * waiting forever if the cluster is gone for good. A job given up on after it
 * stays alive for the deliveries still counted (job.h). */
#define DELIVERY_WAIT_MS 120000

bool sq_job_wait_deliveries(sq_job *job)
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

void sq_job_abandon(sq_job *job)
{
    drop_message(job);
    sq_job_release(job);
}
