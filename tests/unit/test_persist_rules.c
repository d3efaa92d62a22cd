/* test_persist_rules.c — what a request to a persisted sandbox gets
 * (worker/src/lifecycle/persist_rules.c), and the sealed spec's round trip
 * (common/src/seal_blob.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle/persist_rules.h"
#include "sq/seal_blob.h"

static const sq_persist_facts paused_by_user = {.state = SQ_STATE_PAUSED, .persisted = true, .reason = ""};
static const sq_persist_facts drained = {.state = SQ_STATE_PAUSED, .persisted = true, .reason = SQ_PERSIST_DRAINED};
static const sq_persist_facts crashed = {.state = SQ_STATE_READY, .persisted = true, .reason = SQ_PERSIST_CRASHED};

static void resume_brings_it_up_and_kill_ends_it(void **state)
{
    (void)state;
    assert_int_equal(sq_persist_decide(&paused_by_user, SQ_REQ_SANDBOX_RESUME), SQ_PERSIST_BRING_UP);
    assert_int_equal(sq_persist_decide(&paused_by_user, SQ_REQ_SANDBOX_KILL), SQ_PERSIST_END);
    assert_true(sq_persist_wants_actor(&paused_by_user, SQ_REQ_SANDBOX_RESUME));
    assert_true(sq_persist_wants_actor(&paused_by_user, SQ_REQ_SANDBOX_KILL));
    sq_persist_facts null_reason = paused_by_user;
    null_reason.reason = NULL;
    assert_int_equal(sq_persist_decide(&null_reason, SQ_REQ_SANDBOX_RESUME), SQ_PERSIST_BRING_UP);
}

static void other_requests_to_a_user_pause_are_refused_without_an_actor(void **state)
{
    (void)state;
    sq_req_type others[] = {SQ_REQ_TASK_EXEC, SQ_REQ_FILES_READ, SQ_REQ_SANDBOX_SET_TIMEOUT, SQ_REQ_PREVIEW_URL,
                            SQ_REQ_SANDBOX_PAUSE, SQ_REQ_CHECKPOINT_CREATE};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_int_equal(sq_persist_decide(&paused_by_user, others[i]), SQ_PERSIST_REFUSE);
        assert_false(sq_persist_wants_actor(&paused_by_user, others[i]));
    }
    assert_int_equal(sq_persist_decide(&paused_by_user, SQ_REQ_SANDBOX_CREATE), SQ_PERSIST_NOT);
}

static void drained_and_crashed_come_up_at_their_next_request(void **state)
{
    (void)state;
    sq_req_type any[] = {SQ_REQ_TASK_EXEC, SQ_REQ_FILES_READ, SQ_REQ_SANDBOX_SET_TIMEOUT, SQ_REQ_SANDBOX_PAUSE,
                         SQ_REQ_CHECKPOINT_CREATE, SQ_REQ_TASK_CODE};
    for (size_t i = 0; i < sizeof any / sizeof any[0]; i++) {
        assert_int_equal(sq_persist_decide(&drained, any[i]), SQ_PERSIST_BRING_UP_SERVE);
        assert_int_equal(sq_persist_decide(&crashed, any[i]), SQ_PERSIST_BRING_UP_SERVE);
        assert_true(sq_persist_wants_actor(&drained, any[i]));
    }
    /* a resume of a drained (paused) one is the bring-up itself; of a crashed
     * (still "ready") one, it is served after, as any request (invalid_state) */
    assert_int_equal(sq_persist_decide(&drained, SQ_REQ_SANDBOX_RESUME), SQ_PERSIST_BRING_UP);
    assert_int_equal(sq_persist_decide(&crashed, SQ_REQ_SANDBOX_RESUME), SQ_PERSIST_BRING_UP_SERVE);
    assert_int_equal(sq_persist_decide(&drained, SQ_REQ_SANDBOX_KILL), SQ_PERSIST_END);
    assert_int_equal(sq_persist_decide(&crashed, SQ_REQ_SANDBOX_KILL), SQ_PERSIST_END);
}

static void not_persisted_is_the_usual_path(void **state)
{
    (void)state;
    sq_persist_facts frozen = {.state = SQ_STATE_PAUSED};
    assert_int_equal(sq_persist_decide(&frozen, SQ_REQ_SANDBOX_RESUME), SQ_PERSIST_NOT);
    assert_false(sq_persist_wants_actor(&frozen, SQ_REQ_SANDBOX_RESUME));
    sq_persist_facts ended = {.state = SQ_STATE_ENDED, .persisted = true, .reason = SQ_PERSIST_DRAINED};
    assert_int_equal(sq_persist_decide(&ended, SQ_REQ_TASK_EXEC), SQ_PERSIST_NOT);
    assert_false(sq_persist_wants_actor(&ended, SQ_REQ_TASK_EXEC));
    sq_persist_facts none = {.state = SQ_STATE_NONE};
    assert_false(sq_persist_wants_actor(&none, SQ_REQ_TASK_EXEC));
    assert_true(sq_persist_wants_actor(&none, SQ_REQ_SANDBOX_CREATE));
}

static void a_lost_auto_checkpointed_sandbox_gets_an_actor(void **state)
{
    (void)state;
    sq_persist_facts lost = {.state = SQ_STATE_READY, .auto_checkpoint = true, .owner_here_or_lost = true};
    assert_true(sq_persist_wants_actor(&lost, SQ_REQ_TASK_EXEC));
    lost.auto_checkpoint = false; /* worker_lost, answered without an actor, as before */
    assert_false(sq_persist_wants_actor(&lost, SQ_REQ_TASK_EXEC));
    lost.auto_checkpoint = true;
    lost.owner_here_or_lost = false; /* a live owner serves it (forwarded) */
    assert_false(sq_persist_wants_actor(&lost, SQ_REQ_TASK_EXEC));
    lost.owner_here_or_lost = true;
    lost.state = SQ_STATE_FAILED;
    assert_false(sq_persist_wants_actor(&lost, SQ_REQ_TASK_EXEC));
}

static void spec_auto_checkpoint(void **state)
{
    (void)state;
    json_t *on = json_pack("{s:{s:b, s:i}}", "checkpoint", "auto", 1, "intervalMs", 60000);
    json_t *off = json_pack("{s:{s:b}}", "checkpoint", "auto", 0);
    json_t *none = json_object();
    assert_true(sq_persist_spec_auto(on));
    assert_false(sq_persist_spec_auto(off));
    assert_false(sq_persist_spec_auto(none));
    assert_false(sq_persist_spec_auto(NULL));
    json_decref(on);
    json_decref(off);
    json_decref(none);
}

static const char KEY[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; /* base64 of 32 bytes */

static void sealed_spec_round_trips_and_hides_the_env(void **state)
{
    (void)state;
    sq_wh_box box;
    sq_err err;
    assert_int_equal(sq_wh_box_init(&box, KEY, &err), 0);
    const char *spec = "{\"env\":{\"API_TOKEN\":\"s3cr3t-value-42\"},\"limits\":{\"memoryMb\":512}}";
    char *sealed = NULL, *plain = NULL;
    size_t n = 0;
    assert_int_equal(sq_seal_blob(&box, "sbx_A", spec, strlen(spec), &sealed, &err), 0);
    assert_non_null(strstr(sealed, "v1:"));
    assert_null(strstr(sealed, "s3cr3t"));
    assert_null(strstr(sealed, "API_TOKEN"));
    assert_int_equal(sq_open_blob(&box, "sbx_A", sealed, &plain, &n, &err), 0);
    assert_int_equal(n, strlen(spec));
    assert_string_equal(plain, spec);
    free(plain);
    /* another sandbox's id does not open it */
    assert_int_equal(sq_open_blob(&box, "sbx_B", sealed, &plain, &n, &err), -1);
    assert_null(plain);
    /* nor does a flipped byte */
    sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sq_open_blob(&box, "sbx_A", sealed, &plain, &n, &err), -1);
    free(sealed);
}

static void no_key_seals_nothing(void **state)
{
    (void)state;
    sq_wh_box box;
    sq_err err;
    assert_int_equal(sq_wh_box_init(&box, NULL, &err), 0);
    char *sealed = (char *)1;
    assert_int_equal(sq_seal_blob(&box, "sbx_A", "{}", 2, &sealed, &err), -1);
    assert_null(sealed);
    assert_int_equal(err.code, SQ_CAPABILITY_UNAVAILABLE);
}

static void large_spec_round_trips(void **state)
{
    (void)state;
    sq_wh_box box;
    sq_err err;
    assert_int_equal(sq_wh_box_init(&box, KEY, &err), 0);
    size_t len = 200000;
    char *big = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)('a' + i % 26);
    big[len] = '\0';
    char *sealed = NULL, *plain = NULL;
    size_t n = 0;
    assert_int_equal(sq_seal_blob(&box, "sbx_A", big, len, &sealed, &err), 0);
    assert_int_equal(sq_open_blob(&box, "sbx_A", sealed, &plain, &n, &err), 0);
    assert_int_equal(n, len);
    assert_memory_equal(plain, big, len);
    free(plain);
    free(sealed);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume_brings_it_up_and_kill_ends_it),
        cmocka_unit_test(other_requests_to_a_user_pause_are_refused_without_an_actor),
        cmocka_unit_test(drained_and_crashed_come_up_at_their_next_request),
        cmocka_unit_test(not_persisted_is_the_usual_path),
        cmocka_unit_test(a_lost_auto_checkpointed_sandbox_gets_an_actor),
        cmocka_unit_test(spec_auto_checkpoint),
        cmocka_unit_test(sealed_spec_round_trips_and_hides_the_env),
        cmocka_unit_test(no_key_seals_nothing),
        cmocka_unit_test(large_spec_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
