/* A consumer group of two consumers, each polled by its own thread: the rebalance
 * callback (on each polling thread) sees disjoint assignments covering every partition,
 * the revoke callback commits synchronously, and together they read every record once. */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define PARTITIONS 4
#define RECORDS 600
#define TOPIC "group-topic"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int owner[PARTITIONS];          /* consumer number owning each partition, or -1 */
static int consumed[RECORDS];
static atomic_int total;
static atomic_int stop;
static atomic_int revoked_commits;

struct member {
    int number;
    tl_consumer_t *consumer;
    int records;
    int assigned_events;
};

static void on_rebalance(tl_consumer_t *consumer, tl_rebalance_event_t event,
                         const tl_partition_list_t *partitions, void *opaque) {
    struct member *member = opaque;
    CHECK(consumer == member->consumer);
    if (event == TL_REBALANCE_REVOKED) {
        /* Commit what was read before the partitions go: the rebalance waits for this. */
        OK(tl_commit(consumer, NULL, 0));
        atomic_fetch_add(&revoked_commits, 1);
    }
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < tl_partition_list_count(partitions); i++) {
        const char *topic;
        int32_t partition;
        OK(tl_partition_list_get(partitions, i, &topic, &partition, NULL, NULL));
        CHECK(strcmp(topic, TOPIC) == 0 && partition >= 0 && partition < PARTITIONS);
        if (event == TL_REBALANCE_ASSIGNED) {
            if (owner[partition] != -1) FAIL("partition %d assigned to %d and %d", partition, owner[partition], member->number);
            owner[partition] = member->number;
        } else if (owner[partition] == member->number) {
            owner[partition] = -1;
        }
    }
    if (event == TL_REBALANCE_ASSIGNED) member->assigned_events++;
    pthread_mutex_unlock(&lock);
}

static void *run(void *arg) {
    struct member *member = arg;
    while (!atomic_load(&stop)) {
        tl_message_t *message = tl_consumer_poll(member->consumer, 100);
        if (!message) continue;
        OK(tl_message_err(message));
        size_t size;
        const char *value = tl_message_value(message, &size);
        char text[16] = {0};
        memcpy(text, value, size < 15 ? size : 15);
        int i = atoi(text);
        CHECK(i >= 0 && i < RECORDS);
        pthread_mutex_lock(&lock);
        CHECK(owner[tl_message_partition(message)] == member->number);
        consumed[i]++;
        pthread_mutex_unlock(&lock);
        member->records++;
        atomic_fetch_add(&total, 1);
        tl_message_destroy(message);
    }
    OK(tl_consumer_close(member->consumer));
    return NULL;
}

/* Whether every partition is owned and both members own some. */
static int balanced(void) {
    pthread_mutex_lock(&lock);
    int counts[2] = {0, 0}, owned = 0;
    for (int p = 0; p < PARTITIONS; p++)
        if (owner[p] >= 0) counts[owner[p]]++, owned++;
    pthread_mutex_unlock(&lock);
    return owned == PARTITIONS && counts[0] > 0 && counts[1] > 0;
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

int main(void) {
    tl_broker_t *broker = start_broker("4");
    for (int p = 0; p < PARTITIONS; p++) owner[p] = -1;
    struct member members[2];
    pthread_t threads[2];
    const char *topics[] = {TOPIC};
    tl_conf_t *conf = conf_for(broker);
    set(conf, "group.id", "pair");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "enable.auto.commit", "false");
    set(conf, "heartbeat.interval.ms", "100");
    OK(tl_conf_set_rebalance_cb(conf, on_rebalance));
    for (int m = 0; m < 2; m++) {
        members[m] = (struct member){.number = m};
        OK(tl_conf_set_opaque(conf, &members[m]));
        members[m].consumer = tl_consumer_new(conf, NULL, 0);
        CHECK(members[m].consumer != NULL);
        OK(tl_subscribe(members[m].consumer, topics, 1));
        CHECK(pthread_create(&threads[m], NULL, run, &members[m]) == 0);
    }
    for (int waited = 0; !balanced(); waited += 50) {
        if (waited > 30000) FAIL("the group did not balance in 30 s");
        sleep_ms(50);
    }

    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    for (int i = 0; i < RECORDS; i++) {
        char key[16], value[16];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "%d", i);
        OK(tl_produce(producer, TOPIC, TL_PARTITION_UA, key, strlen(key), value, strlen(value), NULL, NULL));
    }
    OK(tl_flush(producer, 30000));
    tl_producer_destroy(producer);
    for (int waited = 0; atomic_load(&total) < RECORDS; waited += 50) {
        if (waited > 30000) FAIL("only %d of %d records consumed", atomic_load(&total), RECORDS);
        sleep_ms(50);
    }
    sleep_ms(300); /* no duplicates arrive late */
    atomic_store(&stop, 1);
    for (int m = 0; m < 2; m++) CHECK(pthread_join(threads[m], NULL) == 0);

    CHECK(atomic_load(&total) == RECORDS);
    for (int i = 0; i < RECORDS; i++) CHECK(consumed[i] == 1);
    for (int m = 0; m < 2; m++) {
        CHECK(members[m].records > 0 && members[m].assigned_events > 0);
        tl_consumer_destroy(members[m].consumer);
    }
    CHECK(atomic_load(&revoked_commits) >= 2); /* at least each member's close */
    tl_conf_destroy(conf);
    OK(tl_broker_stop(broker));
    printf("group: %d and %d records read by two consumers on two threads, %d revoke commits\n",
           members[0].records, members[1].records, atomic_load(&revoked_commits));
    return 0;
}
