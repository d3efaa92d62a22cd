/* test_browser_pages.c — which page the browser's next action acts on
 * (worker/src/caps/browser/pages.c): new tabs and popups become current, a
 * closed page returns to its opener or the page seen last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caps/browser/pages.h"

/* Target.getTargets' targetInfos from "id[<opener]" words; a word starting
 * with '-' is a target of another type (a worker, say). */
static json_t *infos(const char *const *words)
{
    json_t *a = json_array();
    for (; *words; words++) {
        char id[64] = "", opener[64] = "";
        const char *w = *words;
        bool other = w[0] == '-';
        if (other)
            w++;
        const char *lt = strchr(w, '<');
        if (lt) {
            snprintf(id, sizeof id, "%.*s", (int)(lt - w), w);
            snprintf(opener, sizeof opener, "%s", lt + 1);
        } else {
            snprintf(id, sizeof id, "%s", w);
        }
        json_t *t = json_pack("{s:s, s:s}", "targetId", id, "type", other ? "service_worker" : "page");
        if (opener[0])
            json_object_set_new(t, "openerId", json_string(opener));
        json_array_append_new(a, t);
    }
    return a;
}

static bool update(sq_pages *ps, const char *const *words)
{
    json_t *a = infos(words);
    bool changed = sq_pages_update(ps, a);
    json_decref(a);
    return changed;
}

static const char *current(sq_pages *ps)
{
    sq_page_ref *r = sq_pages_current(ps);
    return r ? r->target : "(none)";
}

static void test_first_listing_picks_a_page(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, NULL);
    assert_null(sq_pages_current(&ps));
    assert_true(update(&ps, (const char *[]){"-sw", "A", NULL}));
    assert_string_equal(current(&ps), "A");
    /* Nothing new, nothing closed: no change. */
    assert_false(update(&ps, (const char *[]){"A", "-sw", NULL}));
    assert_string_equal(current(&ps), "A");
}

static void test_newest_opened_page_becomes_current(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, "A");
    assert_true(update(&ps, (const char *[]){"A", "B<A", NULL}));
    assert_string_equal(current(&ps), "B");
    assert_string_equal(sq_pages_current(&ps)->opener, "A");
    /* Two at once: the last listed. */
    assert_true(update(&ps, (const char *[]){"A", "B<A", "C<B", "D<B", NULL}));
    assert_string_equal(current(&ps), "D");
}

static void test_closed_page_returns_to_its_opener(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, "A");
    update(&ps, (const char *[]){"A", "B<A", NULL});
    update(&ps, (const char *[]){"A", "B<A", "C", NULL}); /* C opened with no opener (noopener) */
    assert_string_equal(current(&ps), "C");
    /* C closes: it has no opener, so the page seen last, B. */
    assert_true(update(&ps, (const char *[]){"A", "B<A", NULL}));
    assert_string_equal(current(&ps), "B");
    /* B closes: back to its opener A, even though A was seen first. */
    update(&ps, (const char *[]){"A", "B<A", "E", NULL});
    update(&ps, (const char *[]){"A", "B<A", NULL}); /* E closed: B again */
    assert_string_equal(current(&ps), "B");
    assert_true(update(&ps, (const char *[]){"A", NULL}));
    assert_string_equal(current(&ps), "A");
    /* A closes too: none left. */
    assert_true(update(&ps, (const char *[]){"-sw", NULL}));
    assert_null(sq_pages_current(&ps));
}

static void test_opener_gone_falls_back_to_latest(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, "A");
    update(&ps, (const char *[]){"A", "B", NULL});
    update(&ps, (const char *[]){"A", "B", "C<B", NULL});
    /* B and C close together: C's opener is gone, so the latest left, A. */
    assert_true(update(&ps, (const char *[]){"A", NULL}));
    assert_string_equal(current(&ps), "A");
}

static void test_sessions_are_kept_with_their_page(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, "A");
    snprintf(sq_pages_current(&ps)->session, SQ_CDP_NAME_MAX, "S-A");
    update(&ps, (const char *[]){"A", "B<A", NULL});
    assert_string_equal(sq_pages_current(&ps)->session, "");
    update(&ps, (const char *[]){"A", NULL});
    assert_string_equal(sq_pages_current(&ps)->session, "S-A");
}

static void test_bounded_and_current_kept(void **state)
{
    (void)state;
    sq_pages ps;
    sq_pages_reset(&ps, "P0");
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:s, s:s}", "targetId", "P0", "type", "page"));
    /* Many new pages at once: at most SQ_PAGES_MAX are remembered, the newest is current. */
    for (int i = 1; i <= SQ_PAGES_MAX + 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "P%d", i);
        json_array_append_new(a, json_pack("{s:s, s:s}", "targetId", id, "type", "page"));
    }
    assert_true(sq_pages_update(&ps, a));
    json_decref(a);
    assert_int_equal(ps.n, SQ_PAGES_MAX);
    char want[16];
    snprintf(want, sizeof want, "P%d", SQ_PAGES_MAX + 5);
    assert_string_equal(current(&ps), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_listing_picks_a_page),
        cmocka_unit_test(test_newest_opened_page_becomes_current),
        cmocka_unit_test(test_closed_page_returns_to_its_opener),
        cmocka_unit_test(test_opener_gone_falls_back_to_latest),
        cmocka_unit_test(test_sessions_are_kept_with_their_page),
        cmocka_unit_test(test_bounded_and_current_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
