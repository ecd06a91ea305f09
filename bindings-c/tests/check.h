/* Helpers shared by the C tests: checks that abort with the failing line and the
 * library's last error, and a broker per test. */
#ifndef TIDELOG_TEST_CHECK_H
#define TIDELOG_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tidelog.h>

#define FAIL(...)                                                   \
    do {                                                            \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                               \
        char last_[512];                                            \
        tl_last_error(last_, sizeof last_);                         \
        fprintf(stderr, " (last error: %s)\n", last_);              \
        exit(1);                                                    \
    } while (0)

#define CHECK(cond)                                                 \
    do {                                                            \
        if (!(cond)) FAIL("check failed: %s", #cond);               \
    } while (0)

/* A call that must return TL_RESP_ERR_NONE. */
#define OK(call)                                                    \
    do {                                                            \
        tl_resp_err_t err_ = (call);                                \
        if (err_ != TL_RESP_ERR_NONE)                               \
            FAIL("%s: %s (%s)", #call, tl_err2name(err_), tl_err2str(err_)); \
    } while (0)

/* Sets key=value on conf, failing the test on error. */
static inline void set(tl_conf_t *conf, const char *key, const char *value) {
    char errstr[512];
    if (tl_conf_set(conf, key, value, errstr, sizeof errstr) != TL_RESP_ERR_NONE)
        FAIL("tl_conf_set(%s, %s): %s", key, value, errstr);
}

/* A broker whose new topics get `partitions` partitions. */
static inline tl_broker_t *start_broker(const char *partitions) {
    char errstr[512];
    tl_broker_opts_t *opts = tl_broker_opts_new();
    if (tl_broker_opts_set(opts, "num.partitions", partitions, errstr, sizeof errstr))
        FAIL("num.partitions: %s", errstr);
    tl_broker_t *broker = NULL;
    if (tl_broker_start(opts, &broker, errstr, sizeof errstr) != TL_RESP_ERR_NONE)
        FAIL("tl_broker_start: %s", errstr);
    tl_broker_opts_destroy(opts);
    CHECK(broker != NULL && tl_broker_bootstrap_servers(broker) != NULL);
    return broker;
}

/* A conf with bootstrap.servers of `broker`. */
static inline tl_conf_t *conf_for(tl_broker_t *broker) {
    tl_conf_t *conf = tl_conf_new();
    CHECK(conf != NULL);
    set(conf, "bootstrap.servers", tl_broker_bootstrap_servers(broker));
    return conf;
}

#endif
