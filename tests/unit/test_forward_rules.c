/* test_forward_rules.c — when a request goes to the worker that hosts its
 * sandbox (worker/src/pipeline/forward_rules.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "pipeline/forward_rules.h"

static const sq_forward_facts elsewhere = {.record_live = true, .owner_alive = true};

static void live_sandbox_on_live_worker_is_forwarded(void **state)
{
    (void)state;
    assert_int_equal(sq_forward_decide(&elsewhere), SQ_FORWARD_TO_OWNER);
}

static void dead_owner_is_answered_here(void **state)
{
    (void)state;
    sq_forward_facts f = elsewhere;
    f.owner_alive = false; /* heartbeat expired: worker_lost, as before */
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
}

static void forwarded_copy_is_never_forwarded_again(void **state)
{
    (void)state;
    sq_forward_facts f = elsewhere;
    f.forwarded = true;
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
}

static void local_create_self_and_ended_stay_here(void **state)
{
    (void)state;
    sq_forward_facts f = elsewhere;
    f.hosted_here = true;
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
    f = elsewhere;
    f.is_create = true; /* a new sandbox goes to the partition's owner */
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
    f = elsewhere;
    f.owner_is_self = true; /* ours but not in the registry: this worker restarted */
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
    f = elsewhere;
    f.record_live = false; /* ended or unknown: answered here */
    assert_int_equal(sq_forward_decide(&f), SQ_FORWARD_HERE);
}

static void topic_names(void **state)
{
    (void)state;
    char t[64];
    assert_int_equal(sq_forward_topic("sandq", "w-1", t, sizeof t), 0);
    assert_string_equal(t, "sandq.worker.w-1");
    assert_int_equal(sq_forward_topic("sandq", "w-1", t, 10), -1);
    assert_int_equal(sq_forward_topic("sandq", "", t, sizeof t), -1);
    assert_true(sq_forward_is_topic("sandq", "sandq.worker.w-1"));
    assert_false(sq_forward_is_topic("sandq", "sandq.worker."));
    assert_false(sq_forward_is_topic("sandq", "sandq.requests"));
    assert_false(sq_forward_is_topic("sandq", "sandq.requests.iad"));
    assert_false(sq_forward_is_topic("sandq", "other.worker.w-1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(live_sandbox_on_live_worker_is_forwarded),
        cmocka_unit_test(dead_owner_is_answered_here),
        cmocka_unit_test(forwarded_copy_is_never_forwarded_again),
        cmocka_unit_test(local_create_self_and_ended_stay_here),
        cmocka_unit_test(topic_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
