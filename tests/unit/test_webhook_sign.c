/* test_webhook_sign.c — Standard Webhooks signing (webhook_sign.h) and the
 * sealing of stored secrets (webhook_secret.h).
 *
 * The first vector is the Standard Webhooks spec's own: test_sign_function in
 * standard-webhooks/standard-webhooks libraries/python/tests/test_webhooks.py
 * (secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id msg_p5jXN8AQM9LWM0D4loKWxJek,
 * timestamp 1614265330, body {"test": 2432232314}). The rotation vectors were
 * computed with Python's hmac module, independently of this code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/webhook_secret.h"
#include "sq/webhook_sign.h"

#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS 1614265330
#define SPEC_BODY "{\"test\": 2432232314}"
#define SPEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

#define NEW_SECRET "whsec_c2FuZHEgcm90YXRpb24gdGVzdCBrZXksIG5ldyEhIQ=="
#define EVT "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define TS 1795771391
#define BODY "{\"v\":1}"
#define SIG_NEW "v1,Tm6mfRmXgapOOueh6+jruvNQPVO8I3Y3Z7yljyMyrSs="
#define SIG_OLD "v1,udLXo91t2bgpHyVK5AQvtfy6kLypEVM+eFBQJIJjwp0="

static sq_wh_key key_of(const char *secret)
{
    sq_wh_key k;
    sq_err err;
    assert_int_equal(sq_wh_key_from_secret(secret, &k, &err), 0);
    return k;
}

static void test_spec_vector(void **state)
{
    (void)state;
    sq_wh_key k = key_of(SPEC_SECRET);
    char sig[SQ_WH_SIG_MAX];
    sq_wh_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig);
    assert_string_equal(sig, SPEC_SIG);
    /* The prefix is optional, as in the reference libraries. */
    sq_wh_key bare = key_of("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_int_equal(bare.len, k.len);
    assert_memory_equal(bare.k, k.k, k.len);
}

static void test_verify_spec_vector(void **state)
{
    (void)state;
    sq_wh_key k = key_of(SPEC_SECRET);
    const char *ts = "1614265330";
    assert_true(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY), SPEC_SIG, SPEC_TS + 10, 300));
    /* One changed byte of body, id or signature fails. */
    assert_false(sq_wh_verify(&k, SPEC_ID, ts, "{\"test\": 2432232315}", strlen(SPEC_BODY), SPEC_SIG, SPEC_TS, 300));
    assert_false(sq_wh_verify(&k, "msg_p5jXN8AQM9LWM0D4loKWxJeK", ts, SPEC_BODY, strlen(SPEC_BODY), SPEC_SIG, SPEC_TS,
                              300));
    assert_false(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY),
                              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", SPEC_TS, 300));
    /* A v2 (or unversioned) signature with the right bytes is not a v1 signature. */
    assert_false(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY),
                              "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", SPEC_TS, 300));
    /* Outside the tolerance, either way. */
    assert_false(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY), SPEC_SIG, SPEC_TS + 301, 300));
    assert_false(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY), SPEC_SIG, SPEC_TS - 301, 300));
    assert_false(sq_wh_verify(&k, SPEC_ID, "16142653x0", SPEC_BODY, strlen(SPEC_BODY), SPEC_SIG, SPEC_TS, 300));
    /* Among several signatures, one match is enough (the spec's multi-signature case). */
    assert_true(sq_wh_verify(&k, SPEC_ID, ts, SPEC_BODY, strlen(SPEC_BODY),
                             "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,x " SPEC_SIG, SPEC_TS, 300));
}

static void test_rotation_two_signatures(void **state)
{
    (void)state;
    sq_wh_key keys[2] = {key_of(NEW_SECRET), key_of(SPEC_SECRET)};
    char hdr[SQ_WH_HEADER_MAX];
    assert_int_equal(sq_wh_signature_header(keys, 2, EVT, TS, BODY, strlen(BODY), hdr), 0);
    assert_string_equal(hdr, SIG_NEW " " SIG_OLD);
    /* A receiver holding either secret verifies the delivery. */
    assert_true(sq_wh_verify(&keys[0], EVT, "1795771391", BODY, strlen(BODY), hdr, TS, 300));
    assert_true(sq_wh_verify(&keys[1], EVT, "1795771391", BODY, strlen(BODY), hdr, TS, 300));
    sq_wh_key other = key_of("whsec_b3RoZXIgc2VjcmV0");
    assert_false(sq_wh_verify(&other, EVT, "1795771391", BODY, strlen(BODY), hdr, TS, 300));
    /* One secret: one signature. */
    assert_int_equal(sq_wh_signature_header(keys, 1, EVT, TS, BODY, strlen(BODY), hdr), 0);
    assert_string_equal(hdr, SIG_NEW);
    assert_int_equal(sq_wh_signature_header(keys, 0, EVT, TS, BODY, strlen(BODY), hdr), -1);
    assert_int_equal(sq_wh_signature_header(keys, 3, EVT, TS, BODY, strlen(BODY), hdr), -1);
}

static void test_bad_secrets(void **state)
{
    (void)state;
    sq_wh_key k;
    sq_err err;
    assert_int_equal(sq_wh_key_from_secret("whsec_", &k, &err), -1);
    assert_int_equal(sq_wh_key_from_secret("whsec_a", &k, &err), -1);   /* 1 char mod 4: not base64 */
    assert_int_equal(sq_wh_key_from_secret("whsec_ab!d", &k, &err), -1);
    assert_int_equal(sq_wh_key_from_secret(NULL, &k, &err), -1);
    char longer[200] = "whsec_";
    memset(longer + 6, 'A', 120); /* 90 bytes > SQ_WH_KEY_MAX */
    assert_int_equal(sq_wh_key_from_secret(longer, &k, &err), -1);
    /* Unpadded base64 is accepted, as by the reference libraries. */
    assert_int_equal(sq_wh_key_from_secret("whsec_YWJj", &k, &err), 0);
    assert_int_equal(k.len, 3);
    assert_int_equal(sq_wh_key_from_secret("whsec_YWI", &k, &err), 0);
    assert_int_equal(k.len, 2);
    assert_memory_equal(k.k, "ab", 2);
}

static void test_box_round_trip_and_tamper(void **state)
{
    (void)state;
    sq_wh_box box;
    sq_err err;
    assert_int_equal(sq_wh_box_init(&box, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", &err), 0);
    assert_true(box.has_key);
    char sealed[SQ_WH_SEALED_MAX], out[300];
    assert_int_equal(sq_wh_box_seal(&box, "ep_A", SPEC_SECRET, sealed, &err), 0);
    assert_true(strncmp(sealed, "v1:", 3) == 0);
    assert_null(strstr(sealed, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_int_equal(sq_wh_box_open(&box, "ep_A", sealed, out, sizeof out, &err), 0);
    assert_string_equal(out, SPEC_SECRET);
    /* Sealing twice gives different text (fresh nonce). */
    char again[SQ_WH_SEALED_MAX];
    assert_int_equal(sq_wh_box_seal(&box, "ep_A", SPEC_SECRET, again, &err), 0);
    assert_string_not_equal(sealed, again);
    /* Another endpoint's row, a flipped byte, or another key: does not open. */
    assert_int_equal(sq_wh_box_open(&box, "ep_B", sealed, out, sizeof out, &err), -1);
    char bad[SQ_WH_SEALED_MAX];
    strcpy(bad, sealed);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sq_wh_box_open(&box, "ep_A", bad, out, sizeof out, &err), -1);
    sq_wh_box other;
    assert_int_equal(sq_wh_box_init(&other, "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=", &err), 0);
    assert_int_equal(sq_wh_box_open(&other, "ep_A", sealed, out, sizeof out, &err), -1);
    /* A sealed secret cannot be read without a key; a bad key is refused. */
    sq_wh_box none;
    assert_int_equal(sq_wh_box_init(&none, NULL, &err), 0);
    assert_int_equal(sq_wh_box_open(&none, "ep_A", sealed, out, sizeof out, &err), -1);
    assert_int_equal(sq_wh_box_init(&other, "c2hvcnQ=", &err), -1);
    /* Without a key: stored plain, and marked so. */
    assert_int_equal(sq_wh_box_seal(&none, "ep_A", SPEC_SECRET, sealed, &err), 0);
    assert_string_equal(sealed, "plain:" SPEC_SECRET);
    assert_int_equal(sq_wh_box_open(&none, "ep_A", sealed, out, sizeof out, &err), 0);
    assert_string_equal(out, SPEC_SECRET);
}

static void test_generated_secret(void **state)
{
    (void)state;
    char a[64], b[64];
    sq_err err;
    assert_int_equal(sq_wh_secret_generate(a, sizeof a, &err), 0);
    assert_int_equal(sq_wh_secret_generate(b, sizeof b, &err), 0);
    assert_true(strncmp(a, "whsec_", 6) == 0);
    assert_string_not_equal(a, b);
    sq_wh_key k = key_of(a);
    assert_int_equal(k.len, 24);
    assert_int_equal(sq_wh_secret_generate(a, 10, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector),          cmocka_unit_test(test_verify_spec_vector),
        cmocka_unit_test(test_rotation_two_signatures), cmocka_unit_test(test_bad_secrets),
        cmocka_unit_test(test_box_round_trip_and_tamper), cmocka_unit_test(test_generated_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
