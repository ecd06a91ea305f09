/* Sends lines from stdin as records to a topic and prints each delivery report.
 *   producer BOOTSTRAP TOPIC < lines.txt */
#include <stdio.h>
#include <string.h>
#include <tidelog.h>

static void on_delivery(tl_producer_t *producer, const tl_message_t *report, void *opaque) {
    (void)producer;
    (void)opaque;
    if (tl_message_err(report) != TL_RESP_ERR_NONE)
        fprintf(stderr, "failed: %s\n", tl_message_errstr(report));
    else
        printf("delivered to %s [%d] at offset %lld\n", tl_message_topic(report),
               tl_message_partition(report), (long long)tl_message_offset(report));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC\n", argv[0]);
        return 2;
    }
    char errstr[512];
    tl_conf_t *conf = tl_conf_new();
    if (tl_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
        tl_conf_set(conf, "compression.type", "zstd", errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    tl_conf_set_delivery_cb(conf, on_delivery);
    tl_producer_t *producer = tl_producer_new(conf, errstr, sizeof errstr);
    tl_conf_destroy(conf);
    if (!producer) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\n");
        tl_resp_err_t err;
        while ((err = tl_produce(producer, argv[2], TL_PARTITION_UA, NULL, 0, line, len, NULL,
                                 NULL)) == TL_RESP_ERR__QUEUE_FULL)
            tl_poll(producer, 100); /* serve reports to make room */
        if (err) fprintf(stderr, "produce: %s\n", tl_err2str(err));
        tl_poll(producer, 0);
    }
    tl_resp_err_t err = tl_flush(producer, 30000);
    tl_producer_destroy(producer);
    return err ? 1 : 0;
}
