/* Reads a topic in a consumer group and prints each record, until COUNT records (or
 * 10 s without one).
 *   consumer BOOTSTRAP GROUP TOPIC [COUNT] */
#include <stdio.h>
#include <stdlib.h>
#include <tidelog.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s BOOTSTRAP GROUP TOPIC [COUNT]\n", argv[0]);
        return 2;
    }
    long wanted = argc > 4 ? atol(argv[4]) : -1;
    char errstr[512];
    tl_conf_t *conf = tl_conf_new();
    if (tl_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
        tl_conf_set(conf, "group.id", argv[2], errstr, sizeof errstr) ||
        tl_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr)) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    tl_consumer_t *consumer = tl_consumer_new(conf, errstr, sizeof errstr);
    tl_conf_destroy(conf);
    if (!consumer) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    const char *topics[] = {argv[3]};
    if (tl_subscribe(consumer, topics, 1)) {
        tl_last_error(errstr, sizeof errstr);
        fprintf(stderr, "subscribe: %s\n", errstr);
        return 1;
    }
    long count = 0;
    tl_message_t *message;
    while (count != wanted && (message = tl_consumer_poll(consumer, 10000))) {
        size_t size;
        const char *value = tl_message_value(message, &size);
        if (tl_message_err(message))
            fprintf(stderr, "error: %s\n", tl_message_errstr(message));
        else
            printf("%s [%d] @%lld: %.*s\n", tl_message_topic(message), tl_message_partition(message),
                   (long long)tl_message_offset(message), (int)size, value ? value : "");
        count += tl_message_err(message) == TL_RESP_ERR_NONE;
        tl_message_destroy(message);
    }
    tl_consumer_close(consumer); /* commits (enable.auto.commit) and leaves the group */
    tl_consumer_destroy(consumer);
    return count == wanted || wanted < 0 ? 0 : 1;
}
