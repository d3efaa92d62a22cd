/* fuzz_b64.c — libFuzzer harness for sq_b64_decode / sq_b64_encode, which
 * decode files.write contentB64 and exec stdinB64 straight from requests.
 *
 * The input is tried both ways:
 *  - as base64 text: decoding never writes past len*3/4 bytes (the buffer is
 *    exactly that big, so ASan sees an overflow), and whatever decodes
 *    re-encodes to text that decodes to the same bytes;
 *  - as raw bytes: encode then decode gives them back, and the encoded text
 *    has exactly sq_b64_encoded_size(len) - 1 characters. */
#include <string.h>

#include "fuzz_check.h"
#include "sq/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* As text. */
    size_t cap = size / 4 * 3;
    unsigned char *dec = malloc(cap ? cap : 1);
    long n = sq_b64_decode((const char *)data, size, dec);
    FUZZ_CHECK(n >= -1);
    if (n >= 0) {
        FUZZ_CHECK(size % 4 == 0);
        FUZZ_CHECK((size_t)n <= cap && (size_t)n + 2 >= cap);
        char *enc = malloc(sq_b64_encoded_size((size_t)n));
        sq_b64_encode(dec, (size_t)n, enc);
        FUZZ_CHECK(strlen(enc) == size);
        unsigned char *dec2 = malloc(cap ? cap : 1);
        FUZZ_CHECK(sq_b64_decode(enc, size, dec2) == n);
        FUZZ_CHECK(memcmp(dec, dec2, (size_t)n) == 0);
        free(dec2);
        free(enc);
    }
    free(dec);

    /* As bytes. */
    char *enc = malloc(sq_b64_encoded_size(size));
    sq_b64_encode(data, size, enc);
    size_t elen = strlen(enc);
    FUZZ_CHECK(elen + 1 == sq_b64_encoded_size(size));
    unsigned char *back = malloc(elen / 4 * 3 + 1);
    FUZZ_CHECK(sq_b64_decode(enc, elen, back) == (long)size);
    FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);
    free(back);
    free(enc);
    return 0;
}
