/* The admin calls against an embedded broker: topics, partitions, configs, offsets and
 * groups, each checked against what the broker then reports. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket that listens on 127.0.0.1 and never answers; its address in `address`. */
static int silent_listener(char *address, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 8) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    snprintf(address, size, "127.0.0.1:%d", ntohs(addr.sin_port));
    return fd;
}

/* The number of partitions `topic` has in a fresh topic listing; -1 if it is not listed. */
static int listed_partitions(tl_admin_t *admin, const char *topic) {
    tl_partition_list_t *list = NULL;
    OK(tl_admin_list_topics(admin, 10000, &list));
    int found = -1;
    for (size_t i = 0; i < tl_partition_list_count(list); i++) {
        const char *name;
        int32_t partition;
        tl_resp_err_t err;
        OK(tl_partition_list_get(list, i, &name, &partition, NULL, &err));
        if (strcmp(name, topic) == 0) {
            OK(err);
            found = found < 0 ? 1 : found + 1;
        }
    }
    tl_partition_list_destroy(list);
    return found;
}

/* The value of config `key` of `topic` (copied into `value`), and whether it is the default. */
static int config_value(tl_admin_t *admin, const char *topic, const char *key, char *value, size_t size) {
    tl_config_list_t *configs = NULL;
    OK(tl_admin_describe_configs(admin, TL_RESOURCE_TOPIC, topic, 10000, &configs));
    int source = -1;
    for (size_t i = 0; i < tl_config_list_count(configs); i++) {
        const char *name, *text;
        bool read_only, sensitive;
        int8_t from;
        OK(tl_config_list_get(configs, i, &name, &text, &read_only, &sensitive, &from));
        if (strcmp(name, key) == 0) {
            snprintf(value, size, "%s", text ? text : "");
            source = from;
        }
    }
    tl_config_list_destroy(configs);
    CHECK(source >= 0);
    return source;
}

/* What the offset commit callback heard. */
struct commit_report {
    int calls;
    tl_resp_err_t err;
    size_t count;
    int32_t partition;
    int64_t offset;
};

static void on_commit(tl_consumer_t *consumer, tl_resp_err_t err, const tl_partition_list_t *offsets,
                      void *opaque) {
    (void)consumer;
    struct commit_report *report = opaque;
    report->calls++;
    report->err = err;
    report->count = tl_partition_list_count(offsets);
    OK(tl_partition_list_get(offsets, 0, NULL, &report->partition, &report->offset, NULL));
}

int main(void) {
    tl_broker_t *broker = start_broker("1");
    tl_conf_t *conf = conf_for(broker);
    char errstr[512];
    tl_admin_t *admin = tl_admin_new(conf, errstr, sizeof errstr);
    if (!admin) FAIL("tl_admin_new: %s", errstr);

    const char *configs[] = {"retention.ms", "3600000"};
    OK(tl_admin_create_topic(admin, "orders", 2, 1, configs, 1, 10000));
    CHECK(tl_admin_create_topic(admin, "orders", 2, 1, NULL, 0, 10000) == TL_RESP_ERR_TOPIC_ALREADY_EXISTS);
    CHECK(tl_admin_create_topic(admin, "bad/name", 1, 1, NULL, 0, 10000) == TL_RESP_ERR_INVALID_TOPIC_EXCEPTION);
    CHECK(listed_partitions(admin, "orders") == 2);
    OK(tl_admin_create_partitions(admin, "orders", 4, 10000));
    CHECK(tl_admin_create_partitions(admin, "orders", 3, 10000) == TL_RESP_ERR_INVALID_PARTITIONS);
    CHECK(listed_partitions(admin, "orders") == 4);

    char value[128];
    CHECK(config_value(admin, "orders", "retention.ms", value, sizeof value) == 1); /* topic config */
    CHECK(strcmp(value, "3600000") == 0);
    OK(tl_admin_alter_config(admin, TL_RESOURCE_TOPIC, "orders", "retention.ms", "7200000", 10000));
    config_value(admin, "orders", "retention.ms", value, sizeof value);
    CHECK(strcmp(value, "7200000") == 0);
    OK(tl_admin_alter_config(admin, TL_RESOURCE_TOPIC, "orders", "retention.ms", NULL, 10000));
    CHECK(config_value(admin, "orders", "retention.ms", value, sizeof value) != 1);
    CHECK(tl_admin_alter_config(admin, TL_RESOURCE_TOPIC, "orders", "retention.mss", "1", 10000) ==
          TL_RESP_ERR_INVALID_CONFIG);

    /* Five records on partition 1; its offsets go from 0 to 5. */
    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    for (int i = 0; i < 5; i++) OK(tl_produce(producer, "orders", 1, NULL, 0, "v", 1, NULL, NULL));
    OK(tl_flush(producer, 10000));
    tl_producer_destroy(producer);
    tl_partition_list_t *offsets = tl_partition_list_new();
    OK(tl_partition_list_add(offsets, "orders", 1, TL_OFFSET_INVALID));
    OK(tl_partition_list_add(offsets, "orders", 9, TL_OFFSET_INVALID));
    OK(tl_admin_list_offsets(admin, offsets, TL_OFFSET_END, 10000));
    int64_t offset;
    tl_resp_err_t err;
    OK(tl_partition_list_get(offsets, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == 5);
    OK(tl_partition_list_get(offsets, 1, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    OK(tl_admin_list_offsets(admin, offsets, TL_OFFSET_BEGINNING, 10000));
    OK(tl_partition_list_get(offsets, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == 0);
    tl_partition_list_destroy(offsets);

    /* Records before offset 2 of partition 1 are deleted: its log starts at 2; past the
     * high watermark is OFFSET_OUT_OF_RANGE. */
    tl_partition_list_t *before = tl_partition_list_new();
    OK(tl_partition_list_add(before, "orders", 1, 2));
    OK(tl_admin_delete_records(admin, before, 10000));
    OK(tl_partition_list_get(before, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == 2);
    tl_partition_list_destroy(before);
    before = tl_partition_list_new();
    OK(tl_partition_list_add(before, "orders", 1, 99));
    OK(tl_admin_delete_records(admin, before, 10000));
    OK(tl_partition_list_get(before, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_OFFSET_OUT_OF_RANGE);
    tl_partition_list_destroy(before);
    offsets = tl_partition_list_new();
    OK(tl_partition_list_add(offsets, "orders", 1, TL_OFFSET_INVALID));
    OK(tl_admin_list_offsets(admin, offsets, TL_OFFSET_BEGINNING, 10000));
    OK(tl_partition_list_get(offsets, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == 2);
    tl_partition_list_destroy(offsets);

    /* A group with a committed offset is listed and described. */
    set(conf, "group.id", "auditors");
    OK(tl_conf_set_offset_commit_cb(conf, on_commit));
    struct commit_report report = {0};
    OK(tl_conf_set_opaque(conf, &report));
    tl_consumer_t *consumer = tl_consumer_new(conf, NULL, 0);
    OK(tl_conf_set_offset_commit_cb(conf, NULL));
    /* An asynchronous commit returns at once; poll serves its callback. */
    tl_partition_list_t *commit = tl_partition_list_new();
    OK(tl_partition_list_add(commit, "orders", 1, 3));
    OK(tl_commit(consumer, commit, 1));
    tl_partition_list_destroy(commit);
    for (int i = 0; i < 100 && report.calls == 0; i++) CHECK(tl_consumer_poll(consumer, 100) == NULL);
    CHECK(report.calls == 1 && report.err == TL_RESP_ERR_NONE);
    CHECK(report.count == 1 && report.partition == 1 && report.offset == 3);
    /* The group's committed offsets: 3 for partition 1, none for partition 0. */
    tl_partition_list_t *committed = tl_partition_list_new();
    OK(tl_partition_list_add(committed, "orders", 1, TL_OFFSET_INVALID));
    OK(tl_partition_list_add(committed, "orders", 0, 42));
    OK(tl_committed(consumer, committed, 10000));
    OK(tl_partition_list_get(committed, 0, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == 3);
    OK(tl_partition_list_get(committed, 1, NULL, NULL, &offset, &err));
    CHECK(err == TL_RESP_ERR_NONE && offset == TL_OFFSET_INVALID);
    tl_partition_list_destroy(committed);
    OK(tl_consumer_close(consumer));
    tl_consumer_destroy(consumer);
    tl_group_list_t *groups = NULL;
    OK(tl_admin_list_groups(admin, 10000, &groups));
    int listed = 0;
    for (size_t i = 0; i < tl_group_list_count(groups); i++) {
        const char *id;
        OK(tl_group_list_get(groups, i, &id, NULL, NULL, NULL, NULL));
        listed += strcmp(id, "auditors") == 0;
    }
    CHECK(listed == 1);
    tl_group_list_destroy(groups);
    OK(tl_admin_describe_group(admin, "auditors", 10000, &groups));
    const char *id, *state;
    size_t members;
    OK(tl_group_list_get(groups, 0, &id, &state, NULL, NULL, &members));
    CHECK(strcmp(id, "auditors") == 0 && strcmp(state, "Empty") == 0 && members == 0);
    CHECK(tl_group_list_member(groups, 0, 0, NULL, NULL, NULL, NULL) == TL_RESP_ERR__INVALID_ARG);
    tl_group_list_destroy(groups);
    OK(tl_admin_delete_group(admin, "auditors", 10000));
    CHECK(tl_admin_delete_group(admin, "auditors", 10000) == TL_RESP_ERR_GROUP_ID_NOT_FOUND);

    OK(tl_admin_delete_topic(admin, "orders", 10000));
    CHECK(listed_partitions(admin, "orders") == -1);
    CHECK(tl_admin_delete_topic(admin, "orders", 10000) == TL_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    tl_admin_destroy(admin);
    tl_conf_destroy(conf);

    /* A broker that never answers: the call times out within its timeout. */
    char address[64];
    int silent = silent_listener(address, sizeof address);
    conf = tl_conf_new();
    set(conf, "bootstrap.servers", address);
    admin = tl_admin_new(conf, NULL, 0);
    tl_partition_list_t *none = NULL;
    CHECK(tl_admin_list_topics(admin, 300, &none) == TL_RESP_ERR__TIMED_OUT && none == NULL);
    tl_admin_destroy(admin);
    tl_conf_destroy(conf);
    close(silent);
    OK(tl_broker_stop(broker));
    printf("admin: topics, partitions, configs, offsets, deleted records, async commits with their callback, committed offsets and groups\n");
    return 0;
}
