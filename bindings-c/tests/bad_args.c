/* Bad arguments are errors that say what is wrong, never crashes: NULL handles and
 * strings, unknown keys, bad values, closed clients, and error names and strings. */
#include "check.h"

static void expect(tl_resp_err_t got, tl_resp_err_t want, const char *what) {
    if (got != want) FAIL("%s: got %s, want %s", what, tl_err2name(got), tl_err2name(want));
}

/* The last error's message contains `needle`. */
static void message_has(const char *needle) {
    char message[512];
    tl_last_error(message, sizeof message);
    if (!strstr(message, needle)) FAIL("last error `%s` lacks `%s`", message, needle);
}

int main(void) {
    char errstr[512];
    /* Config errors name the key, at tl_conf_set. */
    tl_conf_t *conf = tl_conf_new();
    expect(tl_conf_set(conf, "linger.mss", "5", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "unknown key");
    CHECK(strstr(errstr, "linger.mss") != NULL);
    expect(tl_conf_set(conf, "acks", "2", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "bad value");
    CHECK(strstr(errstr, "acks") != NULL);
    expect(tl_conf_set(conf, "auto.offset.reset", "sideways", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "bad value");
    CHECK(strstr(errstr, "auto.offset.reset") != NULL);
    expect(tl_conf_set(conf, "bootstrap.servers", "no-port", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "bad address");
    CHECK(strstr(errstr, "bootstrap.servers") != NULL);
    /* A small buffer gets a truncated, terminated message. */
    char small[8];
    memset(small, 'x', sizeof small);
    expect(tl_conf_set(conf, "linger.mss", "5", small, sizeof small), TL_RESP_ERR__INVALID_ARG, "small buffer");
    CHECK(strlen(small) == sizeof small - 1);
    expect(tl_conf_set(conf, NULL, "5", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "NULL key");
    CHECK(strstr(errstr, "key") != NULL);
    expect(tl_conf_set(conf, "acks", NULL, NULL, 0), TL_RESP_ERR__INVALID_ARG, "NULL value");
    expect(tl_conf_set(NULL, "acks", "1", NULL, 0), TL_RESP_ERR__INVALID_ARG, "NULL conf");
    message_has("conf");
    expect(tl_conf_set_delivery_cb(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "NULL conf");
    expect(tl_conf_set_rebalance_cb(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "NULL conf");
    expect(tl_conf_set_opaque(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "NULL conf");

    /* Clients need bootstrap.servers; NULL confs are refused. */
    CHECK(tl_producer_new(conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "bootstrap.servers") != NULL);
    CHECK(tl_consumer_new(conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "bootstrap.servers") != NULL);
    CHECK(tl_admin_new(conf, errstr, sizeof errstr) == NULL);
    CHECK(tl_producer_new(NULL, errstr, sizeof errstr) == NULL);
    CHECK(tl_consumer_new(NULL, NULL, 0) == NULL);
    CHECK(tl_admin_new(NULL, NULL, 0) == NULL);
    /* Contradicting producer settings are refused when the producer is made. */
    OK(tl_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", NULL, 0));
    OK(tl_conf_set(conf, "delivery.timeout.ms", "100", NULL, 0));
    CHECK(tl_producer_new(conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "delivery.timeout.ms") != NULL);
    tl_conf_destroy(conf);

    /* NULL handles everywhere. */
    expect(tl_produce(NULL, "t", TL_PARTITION_UA, NULL, 0, NULL, 0, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_produce");
    message_has("producer");
    CHECK(tl_poll(NULL, 0) == TL_RESP_ERR__INVALID_ARG);
    expect(tl_flush(NULL, 0), TL_RESP_ERR__INVALID_ARG, "tl_flush");
    CHECK(tl_outq_len(NULL) == 0);
    expect(tl_subscribe(NULL, NULL, 0), TL_RESP_ERR__INVALID_ARG, "tl_subscribe");
    expect(tl_unsubscribe(NULL), TL_RESP_ERR__INVALID_ARG, "tl_unsubscribe");
    expect(tl_assign(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_assign");
    expect(tl_assignment(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_assignment");
    CHECK(tl_consumer_poll(NULL, 0) == NULL);
    expect(tl_commit(NULL, NULL, 0), TL_RESP_ERR__INVALID_ARG, "tl_commit");
    expect(tl_commit_message(NULL, NULL, 0), TL_RESP_ERR__INVALID_ARG, "tl_commit_message");
    expect(tl_seek(NULL, "t", 0, 0), TL_RESP_ERR__INVALID_ARG, "tl_seek");
    expect(tl_pause(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_pause");
    expect(tl_resume(NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_resume");
    expect(tl_consumer_close(NULL), TL_RESP_ERR__INVALID_ARG, "tl_consumer_close");
    expect(tl_admin_create_topic(NULL, "t", 1, 1, NULL, 0, 1000), TL_RESP_ERR__INVALID_ARG, "create topic");
    expect(tl_admin_delete_topic(NULL, "t", 1000), TL_RESP_ERR__INVALID_ARG, "delete topic");
    expect(tl_admin_create_partitions(NULL, "t", 2, 1000), TL_RESP_ERR__INVALID_ARG, "create partitions");
    expect(tl_admin_list_topics(NULL, 1000, NULL), TL_RESP_ERR__INVALID_ARG, "list topics");
    expect(tl_admin_describe_configs(NULL, TL_RESOURCE_TOPIC, "t", 1000, NULL), TL_RESP_ERR__INVALID_ARG, "describe");
    expect(tl_admin_alter_config(NULL, TL_RESOURCE_TOPIC, "t", "k", "v", 1000), TL_RESP_ERR__INVALID_ARG, "alter");
    expect(tl_admin_list_groups(NULL, 1000, NULL), TL_RESP_ERR__INVALID_ARG, "list groups");
    expect(tl_admin_describe_group(NULL, "g", 1000, NULL), TL_RESP_ERR__INVALID_ARG, "describe group");
    expect(tl_admin_list_offsets(NULL, NULL, TL_OFFSET_END, 1000), TL_RESP_ERR__INVALID_ARG, "list offsets");
    expect(tl_broker_start(NULL, NULL, errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "tl_broker_start");
    CHECK(tl_broker_bootstrap_servers(NULL) == NULL);
    expect(tl_broker_opts_set(NULL, "num.partitions", "1", NULL, 0), TL_RESP_ERR__INVALID_ARG, "opts");
    expect(tl_headers_add(NULL, "h", NULL, 0), TL_RESP_ERR__INVALID_ARG, "tl_headers_add");
    expect(tl_headers_get(NULL, 0, NULL, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "tl_headers_get");
    expect(tl_partition_list_add(NULL, "t", 0, 0), TL_RESP_ERR__INVALID_ARG, "tl_partition_list_add");
    expect(tl_partition_list_get(NULL, 0, NULL, NULL, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "list get");
    expect(tl_config_list_get(NULL, 0, NULL, NULL, NULL, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "config get");
    expect(tl_group_list_get(NULL, 0, NULL, NULL, NULL, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "group get");
    CHECK(tl_message_topic(NULL) == NULL && tl_message_partition(NULL) == -1);
    CHECK(tl_message_offset(NULL) == -1 && tl_message_key(NULL, NULL) == NULL);
    CHECK(tl_message_err(NULL) == TL_RESP_ERR__INVALID_ARG);
    tl_conf_destroy(NULL);
    tl_producer_destroy(NULL);
    tl_consumer_destroy(NULL);
    tl_admin_destroy(NULL);
    tl_message_destroy(NULL);
    tl_headers_destroy(NULL);
    tl_partition_list_destroy(NULL);
    OK(tl_broker_stop(NULL));

    /* Bad broker options name the key. */
    tl_broker_opts_t *opts = tl_broker_opts_new();
    expect(tl_broker_opts_set(opts, "log.retention.mss", "1", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "broker key");
    CHECK(strstr(errstr, "log.retention.mss") != NULL);
    expect(tl_broker_opts_set(opts, "num.partitions", "zero", errstr, sizeof errstr), TL_RESP_ERR__INVALID_ARG, "broker value");
    CHECK(strstr(errstr, "num.partitions") != NULL);
    tl_broker_opts_destroy(opts);

    /* Bad arguments on live handles. */
    tl_broker_t *broker = start_broker("1");
    conf = conf_for(broker);
    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    CHECK(producer != NULL);
    expect(tl_produce(producer, NULL, 0, NULL, 0, NULL, 0, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "NULL topic");
    expect(tl_produce(producer, "t", -5, NULL, 0, NULL, 0, NULL, NULL), TL_RESP_ERR__INVALID_ARG, "partition -5");
    tl_producer_destroy(producer);
    tl_consumer_t *consumer = tl_consumer_new(conf, NULL, 0);
    CHECK(consumer != NULL);
    const char *topics[] = {"t"};
    expect(tl_subscribe(consumer, topics, 1), TL_RESP_ERR__INVALID_ARG, "subscribe without group.id");
    message_has("group.id");
    expect(tl_subscribe(consumer, NULL, 1), TL_RESP_ERR__INVALID_ARG, "NULL topics");
    expect(tl_seek(consumer, "t", 0, -7), TL_RESP_ERR__INVALID_ARG, "seek -7");
    expect(tl_commit_message(consumer, NULL, 0), TL_RESP_ERR__INVALID_ARG, "NULL message");
    OK(tl_consumer_close(consumer));
    OK(tl_consumer_close(consumer));
    expect(tl_subscribe(consumer, topics, 1), TL_RESP_ERR__STATE, "closed consumer");
    CHECK(tl_consumer_poll(consumer, 0) == NULL);
    CHECK(tl_last_error(NULL, 0) == TL_RESP_ERR__STATE);
    tl_consumer_destroy(consumer);
    tl_admin_t *admin = tl_admin_new(conf, NULL, 0);
    CHECK(admin != NULL);
    expect(tl_admin_describe_configs(admin, 3, "t", 1000, NULL), TL_RESP_ERR__INVALID_ARG, "NULL output");
    tl_config_list_t *configs = NULL;
    expect(tl_admin_describe_configs(admin, 3, "t", 1000, &configs), TL_RESP_ERR__INVALID_ARG, "resource type 3");
    CHECK(configs == NULL);
    tl_admin_destroy(admin);
    tl_conf_destroy(conf);
    OK(tl_broker_stop(broker));

    /* Names and descriptions of codes. */
    CHECK(strcmp(tl_err2name(TL_RESP_ERR_NOT_LEADER_OR_FOLLOWER), "NOT_LEADER_OR_FOLLOWER") == 0);
    CHECK(TL_RESP_ERR_NOT_LEADER_OR_FOLLOWER == 6 && TL_RESP_ERR__TRANSPORT == -195);
    CHECK(strcmp(tl_err2name(TL_RESP_ERR__INVALID_ARG), "_INVALID_ARG") == 0);
    CHECK(strcmp(tl_err2name(12345), "UNKNOWN_ERROR_CODE") == 0);
    CHECK(strlen(tl_err2str(TL_RESP_ERR_MESSAGE_TOO_LARGE)) > 10);
    printf("bad arguments: every call returned its error\n");
    return 0;
}
