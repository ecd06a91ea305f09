/* Runs the examples against an embedded broker: the producer sends three lines and
 * reports three deliveries; the consumer prints the three records back.
 *   examples BIN_DIR */
#include "check.h"

/* Runs `command`, returning its exit status and its output in `out`. */
static int run(const char *command, char *out, size_t size) {
    FILE *pipe = popen(command, "r");
    CHECK(pipe != NULL);
    size_t used = fread(out, 1, size - 1, pipe);
    out[used] = 0;
    return pclose(pipe);
}

static int count(const char *text, const char *needle) {
    int found = 0;
    for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle)) found++;
    return found;
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    tl_broker_t *broker = start_broker("1");
    const char *bootstrap = tl_broker_bootstrap_servers(broker);
    char command[1024], out[8192];
    snprintf(command, sizeof command, "printf 'alpha\\nbeta\\ngamma\\n' | %s/example_producer %s lines",
             argv[1], bootstrap);
    int status = run(command, out, sizeof out);
    if (status != 0 || count(out, "delivered to lines [0] at offset") != 3)
        FAIL("producer example: status %d, output:\n%s", status, out);
    snprintf(command, sizeof command, "%s/example_consumer %s readers lines 3", argv[1], bootstrap);
    status = run(command, out, sizeof out);
    if (status != 0 || !strstr(out, "lines [0] @0: alpha") || !strstr(out, "@1: beta") ||
        !strstr(out, "@2: gamma"))
        FAIL("consumer example: status %d, output:\n%s", status, out);
    printf("examples: the producer delivered and the consumer read 3 records\n");
    OK(tl_broker_stop(broker));
    return 0;
}
