/* test_state_machine.c — every (state, request type) pair against the table of
 * what is legal, written out independently of worker/src/state_machine.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle/state_machine.h"

/* Expected outcome per pair: 'o' ok, 'i' invalid_state, 'x' sandbox_exists, 'n' sandbox_not_found. */
typedef struct row {
    sq_req_type type;
    /* NONE queued assigning ready active pausing paused ending ended failed */
    const char *expect;
} row;

static const row table[] = {
    {SQ_REQ_SANDBOX_CREATE,      "oxxxxxxxxx"},
    {SQ_REQ_SANDBOX_PAUSE,       "niiooiiiii"},
    {SQ_REQ_SANDBOX_RESUME,      "niiiiioiii"},
    {SQ_REQ_SANDBOX_KILL,        "nooooooiii"},
    {SQ_REQ_SANDBOX_SET_TIMEOUT, "nooooooiii"},
    {SQ_REQ_TASK_EXEC,           "niiooiiiii"},
    {SQ_REQ_TASK_CODE,           "niiooiiiii"},
    {SQ_REQ_TASK_AGENT,          "niiooiiiii"},
    {SQ_REQ_TASK_BROWSER,        "niiooiiiii"},
    {SQ_REQ_TASK_DOCUMENT,       "niiooiiiii"},
    {SQ_REQ_TASK_CANCEL,         "niiooiiiii"},
    {SQ_REQ_FILES_WRITE,         "niiooiiiii"},
    {SQ_REQ_FILES_READ,          "niiooiiiii"},
    {SQ_REQ_FILES_LIST,          "niiooiiiii"},
    {SQ_REQ_FILES_REMOVE,        "niiooiiiii"},
    /* not while paused: tar runs inside the sandbox, which is frozen */
    {SQ_REQ_CHECKPOINT_CREATE,   "niiooiiiii"},
    {SQ_REQ_CHECKPOINT_RESTORE,  "niiooiiiii"},
    {SQ_REQ_CHECKPOINTS_LIST,    "niiooiiiii"},
    {SQ_REQ_HANDOFF_REQUEST,     "niiooiiiii"},
    {SQ_REQ_HANDOFF_ACCEPT,      "niiooiiiii"},
    {SQ_REQ_HANDOFF_COMPLETE,    "niiooiiiii"},
    {SQ_REQ_HANDOFF_CANCEL,      "niiooiiiii"},
    {SQ_REQ_PREVIEW_URL,         "niiooioiii"},
};

static sq_code code_for(char c)
{
    switch (c) {
    case 'o': return SQ_OK;
    case 'i': return SQ_INVALID_STATE;
    case 'x': return SQ_SANDBOX_EXISTS;
    default: return SQ_SANDBOX_NOT_FOUND;
    }
}

static void every_pair_matches_the_table(void **state)
{
    (void)state;
    assert_int_equal(sizeof table / sizeof table[0], SQ_REQ__COUNT - 1); /* every type has a row */
    for (size_t r = 0; r < sizeof table / sizeof table[0]; r++) {
        assert_int_equal(strlen(table[r].expect), SQ_STATE__COUNT);
        for (int s = 0; s < SQ_STATE__COUNT; s++) {
            sq_err err;
            sq_err_clear(&err);
            int rc = sq_sm_check((sq_state)s, table[r].type, &err);
            sq_code want = code_for(table[r].expect[s]);
            if (want == SQ_OK) {
                assert_int_equal(rc, 0);
            } else {
                assert_int_equal(rc, -1);
                if (err.code != want)
                    fail_msg("%s in state %s: got %s, want %s", sq_req_type_name(table[r].type),
                             sq_state_name((sq_state)s) ? sq_state_name((sq_state)s) : "none",
                             sq_code_name(err.code), sq_code_name(want));
                assert_true(err.msg[0] != '\0');
            }
        }
    }
}

static void terminal_states_accept_nothing_but_are_known(void **state)
{
    (void)state;
    for (int t = 1; t < SQ_REQ__COUNT; t++) {
        sq_err err;
        if ((sq_req_type)t == SQ_REQ_SANDBOX_CREATE)
            continue;
        assert_int_equal(sq_sm_check(SQ_STATE_ENDED, (sq_req_type)t, &err), -1);
        assert_int_equal(err.code, SQ_INVALID_STATE);
        assert_int_equal(sq_sm_check(SQ_STATE_FAILED, (sq_req_type)t, &err), -1);
        assert_int_equal(err.code, SQ_INVALID_STATE);
    }
}

static void out_of_range_inputs_are_errors_not_crashes(void **state)
{
    (void)state;
    sq_err err;
    assert_int_equal(sq_sm_check(SQ_STATE_READY, SQ_REQ_UNKNOWN, &err), -1);
    assert_int_equal(err.code, SQ_UNKNOWN_TYPE);
    assert_int_equal(sq_sm_check(SQ_STATE_READY, SQ_REQ__COUNT, &err), -1);
    assert_int_equal(sq_sm_check(SQ_STATE__COUNT, SQ_REQ_TASK_EXEC, &err), -1);
    assert_int_equal(err.code, SQ_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair_matches_the_table),
        cmocka_unit_test(terminal_states_accept_nothing_but_are_known),
        cmocka_unit_test(out_of_range_inputs_are_errors_not_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
