/* mailbox.c — see mailbox.h. */
#include "lifecycle/mailbox.h"

#include <string.h>
#include <time.h>

#include "lifecycle/control.h"

void sq_mailbox_put(sq_live_sandbox *sb, sq_job *job)
{
    pthread_mutex_lock(&sb->mu);
    job->next = NULL;
    if (sq_control_admit(sb, job)) {
        /* The control lane: ahead of the queue, behind the kills and
         * cancels already there (they keep their own order). */
        sq_job **p = &sb->q_head;
        while (*p && ((*p)->req.type == SQ_REQ_SANDBOX_KILL || (*p)->req.type == SQ_REQ_TASK_CANCEL))
            p = &(*p)->next;
        job->next = *p;
        *p = job;
        if (!job->next)
            sb->q_tail = job;
    } else {
        if (sb->q_tail)
            sb->q_tail->next = job;
        else
            sb->q_head = job;
        sb->q_tail = job;
    }
    pthread_cond_signal(&sb->cv);
    pthread_mutex_unlock(&sb->mu);
}

sq_job *sq_mailbox_take(sq_live_sandbox *sb, int wait_ms)
{
    pthread_mutex_lock(&sb->mu);
    if (!sb->q_head && !atomic_load(&sb->worker->stopping)) {
        /* pthread_cond_timedwait takes a CLOCK_REALTIME deadline. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sb->cv, &sb->mu, &until);
    }
    sq_job *j = sb->q_head;
    if (j) {
        sb->q_head = j->next;
        if (!sb->q_head)
            sb->q_tail = NULL;
        j->next = NULL;
    }
    pthread_mutex_unlock(&sb->mu);
    return j;
}

sq_job *sq_mailbox_take_kill(sq_live_sandbox *sb)
{
    sq_job *kill = NULL;
    pthread_mutex_lock(&sb->mu);
    for (sq_job **p = &sb->q_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        if ((*p)->req.type == SQ_REQ_SANDBOX_KILL) {
            kill = *p;
            *p = kill->next;
            if (sb->q_tail == kill)
                sb->q_tail = prev;
            kill->next = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&sb->mu);
    return kill;
}

void sq_mailbox_put_back(sq_live_sandbox *sb, sq_job *job)
{
    pthread_mutex_lock(&sb->mu);
    job->next = sb->q_head;
    sb->q_head = job;
    if (!sb->q_tail)
        sb->q_tail = job;
    pthread_mutex_unlock(&sb->mu);
}

sq_job *sq_mailbox_take_task(sq_live_sandbox *sb, const char *task_id)
{
    sq_job *found = NULL;
    pthread_mutex_lock(&sb->mu);
    for (sq_job **p = &sb->q_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        sq_job *j = *p;
        if (sq_req_task_kind(j->req.type) && strcmp(j->req.task_id, task_id) == 0) {
            *p = j->next;
            if (sb->q_tail == j)
                sb->q_tail = prev;
            j->next = NULL;
            found = j;
            break;
        }
    }
    pthread_mutex_unlock(&sb->mu);
    return found;
}

void sq_mailbox_wake(sq_live_sandbox *sb)
{
    pthread_mutex_lock(&sb->mu);
    pthread_cond_signal(&sb->cv);
    pthread_mutex_unlock(&sb->mu);
}

static bool is_handoff(sq_req_type t)
{
    return t == SQ_REQ_HANDOFF_REQUEST || t == SQ_REQ_HANDOFF_ACCEPT || t == SQ_REQ_HANDOFF_COMPLETE ||
           t == SQ_REQ_HANDOFF_CANCEL;
}

sq_job *sq_mailbox_take_handoff(sq_live_sandbox *sb)
{
    sq_job *found = NULL;
    pthread_mutex_lock(&sb->mu);
    for (sq_job **p = &sb->q_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        sq_job *j = *p;
        if (j->parsed && is_handoff(j->req.type)) {
            *p = j->next;
            if (sb->q_tail == j)
                sb->q_tail = prev;
            j->next = NULL;
            found = j;
            break;
        }
    }
    pthread_mutex_unlock(&sb->mu);
    return found;
}

void sq_mailbox_wait_put(sq_live_sandbox *sb, int wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* sb->cv is on CLOCK_REALTIME */
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&sb->mu);
    if (!atomic_load(&sb->worker->stopping))
        pthread_cond_timedwait(&sb->cv, &sb->mu, &until);
    pthread_mutex_unlock(&sb->mu);
}
