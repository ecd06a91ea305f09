/* The C producer's throughput through tl_produce, with the settings of
 * bench/src/bin/client_throughput.rs (acks as given, linger.ms=5, batch.size=1000000,
 * idempotence off, one partition), so the two run side by side on one broker.
 *   produce BOOTSTRAP RECORDS SIZE ACKS RUNS [dr]     (BOOTSTRAP "embedded": an in-process broker)
 * With `dr`, a delivery callback counts the reports (served by tl_poll(0) after every
 * tl_produce, as a librdkafka application polls); without, no callback is set. */
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

static long delivered;

static void on_delivery(tl_producer_t *producer, const tl_message_t *report, void *opaque) {
    (void)producer;
    (void)opaque;
    if (tl_message_err(report) == TL_RESP_ERR_NONE) delivered++;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "dr") == 0)) {
        fprintf(stderr, "usage: %s BOOTSTRAP RECORDS SIZE ACKS RUNS [dr]\n", argv[0]);
        return 2;
    }
    int reports = argc == 7;
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
        if (reports) tl_conf_set_delivery_cb(conf, on_delivery);
        delivered = 0;
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
            if (reports) tl_poll(producer, 0);
        }
        if (tl_flush(producer, 120000)) return 1;
        if (reports && delivered != records) {
            fprintf(stderr, "%ld of %ld records reported delivered\n", delivered, records);
            return 1;
        }
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
