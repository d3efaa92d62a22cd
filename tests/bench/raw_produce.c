/* raw_produce.c — the baseline of the batch-submission benchmark (submit_rate.sh):
 * a minimal librdkafka producer that sends the lines of a JSONL file of request
 * envelopes exactly as `sandq batch submit` does — same topic, same key (the
 * sandboxId), same producer settings (idempotent, acks=all, murmur2_random,
 * linger.ms) — but with no parsing, no validation, no bookkeeping. Prints
 * {"messages","seconds","rate"} counting, as the batch command's own figure does,
 * from the producer's creation (so both include obtaining the idempotent producer
 * id) to the last delivery report; every report is checked.
 *
 * usage: raw_produce BROKERS TOPIC FILE [LINGER_MS] */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long delivered, failed;

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: raw_produce BROKERS TOPIC FILE [LINGER_MS]\n");
        return 2;
    }
    const char *linger = argc > 4 ? argv[4] : "20";
    FILE *f = fopen(argv[3], "r");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    /* load everything first: only producing is timed */
    size_t n = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines), **keys = malloc(cap * sizeof *keys);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        char *k = strstr(line, "\"sandboxId\":\"");
        if (!k)
            continue;
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            keys = realloc(keys, cap * sizeof *keys);
        }
        keys[n] = strndup(k + 13, 30);
        lines[n] = strdup(line);
        n++;
    }
    free(line);
    fclose(f);

    char err[512];
    double t0 = now_s();
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", argv[1]}, {"partitioner", "murmur2_random"}, {"acks", "all"},
                           {"enable.idempotence", "true"}, {"linger.ms", linger}, {"message.max.bytes", "4194304"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(keys[i], strlen(keys[i])),
                RD_KAFKA_V_VALUE(lines[i], strlen(lines[i])), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (e) {
                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double secs = now_s() - t0;
    printf("{\"messages\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"rate\":%.0f}\n", delivered, failed, secs,
           (double)delivered / secs);
    rd_kafka_destroy(rk);
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
        free(keys[i]);
    }
    free(lines);
    free(keys);
    return failed ? 1 : 0;
}
