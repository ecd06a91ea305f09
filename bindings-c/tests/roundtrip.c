/* Produce and consume through libtidelog with every codec: delivery reports carry each
 * record's partition, offset, key, value and opaque; the consumer reads back every key,
 * value and header; failed deliveries are reported with their error. */
#include "check.h"

#define RECORDS 300
#define PARTITIONS 3

struct reports {
    const char *topic;
    int delivered;
    int failed;
    tl_resp_err_t last_err;
    int seen[RECORDS];
    int64_t offset[RECORDS];
    int32_t partition[RECORDS];
};

static void on_delivery(tl_producer_t *producer, const tl_message_t *report, void *opaque) {
    struct reports *reports = opaque;
    CHECK(producer != NULL);
    int *index = tl_message_opaque(report);
    CHECK(index != NULL && *index >= 0 && *index < RECORDS);
    reports->seen[*index]++;
    if (tl_message_err(report) != TL_RESP_ERR_NONE) {
        reports->failed++;
        reports->last_err = tl_message_err(report);
        CHECK(tl_message_errstr(report) != NULL);
        return;
    }
    reports->delivered++;
    reports->offset[*index] = tl_message_offset(report);
    reports->partition[*index] = tl_message_partition(report);
    CHECK(tl_message_topic(report) != NULL && strcmp(tl_message_topic(report), reports->topic) == 0);
    size_t size = 0;
    const char *value = tl_message_value(report, &size);
    char expected[64];
    snprintf(expected, sizeof expected, "value-%d", *index);
    CHECK(size == strlen(expected) && memcmp(value, expected, size) == 0);
}

/* The next record, which must come within 10 s. */
static tl_message_t *next(tl_consumer_t *consumer) {
    tl_message_t *message = tl_consumer_poll(consumer, 10000);
    CHECK(message != NULL);
    OK(tl_message_err(message));
    return message;
}

/* Pause and resume, seek, commit a message and start from the committed offset, on a
 * consumer that has read everything in `topic`. */
static void positions(tl_broker_t *broker, tl_consumer_t *consumer, const char *topic) {
    tl_partition_list_t *all = NULL;
    OK(tl_assignment(consumer, &all));
    CHECK(tl_partition_list_count(all) == PARTITIONS);
    int64_t end = -1;
    OK(tl_partition_list_get(all, 1, NULL, NULL, &end, NULL));
    CHECK(end > 0); /* the position: the next offset to read */
    OK(tl_pause(consumer, all));
    tl_conf_t *conf = conf_for(broker);
    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    for (int i = 0; i < 3; i++) OK(tl_produce(producer, topic, 1, NULL, 0, "late", 4, NULL, NULL));
    OK(tl_flush(producer, 10000));
    tl_producer_destroy(producer);
    CHECK(tl_consumer_poll(consumer, 700) == NULL); /* paused */
    OK(tl_resume(consumer, all));
    tl_partition_list_destroy(all);
    for (int i = 0; i < 3; i++) {
        tl_message_t *message = next(consumer);
        CHECK(tl_message_partition(message) == 1 && tl_message_offset(message) == end + i);
        tl_message_destroy(message);
    }
    OK(tl_seek(consumer, topic, 0, 0));
    tl_message_t *first = next(consumer);
    CHECK(tl_message_partition(first) == 0 && tl_message_offset(first) == 0);
    tl_message_t *second = next(consumer);
    CHECK(tl_message_partition(second) == 0 && tl_message_offset(second) == 1);
    OK(tl_commit_message(consumer, second, 0));
    tl_message_destroy(first);
    tl_message_destroy(second);

    /* Another member of the group starts partition 0 at the committed offset, 2. */
    set(conf, "group.id", "roundtrip-readers");
    tl_consumer_t *other = tl_consumer_new(conf, NULL, 0);
    tl_partition_list_t *stored = tl_partition_list_new();
    OK(tl_partition_list_add(stored, topic, 0, TL_OFFSET_STORED));
    OK(tl_assign(other, stored));
    tl_partition_list_destroy(stored);
    tl_message_t *resumed = next(other);
    CHECK(tl_message_partition(resumed) == 0 && tl_message_offset(resumed) == 2);
    tl_message_destroy(resumed);
    tl_consumer_destroy(other);
    tl_conf_destroy(conf);
    printf("positions: pause, resume, seek, commit and the stored offset\n");
}

static void roundtrip(tl_broker_t *broker, const char *codec) {
    char topic[64];
    snprintf(topic, sizeof topic, "roundtrip-%s", codec);
    static int indexes[RECORDS];
    struct reports reports;
    memset(&reports, 0, sizeof reports);
    reports.topic = topic;

    tl_conf_t *conf = conf_for(broker);
    set(conf, "compression.type", codec);
    set(conf, "linger.ms", "20");
    set(conf, "group.id", "ignored-by-the-producer");
    OK(tl_conf_set_delivery_cb(conf, on_delivery));
    OK(tl_conf_set_opaque(conf, &reports));
    char errstr[512];
    tl_producer_t *producer = tl_producer_new(conf, errstr, sizeof errstr);
    if (!producer) FAIL("tl_producer_new: %s", errstr);
    tl_conf_destroy(conf);

    tl_headers_t *headers = tl_headers_new();
    OK(tl_headers_add(headers, "trace", "abc", 3));
    OK(tl_headers_add(headers, "empty", NULL, 0));
    for (int i = 0; i < RECORDS; i++) {
        indexes[i] = i;
        char key[32], value[64];
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        /* Every third record to an explicit partition, the rest by key. */
        int32_t partition = i % 3 == 0 ? (i / 3) % PARTITIONS : TL_PARTITION_UA;
        /* Every fifth record with its own timestamp, the rest stamped now. */
        if (i % 5 == 4)
            OK(tl_produce_ts(producer, topic, partition, key, strlen(key), value, strlen(value),
                             i % 2 ? headers : NULL, 1600000000000LL + i, &indexes[i]));
        else
            OK(tl_produce(producer, topic, partition, key, strlen(key), value, strlen(value),
                          i % 2 ? headers : NULL, &indexes[i]));
    }
    tl_headers_destroy(headers);
    OK(tl_flush(producer, 30000));
    CHECK(tl_outq_len(producer) == 0);
    CHECK(reports.delivered == RECORDS && reports.failed == 0);
    for (int i = 0; i < RECORDS; i++) {
        CHECK(reports.seen[i] == 1);
        CHECK(reports.offset[i] >= 0);
        if (i % 3 == 0) CHECK(reports.partition[i] == (i / 3) % PARTITIONS);
    }
    /* The topic's metadata is known now: a partition it lacks is refused at once. */
    CHECK(tl_produce(producer, topic, 7, "k", 1, "v", 1, NULL, NULL) ==
          TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    CHECK(tl_poll(producer, 0) == 0);
    tl_producer_destroy(producer);

    /* Read everything back from the beginning of each partition. */
    conf = conf_for(broker);
    set(conf, "linger.ms", "1"); /* a producer key: ignored by the consumer */
    set(conf, "group.id", "roundtrip-readers");
    tl_consumer_t *consumer = tl_consumer_new(conf, errstr, sizeof errstr);
    if (!consumer) FAIL("tl_consumer_new: %s", errstr);
    tl_conf_destroy(conf);
    tl_partition_list_t *partitions = tl_partition_list_new();
    for (int p = 0; p < PARTITIONS; p++) OK(tl_partition_list_add(partitions, topic, p, TL_OFFSET_BEGINNING));
    OK(tl_assign(consumer, partitions));
    tl_partition_list_destroy(partitions);

    int consumed[RECORDS] = {0};
    int total = 0;
    while (total < RECORDS) {
        tl_message_t *message = tl_consumer_poll(consumer, 10000);
        if (!message) FAIL("%s: only %d of %d records consumed", codec, total, RECORDS);
        OK(tl_message_err(message));
        CHECK(strcmp(tl_message_topic(message), topic) == 0);
        size_t key_size, value_size;
        const char *key = tl_message_key(message, &key_size);
        const char *value = tl_message_value(message, &value_size);
        int i = -1;
        CHECK(key_size > 4 && key_size < 16);
        char text[16];
        memcpy(text, key, key_size);
        text[key_size] = 0;
        CHECK(sscanf(text, "key-%d", &i) == 1 && i >= 0 && i < RECORDS);
        char expected[64];
        snprintf(expected, sizeof expected, "value-%d", i);
        CHECK(value_size == strlen(expected) && memcmp(value, expected, value_size) == 0);
        CHECK(tl_message_offset(message) == reports.offset[i]);
        CHECK(tl_message_partition(message) == reports.partition[i]);
        if (i % 5 == 4)
            CHECK(tl_message_timestamp(message) == 1600000000000LL + i);
        else
            CHECK(tl_message_timestamp(message) > 1700000000000LL);
        const tl_headers_t *got = tl_message_headers(message);
        if (i % 2) {
            CHECK(tl_headers_count(got) == 2);
            const char *name;
            const void *data;
            size_t size;
            OK(tl_headers_get(got, 0, &name, &data, &size));
            CHECK(strcmp(name, "trace") == 0 && size == 3 && memcmp(data, "abc", 3) == 0);
            OK(tl_headers_get(got, 1, &name, &data, &size));
            CHECK(strcmp(name, "empty") == 0 && data == NULL && size == 0);
            CHECK(tl_headers_get(got, 2, &name, &data, &size) == TL_RESP_ERR__INVALID_ARG);
        } else {
            CHECK(got == NULL);
        }
        consumed[i]++;
        total++;
        tl_message_destroy(message);
    }
    for (int i = 0; i < RECORDS; i++) CHECK(consumed[i] == 1);
    CHECK(tl_consumer_poll(consumer, 200) == NULL); /* nothing more */
    if (strcmp(codec, "none") == 0) positions(broker, consumer, topic);
    OK(tl_consumer_close(consumer));
    tl_consumer_destroy(consumer);
    printf("roundtrip %s: %d records produced, reported and consumed\n", codec, RECORDS);
}

/* Records for a broker that is not there fail with a delivery report. */
static void failed_delivery(void) {
    struct reports reports;
    memset(&reports, 0, sizeof reports);
    static int index = 0;
    tl_conf_t *conf = tl_conf_new();
    set(conf, "bootstrap.servers", "127.0.0.1:1");
    set(conf, "request.timeout.ms", "300");
    set(conf, "delivery.timeout.ms", "800");
    set(conf, "linger.ms", "0");
    /* The core's idempotent producer retries InitProducerId without expiring records. */
    set(conf, "enable.idempotence", "false");
    OK(tl_conf_set_delivery_cb(conf, on_delivery));
    OK(tl_conf_set_opaque(conf, &reports));
    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    CHECK(producer != NULL);
    tl_conf_destroy(conf);
    OK(tl_produce(producer, "nowhere", TL_PARTITION_UA, NULL, 0, "v", 1, NULL, &index));
    CHECK(tl_flush(producer, 10000) == TL_RESP_ERR_NONE);
    CHECK(reports.failed == 1 && reports.delivered == 0 && reports.seen[0] == 1);
    CHECK(reports.last_err == TL_RESP_ERR__MSG_TIMED_OUT || reports.last_err == TL_RESP_ERR__TRANSPORT);
    printf("failed delivery reported: %s\n", tl_err2name(reports.last_err));
    tl_producer_destroy(producer);
}

int main(void) {
    tl_broker_t *broker = start_broker("3");
    const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++) roundtrip(broker, codecs[i]);
    failed_delivery();
    OK(tl_broker_stop(broker));
    return 0;
}
