/* Starts and stops the embedded broker N times (argv[1], default 100), with a producer
 * and a consumer talking to it every 10th time, and checks that no file descriptor is
 * left open; run under valgrind, it also checks that no memory leaks. */
#include "check.h"

#include <dirent.h>

static int open_fds(void) {
    int count = 0;
    DIR *dir = opendir("/proc/self/fd");
    CHECK(dir != NULL);
    while (readdir(dir)) count++;
    closedir(dir);
    return count;
}

static void talk(tl_broker_t *broker) {
    tl_conf_t *conf = conf_for(broker);
    tl_producer_t *producer = tl_producer_new(conf, NULL, 0);
    CHECK(producer != NULL);
    OK(tl_produce(producer, "loop", 0, "k", 1, "v", 1, NULL, NULL));
    OK(tl_flush(producer, 20000));
    tl_producer_destroy(producer);
    tl_consumer_t *consumer = tl_consumer_new(conf, NULL, 0);
    tl_partition_list_t *partitions = tl_partition_list_new();
    OK(tl_partition_list_add(partitions, "loop", 0, TL_OFFSET_BEGINNING));
    OK(tl_assign(consumer, partitions));
    tl_partition_list_destroy(partitions);
    tl_message_t *message = tl_consumer_poll(consumer, 20000);
    CHECK(message != NULL && tl_message_err(message) == TL_RESP_ERR_NONE);
    tl_message_destroy(message);
    tl_consumer_destroy(consumer);
    tl_conf_destroy(conf);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    /* The first round starts tidelog's shared client runtime, which lives on. */
    tl_broker_t *broker = start_broker("1");
    talk(broker);
    OK(tl_broker_stop(broker));
    int before = open_fds();
    for (int i = 0; i < rounds; i++) {
        broker = start_broker("1");
        if (i % 10 == 0) talk(broker);
        OK(tl_broker_stop(broker));
    }
    int after = open_fds();
    if (after > before) FAIL("%d file descriptors before the loop, %d after", before, after);
    printf("broker loop: %d starts and stops, %d file descriptors before and after\n", rounds, after);
    return 0;
}
