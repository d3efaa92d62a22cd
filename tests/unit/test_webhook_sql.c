/* test_webhook_sql.c — the statements of libsandq's webhook administration
 * (producer/src/webhook_sql.h): each takes exactly the parameters its call passes,
 * only the redeliver statement touches the workers' delivery lease, and the NOTIFY
 * channel is the one the migrations' outbox trigger notifies (the workers LISTEN on
 * the same constant). A statement that drifted from these would fail at run time
 * against PostgreSQL, or leave the workers asleep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "webhook_sql.h"

/* The highest $n in sql. */
static int max_param(const char *sql)
{
    int max = 0;
    for (const char *p = strchr(sql, '$'); p; p = strchr(p + 1, '$')) {
        int n = atoi(p + 1);
        if (n > max)
            max = n;
    }
    return max;
}

static const struct {
    const char *name, *sql;
    int params;
} statements[] = {
#define S(x) {#x, SQP_WH_SQL_##x, SQP_WH_SQL_##x##_PARAMS}
    S(ADD),      S(LIST),     S(RM_FAIL_PENDING), S(RM_DELETE),  S(ROTATE),   S(ROTATE_DONE),
    S(ENABLE),   S(TEST),     S(DELIVERY),        S(DELIVERIES), S(REDELIVER), S(NOTIFY),
#undef S
};

static void test_parameter_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        if (max_param(statements[i].sql) != statements[i].params)
            fail_msg("%s uses $%d but is given %d parameters", statements[i].name, max_param(statements[i].sql),
                     statements[i].params);
    }
}

static void test_only_redeliver_touches_the_lease(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        bool lease = strstr(statements[i].sql, "lease_") != NULL;
        if (lease != (strcmp(statements[i].name, "REDELIVER") == 0))
            fail_msg("%s: the delivery lease belongs to the workers", statements[i].name);
    }
    /* and redeliver only releases it */
    assert_non_null(strstr(SQP_WH_SQL_REDELIVER, "lease_owner = NULL"));
    assert_non_null(strstr(SQP_WH_SQL_REDELIVER, "lease_until = NULL"));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_notify_channel_is_the_triggers(void **state)
{
    (void)state;
    assert_string_equal(SQP_WH_SQL_NOTIFY, "NOTIFY " SQ_WH_NOTIFY_CHANNEL);
    static const char *const migrations[] = {"008_webhook_endpoints.sql", "010_webhook_outbox_per_statement.sql"};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sql/%s", SQ_SOURCE_DIR, migrations[i]);
        const char *text = slurp(path);
        assert_non_null(text);
        if (!strstr(text, "pg_notify('" SQ_WH_NOTIFY_CHANNEL "'"))
            fail_msg("%s does not notify %s", migrations[i], SQ_WH_NOTIFY_CHANNEL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameter_counts),
        cmocka_unit_test(test_only_redeliver_touches_the_lease),
        cmocka_unit_test(test_notify_channel_is_the_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
