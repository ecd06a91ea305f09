/* The C producer's throughput through tl_produce, with the settings of
 * bench/src/bin/client_throughput.rs (acks as given, linger.ms=5, batch.size=1000000,
 * idempotence off, one partition), so the two run side by side on one broker.
 *   produce BOOTSTRAP RECORDS SIZE ACKS RUNS     (BOOTSTRAP "embedded": an in-process broker) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tidelog.h>

static void set(tl_conf_t *conf, const char *key, const char *value) {
    char errstr[512];
    if (tl_conf_set(conf, key, value, errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        exit(1);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s BOOTSTRAP RECORDS SIZE ACKS RUNS\n", argv[0]);
        return 2;
    }
    long records = atol(argv[2]), size = atol(argv[3]), runs = atol(argv[5]);
    tl_broker_t *broker = NULL;
    const char *bootstrap = argv[1];
    if (strcmp(bootstrap, "embedded") == 0) {
        char errstr[512];
        if (tl_broker_start(NULL, &broker, errstr, sizeof errstr)) {
            fprintf(stderr, "%s\n", errstr);
            return 1;
        }
        bootstrap = tl_broker_bootstrap_servers(broker);
    }
    char *value = malloc(size);
    memset(value, 'x', size);
    double rates[64];
    for (long run = 0; run < runs && run < 64; run++) {
        tl_conf_t *conf = tl_conf_new();
        set(conf, "bootstrap.servers", bootstrap);
        set(conf, "acks", argv[4]);
        set(conf, "linger.ms", "5");
        set(conf, "batch.size", "1000000");
        set(conf, "enable.idempotence", "false");
        tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
        tl_conf_destroy(conf);
        char topic[64];
        snprintf(topic, sizeof topic, "cbench-%ld-%ld", (long)time(NULL), run);
        double start = now();
        for (long i = 0; i < records; i++) {
            tl_resp_err_t err;
            while ((err = tl_produce(producer, topic, 0, NULL, 0, value, size, NULL, NULL)) ==
                   TL_RESP_ERR__QUEUE_FULL)
                tl_poll(producer, 1);
            if (err) {
                fprintf(stderr, "produce: %s\n", tl_err2name(err));
                return 1;
            }
        }
        if (tl_flush(producer, 120000)) return 1;
        double seconds = now() - start;
        rates[run] = records / seconds;
        printf("run %ld: %.0f records/s, %.1f MB/s\n", run + 1, rates[run], rates[run] * size / 1e6);
        tl_producer_destroy(producer);
    }
    qsort(rates, runs, sizeof *rates, by_value);
    printf("median: %.0f records/s\n", rates[runs / 2]);
    free(value);
    tl_broker_stop(broker);
    return 0;
}
