/* test_cli_args.c — what people type on the sandq command line
 * (producer/src/units.h: durations, sizes, KEY=VALUE, SBX:path), chunk planning for
 * files.write (producer/src/chunks.h), the UTF-8 check that picks `stdin` over
 * `stdinB64` (utf8.h) and the time inside an id (ulid_time.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chunks.h"
#include "ulid_time.h"
#include "units.h"
#include "utf8.h"

#define SBX "sbx_01ARZ3NDEKTSV4RRFFQ69G5FAW"

static int64_t dur(const char *s)
{
    int64_t ms = -42;
    assert_int_equal(sqp_parse_duration_ms(s, &ms), 0);
    return ms;
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(dur("500ms"), 500);
    assert_int_equal(dur("30s"), 30000);
    assert_int_equal(dur("30m"), 30 * 60000);
    assert_int_equal(dur("2h"), 2 * 3600000);
    assert_int_equal(dur("1d"), 86400000);
    assert_int_equal(dur("1h30m"), 5400000);
    assert_int_equal(dur("1m30s500ms"), 90500);
    assert_int_equal(dur("45"), 45000); /* bare number: seconds */
    assert_int_equal(dur("0s"), 0);
}

static void test_bad_durations(void **state)
{
    (void)state;
    int64_t ms;
    const char *bad[] = {"", "s", "ms", "-5s", "1.5s", "10x", "5 s", "30m10", "1h 2m", "99999999999999999999s",
                         "9223372036854775807h", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sqp_parse_duration_ms(bad[i], &ms), -1);
    assert_int_equal(sqp_parse_duration_ms(NULL, &ms), -1);
}

static uint64_t size(const char *s, uint64_t bare)
{
    uint64_t b = 42;
    assert_int_equal(sqp_parse_size_bytes(s, bare, &b), 0);
    return b;
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(size("512M", 1), 512ULL << 20);
    assert_int_equal(size("2G", 1), 2ULL << 30);
    assert_int_equal(size("2g", 1), 2ULL << 30);
    assert_int_equal(size("64K", 1), 64ULL << 10);
    assert_int_equal(size("64KiB", 1), 64ULL << 10);
    assert_int_equal(size("64KB", 1), 64ULL << 10);
    assert_int_equal(size("1T", 1), 1ULL << 40);
    assert_int_equal(size("1.5G", 1), 3ULL << 29);
    assert_int_equal(size("0.5M", 1), 512ULL << 10);
    assert_int_equal(size("100B", 1), 100);
    assert_int_equal(size("100", 1), 100);
    assert_int_equal(size("512", 1ULL << 20), 512ULL << 20); /* bare number in MiB for --memory */
}

static void test_bad_sizes(void **state)
{
    (void)state;
    uint64_t b;
    const char *bad[] = {"", "M", "-1M", "1.M", "12Q", "1MM", "1Mx", "1 M", "99999999999999999999",
                         "16777216T", ".5M", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sqp_parse_size_bytes(bad[i], 1, &b), -1);
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(sqp_format_bytes(0, buf, sizeof buf), "0 B");
    assert_string_equal(sqp_format_bytes(1023, buf, sizeof buf), "1023 B");
    assert_string_equal(sqp_format_bytes(3ULL << 20, buf, sizeof buf), "3.0 MiB");
    assert_string_equal(sqp_format_bytes(1536, buf, sizeof buf), "1.5 KiB");
    assert_string_equal(sqp_format_duration(850, buf, sizeof buf), "850ms");
    assert_string_equal(sqp_format_duration(1234, buf, sizeof buf), "1.2s");
    assert_string_equal(sqp_format_duration(125000, buf, sizeof buf), "2m05s");
    assert_string_equal(sqp_format_duration(3720000, buf, sizeof buf), "1h02m");
}

static void test_kv(void **state)
{
    (void)state;
    assert_int_equal(sqp_kv_key_len("A=1"), 1);
    assert_int_equal(sqp_kv_key_len("PATH=/a=b"), 4); /* the first '=' splits */
    assert_int_equal(sqp_kv_key_len("EMPTY="), 5);
    assert_int_equal(sqp_kv_key_len("=x"), 0);
    assert_int_equal(sqp_kv_key_len("novalue"), 0);
    assert_int_equal(sqp_kv_key_len(NULL), 0);
}

static void test_remote(void **state)
{
    (void)state;
    char id[32];
    const char *path;
    assert_true(sqp_split_remote(SBX ":/workspace/a.txt", id, &path));
    assert_string_equal(id, SBX);
    assert_string_equal(path, "/workspace/a.txt");
    assert_true(sqp_split_remote(SBX ":rel/a:b", id, &path));
    assert_string_equal(path, "rel/a:b"); /* only the first ':' splits */
    assert_false(sqp_split_remote(SBX, id, &path));
    assert_false(sqp_split_remote(SBX ":", id, &path));
    assert_false(sqp_split_remote("sbx_bad:/x", id, &path));
    assert_false(sqp_split_remote("tsk_01ARZ3NDEKTSV4RRFFQ69G5FAW:/x", id, &path));
    assert_false(sqp_split_remote("./local:file", id, &path));
}

static void test_chunk_plan(void **state)
{
    (void)state;
    const size_t max = 512 * 1024;
    uint64_t off;
    size_t len;
    assert_int_equal(sqp_chunk_count(0, max), 1); /* empty file: one empty chunk creates it */
    sqp_chunk_range(0, max, 0, &off, &len);
    assert_int_equal(off, 0);
    assert_int_equal(len, 0);
    assert_int_equal(sqp_chunk_count(1, max), 1);
    assert_int_equal(sqp_chunk_count(max, max), 1);
    assert_int_equal(sqp_chunk_count(max + 1, max), 2);
    assert_int_equal(sqp_chunk_count(3 << 20, max), 6);
    /* 3 MiB + 1: six full chunks and a one-byte tail, contiguous and complete */
    uint64_t total = (3 << 20) + 1, next = 0;
    size_t n = sqp_chunk_count(total, max);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++) {
        sqp_chunk_range(total, max, i, &off, &len);
        assert_int_equal(off, next);
        assert_true(len > 0 && len <= max);
        next = off + len;
    }
    assert_int_equal(next, total);
}

static void test_chunk_accept(void **state)
{
    (void)state;
    uint64_t next = 0;
    size_t skip;
    assert_int_equal(sqp_chunk_accept(&next, 0, 10, &skip), 10);
    assert_int_equal(skip, 0);
    assert_int_equal(next, 10);
    /* an exact duplicate (a replayed event) is dropped */
    assert_int_equal(sqp_chunk_accept(&next, 0, 10, &skip), 0);
    assert_int_equal(next, 10);
    /* an overlap delivers only the new tail */
    assert_int_equal(sqp_chunk_accept(&next, 5, 10, &skip), 5);
    assert_int_equal(skip, 5);
    assert_int_equal(next, 15);
    /* a gap is taken whole and moves next past it */
    assert_int_equal(sqp_chunk_accept(&next, 20, 4, &skip), 4);
    assert_int_equal(skip, 0);
    assert_int_equal(next, 24);
    /* empty chunks change nothing */
    assert_int_equal(sqp_chunk_accept(&next, 24, 0, &skip), 0);
    assert_int_equal(next, 24);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(sqp_utf8_text("", 0));
    assert_true(sqp_utf8_text("hello\n", 6));
    assert_true(sqp_utf8_text("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
    assert_false(sqp_utf8_text("a\0b", 3));                               /* NUL */
    assert_false(sqp_utf8_text("\xff", 1));
    assert_false(sqp_utf8_text("\xc3", 1));             /* truncated */
    assert_false(sqp_utf8_text("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(sqp_utf8_text("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(sqp_utf8_text("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(sqp_utf8_text("\x80", 1));             /* lone continuation */
}

static void test_id_time(void **state)
{
    (void)state;
    int64_t ms;
    /* 01ARZ3NDEK (the ULID README's example id) encodes 1469922850259 */
    assert_int_equal(sqp_id_time_ms(SBX, &ms), 0);
    assert_int_equal(ms, 1469922850259LL);
    assert_int_equal(sqp_id_time_ms("sbx_01arz3ndektsv4rrffq69g5faw", &ms), 0);
    assert_int_equal(ms, 1469922850259LL);
    assert_int_equal(sqp_id_time_ms("sbx_81ARZ3NDEKTSV4RRFFQ69G5FAW", &ms), -1); /* overflows 48 bits */
    assert_int_equal(sqp_id_time_ms("sbx_01ARZ3NDEK", &ms), -1);
    assert_int_equal(sqp_id_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAW", &ms), -1);
    assert_int_equal(sqp_id_time_ms("sbx_01ARZ3NDEUTSV4RRFFQ69G5FAW", &ms), -1); /* U is not Crockford */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),   cmocka_unit_test(test_bad_durations), cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_bad_sizes),   cmocka_unit_test(test_format),        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_remote),      cmocka_unit_test(test_chunk_plan),    cmocka_unit_test(test_chunk_accept),
        cmocka_unit_test(test_utf8),        cmocka_unit_test(test_id_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
