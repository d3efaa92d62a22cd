/* test_metrics.c — the Prometheus rendering: counters by closed label sets,
 * cumulative histogram buckets, gauges passed in at scrape time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void has(const char *text, const char *line)
{
    if (!strstr(text, line))
        fail_msg("missing line: %s", line);
}

static void counters_and_histograms(void **s)
{
    (void)s;
    sq_metrics_reset();
    sq_metrics_request(SQ_REQ_TASK_EXEC, 0.004);
    sq_metrics_request(SQ_REQ_TASK_EXEC, 0.3);
    sq_metrics_request(SQ_REQ_TASK_EXEC, 100.0);
    sq_metrics_rejected(SQ_INVALID_STATE);
    sq_metrics_rejected(SQ_CODE__COUNT); /* out of range: ignored, not a crash */
    sq_metrics_task("exec", SQ_OUTCOME_COMPLETED);
    sq_metrics_task("nonsense", SQ_OUTCOME_FAILED);
    sq_metrics_dlq();
    sq_metrics_gauges g = {0};
    g.sandboxes_by_state[SQ_STATE_READY] = 3;
    g.inflight_requests = 7;
    g.webhook_backlog = 5;
    g.lag_count = 1;
    strcpy(g.lag[0].topic, "sandq.requests");
    g.lag[0].partition = 5;
    g.lag[0].lag = 42;
    char *t = sq_metrics_render(&g);
    assert_non_null(t);
    has(t, "sandq_requests_total{type=\"task.exec\"} 3\n");
    has(t, "sandq_request_duration_seconds_bucket{type=\"task.exec\",le=\"0.005\"} 1\n");
    has(t, "sandq_request_duration_seconds_bucket{type=\"task.exec\",le=\"0.25\"} 1\n");
    has(t, "sandq_request_duration_seconds_bucket{type=\"task.exec\",le=\"0.5\"} 2\n");
    has(t, "sandq_request_duration_seconds_bucket{type=\"task.exec\",le=\"60\"} 2\n");
    has(t, "sandq_request_duration_seconds_bucket{type=\"task.exec\",le=\"+Inf\"} 3\n");
    has(t, "sandq_request_duration_seconds_count{type=\"task.exec\"} 3\n");
    has(t, "sandq_requests_rejected_total{code=\"invalid_state\"} 1\n");
    has(t, "sandq_tasks_total{kind=\"exec\",outcome=\"completed\"} 1\n");
    has(t, "sandq_sandboxes{state=\"ready\"} 3\n");
    has(t, "sandq_inflight_requests 7\n");
    has(t, "sandq_consumer_lag{topic=\"sandq.requests\",partition=\"5\"} 42\n");
    has(t, "sandq_dlq_total 1\n");
    has(t, "sandq_webhook_backlog 5\n");
    has(t, "# TYPE sandq_request_duration_seconds histogram\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(counters_and_histograms)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
