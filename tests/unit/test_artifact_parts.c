/* test_artifact_parts.c — how an export's list is split over several
 * sandbox.artifacts.updated events (artifacts/parts.h): every item in exactly
 * one part, in order, no part over the budget unless one item alone is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "artifacts/parts.h"

/* Checks the plan's own promises and returns its part count. */
static size_t plan_ok(const size_t *bytes, size_t n, size_t budget, size_t *part_of)
{
    size_t parts = sq_art_parts_plan(bytes, n, budget, part_of);
    assert_true(parts >= 1);
    size_t used = 0, cur = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(part_of[i] == cur || part_of[i] == cur + 1); /* in order, none empty */
        if (part_of[i] != cur) {
            cur = part_of[i];
            used = 0;
            count = 0;
        }
        used += bytes[i] + 1;
        count++;
        if (count > 1) /* only a lone item may be over the budget */
            assert_true(used <= budget);
    }
    assert_int_equal(n ? cur + 1 : 1, parts);
    return parts;
}

static void nothing_is_one_part(void **state)
{
    (void)state;
    size_t part_of[1];
    assert_int_equal(plan_ok(NULL, 0, 1000, part_of), 1);
}

static void a_list_that_fits_is_one_part(void **state)
{
    (void)state;
    size_t bytes[] = {100, 200, 300}, part_of[3];
    assert_int_equal(plan_ok(bytes, 3, 603, part_of), 1); /* 3 commas counted */
    assert_int_equal(part_of[2], 0);
    assert_int_equal(plan_ok(bytes, 3, 602, part_of), 2);
    assert_int_equal(part_of[0], 0);
    assert_int_equal(part_of[1], 0);
    assert_int_equal(part_of[2], 1);
}

static void many_equal_items(void **state)
{
    (void)state;
    size_t bytes[256], part_of[256];
    for (size_t i = 0; i < 256; i++)
        bytes[i] = 599; /* 600 with its comma: ten per 6000 bytes */
    assert_int_equal(plan_ok(bytes, 256, 6000, part_of), 26);
    for (size_t i = 0; i < 256; i++)
        assert_int_equal(part_of[i], i / 10);
}

static void an_item_over_the_budget_is_alone(void **state)
{
    (void)state;
    size_t bytes[] = {10, 5000, 10, 10}, part_of[4];
    assert_int_equal(plan_ok(bytes, 4, 100, part_of), 3);
    assert_int_equal(part_of[0], 0);
    assert_int_equal(part_of[1], 1);
    assert_int_equal(part_of[2], 2);
    assert_int_equal(part_of[3], 2);
    /* a zero budget (an envelope as large as the bound): one item a part */
    assert_int_equal(plan_ok(bytes, 4, 0, part_of), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_is_one_part),
        cmocka_unit_test(a_list_that_fits_is_one_part),
        cmocka_unit_test(many_equal_items),
        cmocka_unit_test(an_item_over_the_budget_is_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
