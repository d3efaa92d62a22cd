/* launch_exec.c — the libsandq example of docs/library.md: launch a sandbox, write a
 * file into it, run a command that reads it (output streamed as it arrives), read the
 * file back, and kill the sandbox.
 *
 *   cc launch_exec.c -lsandq -o launch_exec     (or: ninja -C build launch_exec)
 *   SANDQ_KAFKA_BROKERS=127.0.0.1:19092 ./launch_exec
 */
#include <sandq.h>
#include <stdio.h>
#include <string.h>

static void print_output(void *user, sandq_stream stream, const void *bytes, size_t len)
{
    (void)user;
    fwrite(bytes, 1, len, stream == SANDQ_STDERR ? stderr : stdout);
}

static int fail(const char *what, const sandq_error *err)
{
    fprintf(stderr, "%s: %s: %s\n", what, sandq_code_name(err->code), err->message);
    return 1;
}

int main(void)
{
    sandq_error err;

    /* Brokers and topic prefix from SANDQ_KAFKA_BROKERS / SANDQ_TOPIC_PREFIX. */
    sandq_client_t *client = sandq_client_new(NULL, &err);
    if (!client)
        return fail("client", &err);

    /* Create a sandbox and wait (up to 2 minutes) until it is ready. */
    const char *env[] = {"GREETING=hello", NULL};
    sandq_create_opts create = {.struct_size = sizeof create, .env = env, .memory_mb = 512, .timeout_ms = 10 * 60 * 1000};
    sandq_sandbox sb;
    if (sandq_launch(client, &create, 2 * 60 * 1000, &sb, &err)) {
        sandq_client_free(client);
        return fail("launch", &err);
    }
    printf("sandbox %s is %s\n", sb.id, sb.state);

    int rc = 0;
    const char script[] = "echo \"$GREETING from $(hostname)\"\nwc -c < /workspace/hello.sh\n";
    sandq_write_result wr;
    if (sandq_files_write(client, sb.id, "hello.sh", script, strlen(script), NULL, &wr, &err)) {
        rc = fail("files write", &err);
        goto done;
    }

    /* Run it; output is printed by print_output while the command runs. */
    const char *argv[] = {"sh", "/workspace/hello.sh", NULL};
    sandq_exec_opts exec = {.struct_size = sizeof exec, .on_output = print_output, .timeout_ms = 30 * 1000};
    int exit_code;
    if (sandq_exec(client, sb.id, argv, &exec, &exit_code, &err)) {
        rc = fail("exec", &err);
        goto done;
    }
    printf("exit code %d\n", exit_code);

    void *data;
    size_t len;
    if (sandq_files_read(client, sb.id, "hello.sh", NULL, &data, &len, NULL, &err)) {
        rc = fail("files read", &err);
        goto done;
    }
    printf("read back %zu bytes, %s\n", len, len == strlen(script) && memcmp(data, script, len) == 0 ? "identical" : "DIFFERENT");
    sandq_free(data);

done:
    if (sandq_kill(client, sb.id, 0, &err))
        rc = fail("kill", &err);
    sandq_client_free(client);
    return rc;
}
