/* test_codec.c — base64 (RFC 4648 §10 test vectors), sha256 (FIPS 180-2
 * appendix B examples) and the clocks (sq/clock.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/clock.h"
#include "sq/codec.h"

/* RFC 4648 section 10. */
static const struct {
    const char *raw;
    const char *b64;
} rfc4648[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_b64_encode_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        size_t n = strlen(rfc4648[i].raw);
        char out[16];
        assert_int_equal(sq_b64_encoded_size(n), strlen(rfc4648[i].b64) + 1);
        memset(out, '#', sizeof out);
        sq_b64_encode(rfc4648[i].raw, n, out);
        assert_string_equal(out, rfc4648[i].b64);
    }
}

static void test_b64_decode_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        unsigned char out[16];
        memset(out, 0, sizeof out);
        long n = sq_b64_decode(rfc4648[i].b64, strlen(rfc4648[i].b64), out);
        assert_int_equal(n, (long)strlen(rfc4648[i].raw));
        assert_memory_equal(out, rfc4648[i].raw, (size_t)n);
    }
}

static void test_b64_full_alphabet_and_binary(void **state)
{
    (void)state;
    /* Bytes 0xfb 0xff 0xbf use '+' and '/', which a base64url decoder would not. */
    const unsigned char bin[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
    char enc[16];
    sq_b64_encode(bin, sizeof bin, enc);
    assert_string_equal(enc, "+/+/ABCD");
    unsigned char back[8];
    assert_int_equal(sq_b64_decode(enc, strlen(enc), back), (long)sizeof bin);
    assert_memory_equal(back, bin, sizeof bin);

    /* Every byte value survives a round trip, at every length mod 3. */
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    for (size_t len = 250; len <= 256; len++) {
        char *e = malloc(sq_b64_encoded_size(len));
        unsigned char d[256];
        sq_b64_encode(all, len, e);
        assert_int_equal(strlen(e) + 1, sq_b64_encoded_size(len));
        assert_int_equal(sq_b64_decode(e, strlen(e), d), (long)len);
        assert_memory_equal(d, all, len);
        free(e);
    }
}

static void test_b64_decode_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg",        /* not a multiple of 4 */
        "Zg=",       /* ditto */
        "Zm9vY",     /* ditto */
        "Zm9\n",     /* whitespace is not accepted */
        "Zm 9",      /* space */
        "Zm9 Zg==",  /* space at the end of a quantum */
        "Zg==Zg==",  /* padding before the last quantum */
        "Z===",      /* three padding characters */
        "====",      /* only padding */
        "=Zg=",      /* padding first */
        "Z=g=",      /* data after padding */
        "Zg=a",      /* ditto */
        "Zm9-",      /* base64url alphabet */
        "Zm9_",      /* ditto */
        "Zm9*",      /* not base64 at all */
        "Zm9\x80",   /* high byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char out[16];
        long n = sq_b64_decode(bad[i], strlen(bad[i]), out);
        if (n != -1)
            fail_msg("\"%s\" decoded to %ld bytes, want -1", bad[i], n);
    }
    /* An embedded NUL is a bad character, not the end of the input. */
    unsigned char out[8];
    assert_int_equal(sq_b64_decode("Zm\0v", 4, out), -1);
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    sq_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sq_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sq_sha256_hex(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = sq_now_ms();
    /* After 2024-01-01 and before 2100: epoch milliseconds, not seconds or µs. */
    assert_true(now > 1704067200000LL);
    assert_true(now < 4102444800000LL);
    int64_t a = sq_mono_ms();
    int64_t b = sq_mono_ms();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_encode_rfc4648),
        cmocka_unit_test(test_b64_decode_rfc4648),
        cmocka_unit_test(test_b64_full_alphabet_and_binary),
        cmocka_unit_test(test_b64_decode_rejects_malformed),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
