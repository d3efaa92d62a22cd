/* test_utf8.c — the strict UTF-8 decoder (sq/utf8.h) that task output, the
 * agent's tool results and asciicast recordings share: what is text and what
 * becomes dataB64, '?' or U+FFFD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sq/utf8.h"

#define U(s) ((const unsigned char *)(s))

static void seq_is(const char *bytes, size_t n, size_t want)
{
    size_t got = sq_utf8_seq(U(bytes), n);
    if (got != want) {
        char hex[64] = "";
        for (size_t i = 0; i < n && i < 8; i++)
            snprintf(hex + strlen(hex), sizeof hex - strlen(hex), "%02X ", (unsigned char)bytes[i]);
        fail_msg("sq_utf8_seq(%s, %zu) = %zu, want %zu", hex, n, got, want);
    }
}

static void valid_one_to_four_bytes(void **state)
{
    (void)state;
    seq_is("A", 1, 1);
    seq_is("\x7F", 1, 1);
    seq_is("\0", 1, 1); /* NUL is well-formed; callers refuse it themselves */
    seq_is("\xC2\x80", 2, 2);             /* U+0080, smallest 2-byte */
    seq_is("\xC3\xA9", 2, 2);             /* é */
    seq_is("\xDF\xBF", 2, 2);             /* U+07FF */
    seq_is("\xE0\xA0\x80", 3, 3);         /* U+0800, smallest 3-byte */
    seq_is("\xE2\x82\xAC", 3, 3);         /* € */
    seq_is("\xED\x9F\xBF", 3, 3);         /* U+D7FF, just below the surrogates */
    seq_is("\xEE\x80\x80", 3, 3);         /* U+E000, just above them */
    seq_is("\xEF\xBF\xBF", 3, 3);         /* U+FFFF */
    seq_is("\xF0\x90\x80\x80", 4, 4);     /* U+10000, smallest 4-byte */
    seq_is("\xF0\x9F\x98\x80", 4, 4);     /* 😀 */
    seq_is("\xF4\x8F\xBF\xBF", 4, 4);     /* U+10FFFF, the last code point */
    /* only the first sequence counts */
    seq_is("A\xFF", 2, 1);
    seq_is("\xC3\xA9\xFF", 3, 2);
    assert_true(sq_utf8_valid("", 0));
    const char *mixed = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
    assert_true(sq_utf8_valid(mixed, strlen(mixed)));
}

static void overlongs(void **state)
{
    (void)state;
    seq_is("\xC0\x80", 2, 0);         /* NUL in two bytes */
    seq_is("\xC1\xBF", 2, 0);         /* U+007F in two bytes */
    seq_is("\xE0\x80\x80", 3, 0);     /* NUL in three */
    seq_is("\xE0\x9F\xBF", 3, 0);     /* U+07FF in three */
    seq_is("\xF0\x80\x80\x80", 4, 0); /* NUL in four */
    seq_is("\xF0\x8F\xBF\xBF", 4, 0); /* U+FFFF in four */
    assert_false(sq_utf8_valid("ab\xC0\xAF", 4)); /* the classic overlong '/' */
}

static void surrogates(void **state)
{
    (void)state;
    seq_is("\xED\xA0\x80", 3, 0); /* U+D800 */
    seq_is("\xED\xAD\xBF", 3, 0); /* U+DB7F */
    seq_is("\xED\xB0\x80", 3, 0); /* U+DC00 */
    seq_is("\xED\xBF\xBF", 3, 0); /* U+DFFF */
    /* a CESU-8 pair (U+1F600 as two surrogates) is not UTF-8 either */
    assert_false(sq_utf8_valid("\xED\xA0\xBD\xED\xB8\x80", 6));
}

static void above_u10ffff(void **state)
{
    (void)state;
    seq_is("\xF4\x90\x80\x80", 4, 0);         /* U+110000 */
    seq_is("\xF7\xBF\xBF\xBF", 4, 0);         /* U+1FFFFF, the largest 4-byte form */
    seq_is("\xF8\x88\x80\x80\x80", 5, 0);     /* 5-byte lead */
    seq_is("\xFC\x84\x80\x80\x80\x80", 6, 0); /* 6-byte lead */
    seq_is("\xFE", 1, 0);
    seq_is("\xFF", 1, 0);
}

static void truncated_and_stray(void **state)
{
    (void)state;
    seq_is("", 0, 0);
    seq_is("\xC3", 1, 0);
    seq_is("\xE2\x82", 2, 0);
    seq_is("\xF0\x9F\x98", 3, 0);
    /* the bytes are there but n says they are not */
    seq_is("\xF0\x9F\x98\x80", 3, 0);
    /* a lead followed by something that is not a continuation */
    seq_is("\xC3" "A", 2, 0);
    seq_is("\xE2\x82" "A", 3, 0);
    seq_is("\xF0\x9F\x98" "A", 4, 0);
    seq_is("\xE2\xC3\xA9", 3, 0);
    /* a continuation byte on its own */
    seq_is("\x80", 1, 0);
    seq_is("\xBF", 1, 0);
    assert_false(sq_utf8_valid("ok\xE2\x82", 4));  /* cut at the end, as a read can cut it */
    assert_false(sq_utf8_valid("\x80ok", 3));
    assert_true(sq_utf8_valid("ok\xE2\x82\xAC", 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_one_to_four_bytes),
        cmocka_unit_test(overlongs),
        cmocka_unit_test(surrogates),
        cmocka_unit_test(above_u10ffff),
        cmocka_unit_test(truncated_and_stray),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
