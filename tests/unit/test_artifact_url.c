/* test_artifact_url.c — artifact store URLs, keys and download signatures
 * (sq/artifact_url.h).
 *
 * The SigV4 vector is AWS's own presigned-URL example ("Authenticating Requests:
 * Using Query Parameters", examplebucket/test.txt, 20130524T000000Z, 86400 s);
 * the HMAC vectors were computed with Python's hmac module, independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sq/artifact_url.h"

#define ART "art_01ARZ3NDEKTSV4RRFFQ69G5FAV"

static void test_store_loc(void **state)
{
    (void)state;
    sq_store_loc l;
    sq_err e;
    assert_int_equal(sq_store_loc_parse("file:///var/lib/sandq/artifacts/", "X", &l, &e), 0);
    assert_int_equal(l.kind, SQ_STORE_FILE);
    assert_string_equal(l.dir, "/var/lib/sandq/artifacts");
    assert_int_equal(sq_store_loc_parse("s3://my-bucket/a/b/", "X", &l, &e), 0);
    assert_int_equal(l.kind, SQ_STORE_S3);
    assert_string_equal(l.bucket, "my-bucket");
    assert_string_equal(l.prefix, "a/b");
    assert_int_equal(sq_store_loc_parse("s3://bkt", "X", &l, &e), 0);
    assert_string_equal(l.prefix, "");
    assert_int_equal(sq_store_loc_parse("file://relative", "X", &l, &e), -1);
    assert_int_equal(sq_store_loc_parse("s3://B", "X", &l, &e), -1);          /* uppercase, too short */
    assert_int_equal(sq_store_loc_parse("s3://bucket/../x", "X", &l, &e), -1);
    assert_int_equal(sq_store_loc_parse("http://x", "X", &l, &e), -1);
    assert_string_equal(e.field, "X");
}

static void test_key(void **state)
{
    (void)state;
    char k[SQ_ART_KEY_MAX];
    sq_err e;
    assert_int_equal(sq_art_key("acme", "runs/42", "sbx_1", ART, "out/a.csv", k, &e), 0);
    assert_string_equal(k, "acme/runs/42/sbx_1/" ART "/out/a.csv");
    assert_int_equal(sq_art_key("acme", "", "sbx_1", ART, "a.csv", k, &e), 0);
    assert_string_equal(k, "acme/sbx_1/" ART "/a.csv");
    assert_int_equal(sq_art_key("acme", NULL, "sbx_1", ART, "a.csv", k, &e), 0);
    assert_int_equal(sq_art_key("acme", "../up", "sbx_1", ART, "a.csv", k, &e), -1);
    assert_string_equal(e.field, "body.capabilities.storage.artifactPrefix");
    assert_int_equal(sq_art_key("acme", "a//b", "sbx_1", ART, "a.csv", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "a/", "sbx_1", ART, "a.csv", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "a b", "sbx_1", ART, "a.csv", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "x", "sbx_1", ART, "../etc/passwd", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "x", "sbx_1", ART, "/etc/passwd", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "x", "sbx_1", ART, "a/../../b", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "x", "sbx_1", ART, "a//b", k, &e), -1);
    assert_int_equal(sq_art_key("acme", "x", "sbx_1", ART, "..name/x", k, &e), 0); /* a name, not a parent */
    assert_int_equal(sq_art_key("ac/../me", "x", "sbx_1", ART, "a", k, &e), -1);
    sq_store_loc l;
    assert_int_equal(sq_store_loc_parse("s3://bkt/pre", "X", &l, &e), 0);
    char o[SQ_ART_KEY_MAX];
    assert_int_equal(sq_art_object_key(&l, "acme/x", o), 0);
    assert_string_equal(o, "pre/acme/x");
}

static const unsigned char KEY[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#define SIG "cddb2604adf06c47b8b1d51b129963cc1d99de02b9d8f345a34bc0e094b37709"

static void test_url_sign_verify(void **state)
{
    (void)state;
    char sig[65], url[SQ_ART_URL_MAX];
    sq_art_sig(KEY, ART, 1795771391, sig);
    assert_string_equal(sig, SIG);
    assert_int_equal(sq_art_url_sign(KEY, "http://w:9464/", ART, 1795771391, url), 0);
    assert_string_equal(url, "http://w:9464/artifacts/" ART "?exp=1795771391&sig=" SIG);
    sq_err e;
    assert_int_equal(sq_art_url_verify(KEY, ART, "1795771391", SIG, 1795771000, &e), 0);
    /* expired */
    assert_int_equal(sq_art_url_verify(KEY, ART, "1795771391", SIG, 1795771392, &e), -1);
    assert_non_null(strstr(e.msg, "expired"));
    /* another expiry, another id, a flipped digit, junk */
    assert_int_equal(sq_art_url_verify(KEY, ART, "1795771392", SIG, 0, &e), -1);
    assert_non_null(strstr(e.msg, "signature"));
    assert_int_equal(sq_art_url_verify(KEY, "art_01ARZ3NDEKTSV4RRFFQ69G5FAW", "1795771391", SIG, 0, &e), -1);
    char bad[65];
    strcpy(bad, SIG);
    bad[10] = bad[10] == '0' ? '1' : '0';
    assert_int_equal(sq_art_url_verify(KEY, ART, "1795771391", bad, 0, &e), -1);
    assert_int_equal(sq_art_url_verify(KEY, ART, "17957x1391", SIG, 0, &e), -1);
    assert_int_equal(sq_art_url_verify(KEY, ART, NULL, SIG, 0, &e), -1);
    assert_int_equal(sq_art_url_verify(KEY, ART, "1795771391", "abc", 0, &e), -1);
    assert_int_equal(e.code, SQ_FORBIDDEN);
}

static void test_url_key(void **state)
{
    (void)state;
    unsigned char k[32];
    sq_err e;
    assert_int_equal(sq_art_url_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL, k, &e), 0);
    assert_memory_equal(k, KEY, 32);
    /* derived from the worker key: a key of its own, not the worker key itself */
    assert_int_equal(sq_art_url_key(NULL, "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", k, &e), 0);
    char sig[65];
    sq_art_sig(k, ART, 1795771391, sig);
    assert_string_equal(sig, "555e3d3d2941c77ee08f67eb391cea92b89756058bf5098e8d7c86432a6eee2d");
    assert_int_equal(sq_art_url_key("c2hvcnQ=", NULL, k, &e), -1);
    assert_int_equal(sq_art_url_key(NULL, NULL, k, &e), -1);
}

static void test_presign_aws_example(void **state)
{
    (void)state;
    sq_s3_presign_in in = {.scheme = "https",
                           .host = "examplebucket.s3.amazonaws.com",
                           .path = "/test.txt",
                           .region = "us-east-1",
                           .access_key = "AKIAIOSFODNN7EXAMPLE",
                           .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           .now_s = 1369353600, /* 20130524T000000Z */
                           .expires_s = 86400};
    char url[SQ_ART_URL_MAX];
    sq_err e;
    assert_int_equal(sq_s3_presign_get(&in, url, &e), 0);
    assert_string_equal(url, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                             "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    in.expires_s = 604801;
    assert_int_equal(sq_s3_presign_get(&in, url, &e), -1);
}

static void test_uri_encode_and_endpoint(void **state)
{
    (void)state;
    char o[128];
    assert_true(sq_s3_uri_encode("a b/c+d~e.f", true, o, sizeof o) > 0);
    assert_string_equal(o, "a%20b/c%2Bd~e.f");
    assert_true(sq_s3_uri_encode("a/b", false, o, sizeof o) > 0);
    assert_string_equal(o, "a%2Fb");
    char scheme[8], host[256];
    sq_err e;
    assert_int_equal(sq_s3_endpoint_split("http://127.0.0.1:7070/", scheme, host, &e), 0);
    assert_string_equal(scheme, "http");
    assert_string_equal(host, "127.0.0.1:7070");
    assert_int_equal(sq_s3_endpoint_split("ftp://x", scheme, host, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_loc),       cmocka_unit_test(test_key),
        cmocka_unit_test(test_url_sign_verify), cmocka_unit_test(test_url_key),
        cmocka_unit_test(test_presign_aws_example), cmocka_unit_test(test_uri_encode_and_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
