/* test_answer.c — which event answers which request, and how a
 * dedupe key's value is read (worker/src/pipeline/answer_rules.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "pipeline/answer_rules.h"

static void answers_per_request_type(void **state)
{
    (void)state;
    /* Every request can be answered by a rejection. */
    for (int t = SQ_REQ_SANDBOX_CREATE; t < SQ_REQ__COUNT; t++)
        assert_true(sq_event_answers((sq_req_type)t, "request.rejected"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_CREATE, "sandbox.ready"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_CREATE, "sandbox.failed"));
    assert_false(sq_event_answers(SQ_REQ_SANDBOX_CREATE, "sandbox.queued"));
    assert_false(sq_event_answers(SQ_REQ_SANDBOX_CREATE, "sandbox.assigning"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_KILL, "sandbox.ended"));
    assert_false(sq_event_answers(SQ_REQ_SANDBOX_KILL, "sandbox.ending"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_PAUSE, "sandbox.paused"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_PAUSE, "sandbox.ready"));
    assert_false(sq_event_answers(SQ_REQ_SANDBOX_PAUSE, "sandbox.pausing"));
    assert_true(sq_event_answers(SQ_REQ_SANDBOX_RESUME, "sandbox.resumed"));
    assert_false(sq_event_answers(SQ_REQ_SANDBOX_SET_TIMEOUT, "sandbox.ready"));
    sq_req_type tasks[] = {SQ_REQ_TASK_EXEC, SQ_REQ_TASK_CODE, SQ_REQ_FILES_WRITE, SQ_REQ_FILES_READ,
                           SQ_REQ_FILES_LIST, SQ_REQ_FILES_REMOVE};
    for (size_t i = 0; i < sizeof tasks / sizeof *tasks; i++) {
        assert_true(sq_event_answers(tasks[i], "sandbox.task.completed"));
        assert_true(sq_event_answers(tasks[i], "sandbox.task.failed"));
        /* The way there is not the answer; nor is the ready after a task. */
        assert_false(sq_event_answers(tasks[i], "sandbox.task.queued"));
        assert_false(sq_event_answers(tasks[i], "sandbox.task.started"));
        assert_false(sq_event_answers(tasks[i], "sandbox.task.output"));
        assert_false(sq_event_answers(tasks[i], "sandbox.active"));
        assert_false(sq_event_answers(tasks[i], "sandbox.ready"));
    }
    assert_false(sq_event_answers(SQ_REQ_TASK_EXEC, NULL));
    /* A hand-off step and preview.url are answered by their own event, so a
     * redelivered one replays its first answer instead of running again. */
    assert_true(sq_event_answers(SQ_REQ_HANDOFF_REQUEST, "sandbox.handoff.requested"));
    assert_true(sq_event_answers(SQ_REQ_HANDOFF_ACCEPT, "sandbox.handoff.accepted"));
    assert_true(sq_event_answers(SQ_REQ_HANDOFF_COMPLETE, "sandbox.handoff.completed"));
    assert_true(sq_event_answers(SQ_REQ_HANDOFF_CANCEL, "sandbox.handoff.cancelled"));
    assert_true(sq_event_answers(SQ_REQ_PREVIEW_URL, "sandbox.preview.url"));
    assert_false(sq_event_answers(SQ_REQ_HANDOFF_ACCEPT, "sandbox.handoff.requested"));
    assert_false(sq_event_answers(SQ_REQ_HANDOFF_REQUEST, "sandbox.task.completed"));
}

static void dedupe_values(void **state)
{
    (void)state;
    const char *mine = "run_01JD000000000000000000000A";
    const char *answer = "x";
    assert_int_equal(sq_dedupe_classify(NULL, mine, &answer), SQ_DEDUPE_NEW);
    assert_null(answer);
    assert_int_equal(sq_dedupe_classify("done", mine, &answer), SQ_DEDUPE_DONE);
    /* Being handled: by me (a second copy arrived meanwhile), or by a run that died. */
    assert_int_equal(sq_dedupe_classify("p:run_01JD000000000000000000000A", mine, &answer), SQ_DEDUPE_IN_FLIGHT);
    assert_int_equal(sq_dedupe_classify("p:run_01JD000000000000000000000B", mine, &answer), SQ_DEDUPE_NEW);
    /* A prefix of my run id is another run. */
    assert_int_equal(sq_dedupe_classify("p:run_01JD00000000000000000000", mine, &answer), SQ_DEDUPE_NEW);
    /* Answered: by me (still finishing), or by a run that died before its commit. */
    assert_int_equal(sq_dedupe_classify("a:run_01JD000000000000000000000A:{\"eventId\":1}", mine, &answer),
                     SQ_DEDUPE_IN_FLIGHT);
    assert_null(answer);
    assert_int_equal(sq_dedupe_classify("a:run_01JD000000000000000000000B:{\"eventId\":1}", mine, &answer),
                     SQ_DEDUPE_ANSWERED);
    assert_string_equal(answer, "{\"eventId\":1}");
    /* The envelope may itself hold colons: only the first one after the run counts. */
    assert_int_equal(sq_dedupe_classify("a:run_B:{\"a\":\"b:c\"}", mine, &answer), SQ_DEDUPE_ANSWERED);
    assert_string_equal(answer, "{\"a\":\"b:c\"}");
    /* Malformed values are nobody's claim: the request is redone. */
    assert_int_equal(sq_dedupe_classify("", mine, &answer), SQ_DEDUPE_NEW);
    assert_int_equal(sq_dedupe_classify("a:run_B", mine, &answer), SQ_DEDUPE_NEW);
    assert_int_equal(sq_dedupe_classify("a:run_B:", mine, &answer), SQ_DEDUPE_NEW);
    assert_int_equal(sq_dedupe_classify("a::{}", mine, &answer), SQ_DEDUPE_NEW);
    assert_int_equal(sq_dedupe_classify("p:", mine, &answer), SQ_DEDUPE_NEW);
    assert_int_equal(sq_dedupe_classify("x:run_B", mine, &answer), SQ_DEDUPE_NEW);
    assert_null(answer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(answers_per_request_type),
        cmocka_unit_test(dedupe_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
