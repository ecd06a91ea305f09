/* The conformance runner for the C SDK: drives one scenario file (the steps are in
 * conformance/README.md) through libtidelog's public API (tidelog.h) and nothing else.
 *
 *   runner --bootstrap HOST:PORT --prefix PREFIX --capabilities CAP,CAP --data DIR FILE
 *
 * Exits 0 when the scenario passed, 1 when it failed, 2 when it does not apply; the last
 * line printed says why. Plain C99 with libc and libtidelog only. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tidelog.h>

#define SETTLE_MS 10000
#define ADMIN_TIMEOUT_MS 30000
#define MAX_ARGS 64

/* What this client does that a `requires` may ask for besides the broker's capabilities:
 * the core's partitioner is the Java client's murmur2. */
static const char *const TRAITS[] = {"java-default-partitioner", NULL};

/* ---- outcome: a failure or a not-applicable jumps back to main with its line ---- */

static jmp_buf finish;
static char verdict[4096];

__attribute__((noreturn)) static void end(int code, const char *fmt, va_list ap) {
    vsnprintf(verdict, sizeof verdict, fmt, ap);
    longjmp(finish, code);
}

__attribute__((noreturn, format(printf, 1, 2))) static void failed(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    end(1, fmt, ap);
}

__attribute__((noreturn, format(printf, 1, 2))) static void not_applicable(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    end(2, fmt, ap);
}

static void *grow(void *items, size_t count, size_t size) {
    void *grown = realloc(items, (count + 1) * size);
    if (!grown) {
        fputs("out of memory\n", stderr);
        exit(1);
    }
    return grown;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- scenario files ---- */

typedef struct {
    char *key, *value;
} arg_t;

typedef struct {
    int line;
    char *verb, *word;
    arg_t args[MAX_ARGS];
    int nargs;
} step_t;

/* `%20` is a space and `%25` a `%`, in place. */
static void unescape(char *text) {
    char *out = text;
    for (char *in = text; *in; in++) {
        if (in[0] == '%' && in[1] == '2' && (in[2] == '0' || in[2] == '5')) {
            *out++ = in[2] == '0' ? ' ' : '%';
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = 0;
}

static step_t *parse(char *text, size_t *count) {
    step_t *steps = NULL;
    *count = 0;
    int number = 0;
    for (char *line = text; line; ) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        number++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        while (*line == ' ') line++;
        if (*line && *line != '#') {
            steps = grow(steps, *count, sizeof *steps);
            step_t *step = &steps[(*count)++];
            memset(step, 0, sizeof *step);
            step->line = number;
            char *save = NULL;
            step->verb = strtok_r(line, " ", &save);
            for (char *word; (word = strtok_r(NULL, " ", &save));) {
                char *eq = strchr(word, '=');
                if (!eq) {
                    if (step->word || step->nargs) failed("line %d: `%s` is not key=value", number, word);
                    step->word = word;
                    continue;
                }
                if (step->nargs == MAX_ARGS) failed("line %d: too many arguments", number);
                *eq = 0;
                unescape(eq + 1);
                step->args[step->nargs++] = (arg_t){word, eq + 1};
            }
        }
        line = next;
    }
    return steps;
}

static const char *get(const step_t *step, const char *key) {
    for (int i = 0; i < step->nargs; i++)
        if (strcmp(step->args[i].key, key) == 0) return step->args[i].value;
    return NULL;
}

static const char *need(const step_t *step, const char *key) {
    const char *value = get(step, key);
    if (!value) failed("line %d: `%s` needs %s=", step->line, step->verb, key);
    return value;
}

static long long to_number(const step_t *step, const char *key, const char *text) {
    char *end_of;
    long long value = strtoll(text, &end_of, 10);
    if (!*text || *end_of) failed("line %d: %s=%s is not a number", step->line, key, text);
    return value;
}

static long long number(const step_t *step, const char *key) {
    return to_number(step, key, need(step, key));
}

static long long number_or(const step_t *step, const char *key, long long fallback) {
    const char *text = get(step, key);
    return text ? to_number(step, key, text) : fallback;
}

/* The argument `PREFIX.NAME` as NAME, for `config.` and `header.` arguments. */
static const char *suffix(const arg_t *arg, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(arg->key, prefix, n) == 0 && arg->key[n] == '.' ? arg->key + n + 1 : NULL;
}

__attribute__((noreturn, format(printf, 2, 3))) static void step_failed(const step_t *step, const char *fmt,
                                                                         ...) {
    char what[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    failed("line %d (%s): %s", step->line, step->verb, what);
}

/* `{i}` replaced by `index`, in a new string. */
static char *template(const char *text, long index) {
    char digits[24];
    snprintf(digits, sizeof digits, "%ld", index);
    size_t size = strlen(text) * (strlen(digits) + 1) + 1;
    char *out = malloc(size), *o = out;
    for (const char *t = text; *t;) {
        if (strncmp(t, "{i}", 3) == 0) {
            o += sprintf(o, "%s", digits);
            t += 3;
        } else {
            *o++ = *t++;
        }
    }
    *o = 0;
    return out;
}

/* ---- runner state ---- */

static struct {
    const char *bootstrap, *prefix, *data;
    char *capabilities;
} options;

static char *scoped(const char *logical) {
    size_t size = strlen(options.prefix) + strlen(logical) + 1;
    char *name = malloc(size);
    snprintf(name, size, "%s%s", options.prefix, logical);
    return name;
}

/* The Kafka error name a scenario uses for `err` (local codes mapped as README says). */
static const char *error_name(int err) {
    switch (err) {
    case TL_RESP_ERR__MSG_TIMED_OUT:
    case TL_RESP_ERR__TIMED_OUT:
        return "REQUEST_TIMED_OUT";
    case TL_RESP_ERR__INVALID_ARG:
        return "INVALID_CONFIG";
    default:
        return tl_err2name(err);
    }
}

/* Whether `name` is one of `a|b|c`. */
static int one_of(const char *name, const char *choices) {
    size_t n = strlen(name);
    for (const char *c = choices; c; c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL)
        if (strncmp(c, name, n) == 0 && (c[n] == 0 || c[n] == '|')) return 1;
    return 0;
}

/* Checks a call's result against the step's error=: returns 1 when it succeeded as
 * expected, 0 when it failed as expected; fails the scenario otherwise. */
static int expected(const step_t *step, int err) {
    const char *want = get(step, "error");
    char detail[1024] = "";
    if (err) tl_last_error(detail, sizeof detail);
    if (!err && !want) return 1;
    if (!err) step_failed(step, "succeeded; expected %s", want);
    if (!want) step_failed(step, "%s: %s", error_name(err), detail);
    if (!one_of(error_name(err), want))
        step_failed(step, "expected %s, failed with %s: %s", want, error_name(err), detail);
    return 0;
}

static tl_admin_t *admin_client;

static tl_admin_t *admin(void) {
    if (!admin_client) {
        tl_conf_t *conf = tl_conf_new();
        tl_conf_set(conf, "bootstrap.servers", options.bootstrap, NULL, 0);
        char errstr[512];
        admin_client = tl_admin_new(conf, errstr, sizeof errstr);
        tl_conf_destroy(conf);
        if (!admin_client) failed("admin: %s", errstr);
    }
    return admin_client;
}

/* A conf with bootstrap.servers and the step's config.K=V; NULL (after checking the
 * step's error=) when a key is refused. */
static tl_conf_t *step_conf(const step_t *step) {
    tl_conf_t *conf = tl_conf_new();
    tl_conf_set(conf, "bootstrap.servers", options.bootstrap, NULL, 0);
    for (int i = 0; i < step->nargs; i++) {
        const char *key = suffix(&step->args[i], "config");
        if (key && !expected(step, tl_conf_set(conf, key, step->args[i].value, NULL, 0))) {
            tl_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

/* ---- partitions: TOPIC:PARTITION[@OFFSET] ---- */

static void add_partition(const step_t *step, tl_partition_list_t *list, const char *text, int64_t fallback) {
    char *copy = strdup(text), *at = strchr(copy, '@');
    int64_t offset = fallback;
    if (at) {
        *at = 0;
        offset = to_number(step, "offset", at + 1);
    }
    char *colon = strrchr(copy, ':');
    if (!colon || colon == copy) step_failed(step, "`%s` is not TOPIC:PARTITION", text);
    *colon = 0;
    char *topic = scoped(copy);
    tl_partition_list_add(list, topic, (int32_t)to_number(step, "partition", colon + 1), offset);
    free(topic);
    free(copy);
}

/* The step's comma-separated `key` list; a new list owned by the caller. */
static tl_partition_list_t *partition_list(const step_t *step, const char *key) {
    tl_partition_list_t *list = tl_partition_list_new();
    char *copy = strdup(need(step, key)), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
        add_partition(step, list, item, TL_OFFSET_INVALID);
    free(copy);
    return list;
}

static void entry(const tl_partition_list_t *list, size_t index, const char **topic, int32_t *partition,
                  int64_t *offset, tl_resp_err_t *err) {
    tl_partition_list_get(list, index, topic, partition, offset, err);
}

/* ---- setup and admin ---- */

static void step_requires(const step_t *step) {
    if (!step->word) step_failed(step, "needs a capability");
    for (const char *const *t = TRAITS; *t; t++)
        if (strcmp(*t, step->word) == 0) return;
    char *copy = strdup(options.capabilities), *save = NULL;
    for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (strcmp(c, step->word) == 0) {
            free(copy);
            return;
        }
    not_applicable("needs %s", step->word);
}

static void step_create_topic(const step_t *step) {
    const char *configs[2 * MAX_ARGS];
    size_t count = 0;
    for (int i = 0; i < step->nargs; i++) {
        const char *key = suffix(&step->args[i], "config");
        if (key) {
            configs[2 * count] = key;
            configs[2 * count++ + 1] = step->args[i].value;
        }
    }
    char *topic = scoped(need(step, "topic"));
    expected(step, tl_admin_create_topic(admin(), topic, (int32_t)number(step, "partitions"), 1,
                                         count ? configs : NULL, count, ADMIN_TIMEOUT_MS));
    free(topic);
}

static void step_delete_topic(const step_t *step) {
    char *topic = scoped(need(step, "topic"));
    expected(step, tl_admin_delete_topic(admin(), topic, ADMIN_TIMEOUT_MS));
    free(topic);
}

static void step_create_partitions(const step_t *step) {
    char *topic = scoped(need(step, "topic"));
    expected(step, tl_admin_create_partitions(admin(), topic, (int32_t)number(step, "total"), ADMIN_TIMEOUT_MS));
    free(topic);
}

static void step_describe_topic(const step_t *step) {
    char *topic = scoped(need(step, "topic"));
    const char *want_error = get(step, "error");
    double deadline = now_ms() + SETTLE_MS;
    for (;;) {
        tl_partition_list_t *topics = NULL;
        int err = tl_admin_list_topics(admin(), ADMIN_TIMEOUT_MS, &topics);
        if (err) expected(step, err);
        size_t partitions = 0;
        tl_resp_err_t partition_error = TL_RESP_ERR_NONE;
        for (size_t i = 0; i < tl_partition_list_count(topics); i++) {
            const char *name;
            tl_resp_err_t e;
            entry(topics, i, &name, NULL, NULL, &e);
            if (strcmp(name, topic) == 0) {
                partitions++;
                if (e) partition_error = e;
            }
        }
        tl_partition_list_destroy(topics);
        const char *got = partitions == 0 ? "UNKNOWN_TOPIC_OR_PARTITION"
                          : partition_error ? error_name(partition_error) : NULL;
        if (want_error) {
            if (got && one_of(got, want_error)) break;
            if (now_ms() > deadline) step_failed(step, "error %s, expected %s", got ? got : "none", want_error);
        } else if (!got && (long long)partitions == number(step, "partitions")) {
            break;
        } else if (now_ms() > deadline) {
            step_failed(step, "%zu partitions, error %s", partitions, got ? got : "none");
        }
        sleep_ms(100);
    }
    free(topic);
}

static void step_alter_config(const step_t *step) {
    char *topic = scoped(need(step, "topic"));
    for (int i = 0; i < step->nargs; i++) {
        const char *key = suffix(&step->args[i], "config");
        if (key && !expected(step, tl_admin_alter_config(admin(), TL_RESOURCE_TOPIC, topic, key,
                                                         step->args[i].value, ADMIN_TIMEOUT_MS)))
            break;
    }
    free(topic);
}

static void step_expect_config(const step_t *step) {
    char *topic = scoped(need(step, "topic"));
    const char *key = need(step, "key"), *want = need(step, "value");
    tl_config_list_t *configs = NULL;
    if (expected(step, tl_admin_describe_configs(admin(), TL_RESOURCE_TOPIC, topic, ADMIN_TIMEOUT_MS, &configs))) {
        const char *value = NULL;
        for (size_t i = 0; i < tl_config_list_count(configs); i++) {
            const char *name, *v;
            tl_config_list_get(configs, i, &name, &v, NULL, NULL, NULL);
            if (strcmp(name, key) == 0) value = v;
        }
        if (!value || strcmp(value, want) != 0) step_failed(step, "%s is %s", key, value ? value : "not set");
        tl_config_list_destroy(configs);
    }
    free(topic);
}

/* A one-entry list for the step's topic= and partition=, at `offset`. */
static tl_partition_list_t *one_partition(const step_t *step, int64_t offset) {
    tl_partition_list_t *list = tl_partition_list_new();
    char *topic = scoped(need(step, "topic"));
    tl_partition_list_add(list, topic, (int32_t)number(step, "partition"), offset);
    free(topic);
    return list;
}

static void step_list_offsets(const step_t *step) {
    const char *spec_text = need(step, "spec");
    int64_t spec = strcmp(spec_text, "earliest") == 0 ? TL_OFFSET_BEGINNING
                   : strcmp(spec_text, "latest") == 0 ? TL_OFFSET_END
                                                      : number(step, "spec");
    tl_partition_list_t *list = one_partition(step, TL_OFFSET_INVALID);
    int64_t offset;
    tl_resp_err_t err;
    int status = tl_admin_list_offsets(admin(), list, spec, ADMIN_TIMEOUT_MS);
    entry(list, 0, NULL, NULL, &offset, &err);
    if (expected(step, status ? status : err) && offset != number(step, "offset"))
        step_failed(step, "offset %lld, expected %lld", (long long)offset, number(step, "offset"));
    tl_partition_list_destroy(list);
}

static void step_delete_records(const step_t *step) {
    tl_partition_list_t *list = one_partition(step, number(step, "before"));
    int64_t offset;
    tl_resp_err_t err;
    int status = tl_admin_delete_records(admin(), list, ADMIN_TIMEOUT_MS);
    entry(list, 0, NULL, NULL, &offset, &err);
    if (expected(step, status ? status : err) && offset != number(step, "before"))
        step_failed(step, "log start offset is %lld", (long long)offset);
    tl_partition_list_destroy(list);
}

static int tolower_ascii(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* `Stable` matches `STABLE`, `CompletingRebalance` matches `completing_rebalance`. */
static int same_state(const char *a, const char *b) {
    for (;; a++, b++) {
        while (*a == '_') a++;
        while (*b == '_') b++;
        if (tolower_ascii(*a) != tolower_ascii(*b)) return 0;
        if (!*a) return 1;
    }
}

static void step_describe_group(const step_t *step) {
    char *group = scoped(need(step, "group"));
    const char *want_state = get(step, "state");
    double deadline = now_ms() + SETTLE_MS;
    for (;;) {
        tl_group_list_t *groups = NULL;
        if (!expected(step, tl_admin_describe_group(admin(), group, ADMIN_TIMEOUT_MS, &groups))) break;
        const char *state = "";
        size_t members = 0;
        tl_group_list_get(groups, 0, NULL, &state, NULL, NULL, &members);
        char mismatch[256] = "";
        if (want_state && !same_state(state, want_state)) snprintf(mismatch, sizeof mismatch, "state %s", state);
        if (get(step, "members") && (long long)members != number(step, "members"))
            snprintf(mismatch, sizeof mismatch, "%zu members", members);
        tl_group_list_destroy(groups);
        if (!*mismatch) break;
        if (now_ms() > deadline) step_failed(step, "%s", mismatch);
        sleep_ms(100);
    }
    free(group);
}

static void step_list_groups(const step_t *step) {
    char *group = scoped(need(step, "contains"));
    tl_group_list_t *groups = NULL;
    expected(step, tl_admin_list_groups(admin(), ADMIN_TIMEOUT_MS, &groups));
    int found = 0;
    for (size_t i = 0; i < tl_group_list_count(groups); i++) {
        const char *id;
        tl_group_list_get(groups, i, &id, NULL, NULL, NULL, NULL);
        found |= strcmp(id, group) == 0;
    }
    tl_group_list_destroy(groups);
    if (!found) step_failed(step, "%s is not listed", group);
    free(group);
}

static void step_delete_group(const step_t *step) {
    char *group = scoped(need(step, "group"));
    expected(step, tl_admin_delete_group(admin(), group, ADMIN_TIMEOUT_MS));
    free(group);
}

static void step_restart_broker(const step_t *step) {
    const char *command = getenv("CONFORMANCE_RESTART");
    if (!command || !*command) step_failed(step, "CONFORMANCE_RESTART is not set");
    if (system(command) != 0) step_failed(step, "`%s` failed", command);
}

static void step_sleep(const step_t *step) {
    sleep_ms((long)number(step, "ms"));
}

/* ---- producing ---- */

typedef struct {
    int done;
    tl_resp_err_t err;
    char errstr[256];
    int32_t partition;
    int64_t offset;
} report_t;

static void delivered(tl_producer_t *producer, const tl_message_t *message, void *opaque) {
    (void)producer;
    (void)opaque;
    report_t *report = tl_message_opaque(message);
    report->done = 1;
    report->err = tl_message_err(message);
    snprintf(report->errstr, sizeof report->errstr, "%s", report->err ? tl_message_errstr(message) : "");
    report->partition = tl_message_partition(message);
    report->offset = tl_message_offset(message);
}

static tl_producer_t *producer;

static void step_producer(const step_t *step) {
    if (producer) {
        tl_flush(producer, 10000);
        tl_producer_destroy(producer);
        producer = NULL;
    }
    tl_conf_t *conf = step_conf(step);
    if (!conf) return;
    tl_conf_set_delivery_cb(conf, delivered);
    char errstr[512];
    producer = tl_producer_new(conf, errstr, sizeof errstr);
    tl_conf_destroy(conf);
    expected(step, producer ? TL_RESP_ERR_NONE : tl_last_error(NULL, 0));
}

typedef struct {
    const char *topic;
    int32_t partition;
    char *key, *value;
    size_t value_len;
    tl_headers_t *headers;
    int64_t timestamp_ms;
} record_t;

/* Sends every record, waits for every report and frees the records. */
static void produce_all(const step_t *step, record_t *records, report_t *reports, size_t count) {
    if (!producer) step_failed(step, "no producer: a `producer` step comes first");
    for (size_t i = 0; i < count; i++) {
        record_t *r = &records[i];
        tl_resp_err_t err;
        while ((err = tl_produce_ts(producer, r->topic, r->partition, r->key, r->key ? strlen(r->key) : 0,
                                    r->value, r->value_len, r->headers, r->timestamp_ms, &reports[i])) ==
               TL_RESP_ERR__QUEUE_FULL)
            tl_poll(producer, 100);
        if (err) {
            reports[i].done = 1;
            reports[i].err = err;
            tl_last_error(reports[i].errstr, sizeof reports[i].errstr);
        }
        free(r->key);
        free(r->value);
        tl_headers_destroy(r->headers);
    }
    if (tl_flush(producer, 60000)) step_failed(step, "flush left records in the queue");
    for (size_t i = 0; i < count; i++)
        if (!reports[i].done) step_failed(step, "record %zu got no delivery report", i);
}

static void step_produce(const step_t *step) {
    long count = (long)number_or(step, "count", 1);
    char *topic = scoped(need(step, "topic"));
    record_t *records = calloc(count ? count : 1, sizeof *records);
    report_t *reports = calloc(count ? count : 1, sizeof *reports);
    for (long i = 0; i < count; i++) {
        record_t *r = &records[i];
        r->topic = topic;
        r->partition = (int32_t)number_or(step, "partition", TL_PARTITION_UA);
        r->timestamp_ms = number_or(step, "timestamp", -1);
        if (get(step, "size")) {
            r->value_len = (size_t)number(step, "size");
            r->value = malloc(r->value_len + 1);
            memset(r->value, 'x', r->value_len);
        } else if (get(step, "value")) {
            r->value = template(get(step, "value"), i);
            r->value_len = strlen(r->value);
        }
        if (get(step, "key")) r->key = template(get(step, "key"), i);
        for (int a = 0; a < step->nargs; a++) {
            const char *name = suffix(&step->args[a], "header");
            if (!name) continue;
            if (!r->headers) r->headers = tl_headers_new();
            char *value = template(step->args[a].value, i);
            tl_headers_add(r->headers, name, value, strlen(value));
            free(value);
        }
    }
    produce_all(step, records, reports, count);
    const char *want_error = get(step, "error"), *landing = get(step, "partition_of");
    for (long i = 0; i < count; i++) {
        report_t *r = &reports[i];
        const char *got = r->err ? error_name(r->err) : NULL;
        if (!got != !want_error || (got && !one_of(got, want_error)))
            step_failed(step, "record %ld: error %s (%s), expected %s", i, got ? got : "none", r->errstr,
                        want_error ? want_error : "none");
        if (got) continue;
        if (landing && r->partition != number(step, "partition_of"))
            step_failed(step, "record %ld on partition %d, expected %s", i, r->partition, landing);
        if (get(step, "offset") && r->offset != number(step, "offset") + i)
            step_failed(step, "record %ld at offset %lld, expected %lld", i, (long long)r->offset,
                        number(step, "offset") + i);
    }
    free(records);
    free(reports);
    free(topic);
}

static void step_produce_vectors(const step_t *step) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", options.data, need(step, "file"));
    FILE *file = fopen(path, "r");
    if (!file) step_failed(step, "cannot read %s", path);
    char *topic = scoped(need(step, "topic"));
    record_t *records = NULL;
    int32_t *wanted = NULL;
    size_t count = 0;
    char line[4096];
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!*line || *line == '#' || !tab) continue;
        *tab = 0;
        records = grow(records, count, sizeof *records);
        wanted = grow(wanted, count, sizeof *wanted);
        records[count] = (record_t){topic, TL_PARTITION_UA, strdup(line), strdup("v"), 1, NULL, -1};
        wanted[count++] = (int32_t)atoi(tab + 1);
    }
    fclose(file);
    char **keys = calloc(count ? count : 1, sizeof *keys);
    for (size_t i = 0; i < count; i++) keys[i] = strdup(records[i].key);
    report_t *reports = calloc(count ? count : 1, sizeof *reports);
    produce_all(step, records, reports, count);
    for (size_t i = 0; i < count; i++) {
        if (reports[i].err) step_failed(step, "key '%s': %s", keys[i], error_name(reports[i].err));
        if (reports[i].partition != wanted[i])
            step_failed(step, "key '%s' on %d, expected %d", keys[i], reports[i].partition, wanted[i]);
        free(keys[i]);
    }
    free(keys);
    free(reports);
    free(records);
    free(wanted);
    free(topic);
}

/* ---- consuming ---- */

typedef struct {
    char *topic;
    int32_t partition;
    int64_t offset;
} last_t;

typedef struct {
    char *name;
    tl_consumer_t *consumer;
    tl_message_t **received;
    size_t count;
    last_t *last; /* the last offset received per partition, to check offsets only grow */
    size_t lasts;
} member_t;

static member_t *members;
static size_t member_count;

static member_t *find_member(const char *name) {
    for (size_t i = 0; i < member_count; i++)
        if (strcmp(members[i].name, name) == 0) return &members[i];
    return NULL;
}

static member_t *member(const step_t *step) {
    member_t *m = find_member(need(step, "consumer"));
    if (!m) step_failed(step, "no consumer %s", need(step, "consumer"));
    return m;
}

static void forget_last(member_t *m, const char *topic, int32_t partition) {
    for (size_t i = 0; i < m->lasts; i++)
        if ((!topic || (strcmp(m->last[i].topic, topic) == 0 && m->last[i].partition == partition)))
            m->last[i].offset = -1;
}

/* Polls once for up to `timeout_ms`: whether a record arrived. */
static int poll_once(member_t *m, int timeout_ms) {
    tl_message_t *message = tl_consumer_poll(m->consumer, timeout_ms);
    if (!message) return 0;
    if (tl_message_err(message)) {
        failed("poll: %s: %s", error_name(tl_message_err(message)), tl_message_errstr(message));
    }
    const char *topic = tl_message_topic(message);
    int32_t partition = tl_message_partition(message);
    int64_t offset = tl_message_offset(message);
    last_t *last = NULL;
    for (size_t i = 0; i < m->lasts; i++)
        if (strcmp(m->last[i].topic, topic) == 0 && m->last[i].partition == partition) last = &m->last[i];
    if (!last) {
        m->last = grow(m->last, m->lasts, sizeof *m->last);
        last = &m->last[m->lasts++];
        *last = (last_t){strdup(topic), partition, -1};
    }
    if (last->offset >= 0 && offset <= last->offset)
        failed("%s:%d went from offset %lld back to %lld", topic, partition, (long long)last->offset,
               (long long)offset);
    last->offset = offset;
    m->received = grow(m->received, m->count, sizeof *m->received);
    m->received[m->count++] = message;
    return 1;
}

static void step_consumer(const step_t *step) {
    tl_conf_t *conf = step_conf(step);
    if (!conf) return;
    if (get(step, "group")) {
        char *group = scoped(get(step, "group"));
        int err = tl_conf_set(conf, "group.id", group, NULL, 0);
        free(group);
        if (!expected(step, err)) {
            tl_conf_destroy(conf);
            return;
        }
    }
    char errstr[512];
    tl_consumer_t *consumer = tl_consumer_new(conf, errstr, sizeof errstr);
    tl_conf_destroy(conf);
    if (!expected(step, consumer ? TL_RESP_ERR_NONE : tl_last_error(NULL, 0))) return;
    members = grow(members, member_count, sizeof *members);
    members[member_count++] = (member_t){strdup(need(step, "name")), consumer, NULL, 0, NULL, 0};
}

static void step_subscribe(const step_t *step) {
    member_t *m = member(step);
    const char *topics[MAX_ARGS];
    size_t count = 0;
    char *copy = strdup(need(step, "topics")), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && count < MAX_ARGS; t = strtok_r(NULL, ",", &save))
        topics[count++] = scoped(t);
    expected(step, tl_subscribe(m->consumer, topics, count));
    for (size_t i = 0; i < count; i++) free((void *)topics[i]);
    free(copy);
}

static void step_assign(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *list = partition_list(step, "partitions");
    expected(step, tl_assign(m->consumer, list));
    tl_partition_list_destroy(list);
    forget_last(m, NULL, 0);
}

static void step_consume(const step_t *step) {
    member_t *m = member(step);
    size_t count = (size_t)number(step, "count");
    double deadline = now_ms() + number_or(step, "timeout_ms", 20000);
    while (m->count < count) {
        double left = deadline - now_ms();
        if (left <= 0) step_failed(step, "%zu of %zu records arrived", m->count, count);
        poll_once(m, left < 200 ? (int)left + 1 : 200);
    }
}

static void step_expect_nothing(const step_t *step) {
    member_t *m = member(step);
    size_t before = m->count;
    double deadline = now_ms() + number(step, "ms");
    for (double left; (left = deadline - now_ms()) > 0;) poll_once(m, left < 200 ? (int)left + 1 : 200);
    if (m->count != before) {
        tl_message_t *message = m->received[before];
        step_failed(step, "received %s:%d@%lld", tl_message_topic(message), tl_message_partition(message),
                    (long long)tl_message_offset(message));
    }
}

/* Whether bytes `data`/`size` are the step's `field` (a template; `null`: a null). */
static int matches(const char *want, long index, const void *data, size_t size) {
    if (strcmp(want, "null") == 0) return data == NULL;
    char *text = template(want, index);
    int same = data && size == strlen(text) && memcmp(data, text, size) == 0;
    free(text);
    return same;
}

static void step_expect_records(const step_t *step) {
    member_t *m = member(step);
    char *topic = scoped(need(step, "topic"));
    int32_t partition = (int32_t)number(step, "partition");
    int64_t start = number(step, "from");
    long count = (long)number(step, "count");
    tl_message_t **seen = calloc(count ? count : 1, sizeof *seen);
    for (size_t i = 0; i < m->count; i++) {
        tl_message_t *message = m->received[i];
        int64_t offset = tl_message_offset(message);
        if (strcmp(tl_message_topic(message), topic) == 0 && tl_message_partition(message) == partition &&
            offset >= start && offset < start + count) {
            if (seen[offset - start]) step_failed(step, "offset %lld received twice", (long long)offset);
            seen[offset - start] = message;
        }
    }
    for (long i = 0; i < count; i++) {
        tl_message_t *message = seen[i];
        long long offset = start + i;
        if (!message) step_failed(step, "offset %lld not received", offset);
        size_t size;
        const void *data;
        if (get(step, "key") && (data = tl_message_key(message, &size), !matches(get(step, "key"), i, data, size)))
            step_failed(step, "offset %lld: key '%.*s', expected %s", offset, data ? (int)size : 4,
                        data ? (const char *)data : "null", get(step, "key"));
        if (get(step, "value") &&
            (data = tl_message_value(message, &size), !matches(get(step, "value"), i, data, size)))
            step_failed(step, "offset %lld: value '%.*s', expected %s", offset, data ? (int)size : 4,
                        data ? (const char *)data : "null", get(step, "value"));
        const tl_headers_t *headers = tl_message_headers(message);
        for (int a = 0; a < step->nargs; a++) {
            const char *name = suffix(&step->args[a], "header");
            if (!name) continue;
            const void *value = NULL;
            size_t value_size = 0;
            int present = 0;
            for (size_t h = 0; h < tl_headers_count(headers); h++) {
                const char *hname;
                const void *hvalue;
                size_t hsize;
                tl_headers_get(headers, h, &hname, &hvalue, &hsize);
                if (strcmp(hname, name) == 0) { /* the last one wins, as in a dict */
                    value = hvalue;
                    value_size = hsize;
                    present = 1;
                }
            }
            if (!present || !matches(step->args[a].value, i, value ? value : "", value_size))
                step_failed(step, "offset %lld: header %s '%.*s'", offset, name, (int)value_size,
                            value ? (const char *)value : "");
        }
        if (get(step, "timestamp") && tl_message_timestamp(message) != number(step, "timestamp"))
            step_failed(step, "offset %lld: timestamp %lld", offset, (long long)tl_message_timestamp(message));
    }
    free(seen);
    free(topic);
}

static void step_expect_count(const step_t *step) {
    member_t *m = member(step);
    char *topic = get(step, "topic") ? scoped(get(step, "topic")) : NULL;
    long long partition = number_or(step, "partition", -1);
    long long count = 0;
    for (size_t i = 0; i < m->count; i++) {
        tl_message_t *message = m->received[i];
        if ((!topic || strcmp(tl_message_topic(message), topic) == 0) &&
            (partition < 0 || tl_message_partition(message) == partition))
            count++;
    }
    if (count != number(step, "count")) step_failed(step, "%lld records, expected %lld", count, number(step, "count"));
    free(topic);
}

static void clear_received(member_t *m) {
    for (size_t i = 0; i < m->count; i++) tl_message_destroy(m->received[i]);
    m->count = 0;
}

static void step_clear(const step_t *step) {
    clear_received(member(step));
}

static void step_commit(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *offsets = get(step, "offsets") ? partition_list(step, "offsets") : NULL;
    expected(step, tl_commit(m->consumer, offsets, 0));
    tl_partition_list_destroy(offsets);
}

static void step_expect_committed(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *wanted = partition_list(step, "partitions");
    tl_partition_list_t *found = partition_list(step, "partitions");
    expected(step, tl_committed(m->consumer, found, ADMIN_TIMEOUT_MS));
    for (size_t i = 0; i < tl_partition_list_count(wanted); i++) {
        const char *topic;
        int32_t partition;
        int64_t want, got;
        entry(wanted, i, &topic, &partition, &want, NULL);
        entry(found, i, NULL, NULL, &got, NULL);
        if (got < 0) got = -1;
        if (got != want) step_failed(step, "%s:%d committed %lld", topic, partition, (long long)got);
    }
    tl_partition_list_destroy(wanted);
    tl_partition_list_destroy(found);
}

static void step_seek(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *list = tl_partition_list_new();
    add_partition(step, list, need(step, "partition"), TL_OFFSET_INVALID);
    const char *topic;
    int32_t partition;
    entry(list, 0, &topic, &partition, NULL, NULL);
    const char *text = need(step, "offset");
    int64_t offset = strcmp(text, "earliest") == 0 ? TL_OFFSET_BEGINNING
                     : strcmp(text, "latest") == 0 ? TL_OFFSET_END
                                                   : number(step, "offset");
    expected(step, tl_seek(m->consumer, topic, partition, offset));
    forget_last(m, topic, partition);
    tl_partition_list_destroy(list);
}

static void step_pause(const step_t *step) {
    tl_partition_list_t *list = partition_list(step, "partitions");
    expected(step, tl_pause(member(step)->consumer, list));
    tl_partition_list_destroy(list);
}

static void step_resume(const step_t *step) {
    tl_partition_list_t *list = partition_list(step, "partitions");
    expected(step, tl_resume(member(step)->consumer, list));
    tl_partition_list_destroy(list);
}

/* Whether `list` holds `topic`:`partition`; its offset in `*offset`. */
static int holds(const tl_partition_list_t *list, const char *topic, int32_t partition, int64_t *offset) {
    for (size_t i = 0; i < tl_partition_list_count(list); i++) {
        const char *t;
        int32_t p;
        entry(list, i, &t, &p, offset, NULL);
        if (p == partition && strcmp(t, topic) == 0) return 1;
    }
    return 0;
}

static void step_expect_position(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *wanted = tl_partition_list_new(), *assigned = NULL;
    add_partition(step, wanted, need(step, "partition"), TL_OFFSET_INVALID);
    const char *topic;
    int32_t partition;
    entry(wanted, 0, &topic, &partition, NULL, NULL);
    expected(step, tl_assignment(m->consumer, &assigned));
    int64_t position = TL_OFFSET_INVALID;
    if (!holds(assigned, topic, partition, &position)) step_failed(step, "%s:%d is not assigned", topic, partition);
    if (position != number(step, "offset"))
        step_failed(step, "position %lld, expected %lld", (long long)position, number(step, "offset"));
    tl_partition_list_destroy(assigned);
    tl_partition_list_destroy(wanted);
}

static void step_await_assignment(const step_t *step) {
    char *names = strdup(need(step, "consumers"));
    member_t *group[MAX_ARGS];
    size_t count = 0;
    char *save = NULL;
    for (char *n = strtok_r(names, ",", &save); n && count < MAX_ARGS; n = strtok_r(NULL, ",", &save)) {
        group[count] = find_member(n);
        if (!group[count]) step_failed(step, "no consumer %s", n);
        count++;
    }
    char *topic = scoped(need(step, "topic"));
    long partitions = (long)number(step, "partitions");
    int *owner = calloc(partitions ? partitions : 1, sizeof *owner);
    double deadline = now_ms() + number_or(step, "timeout_ms", 30000);
    for (;;) {
        long sizes[MAX_ARGS], covered = 0, smallest = -1, largest = 0;
        int overlap = 0;
        memset(owner, 0, (partitions ? partitions : 1) * sizeof *owner);
        for (size_t c = 0; c < count; c++) {
            poll_once(group[c], 20);
            tl_partition_list_t *assigned = NULL;
            tl_assignment(group[c]->consumer, &assigned);
            sizes[c] = 0;
            for (size_t i = 0; i < tl_partition_list_count(assigned); i++) {
                const char *t;
                int32_t p;
                entry(assigned, i, &t, &p, NULL, NULL);
                if (strcmp(t, topic) != 0) continue;
                sizes[c]++;
                if (p < 0 || p >= partitions) {
                    overlap = 1; /* a partition outside 0..N-1: not the wanted cover */
                } else if (owner[p]++) {
                    overlap = 1;
                } else {
                    covered++;
                }
            }
            tl_partition_list_destroy(assigned);
            if (smallest < 0 || sizes[c] < smallest) smallest = sizes[c];
            if (sizes[c] > largest) largest = sizes[c];
        }
        if (!overlap && covered == partitions && largest - smallest <= 1) break;
        if (now_ms() > deadline) {
            char text[512] = "";
            for (size_t c = 0; c < count; c++)
                snprintf(text + strlen(text), sizeof text - strlen(text), "%s%ld", c ? ", " : "", sizes[c]);
            step_failed(step, "assignment sizes [%s], %ld of %ld partitions covered%s", text, covered, partitions,
                        overlap ? ", overlapping" : "");
        }
    }
    free(owner);
    free(topic);
    free(names);
}

static void step_expect_assignment(const step_t *step) {
    member_t *m = member(step);
    tl_partition_list_t *wanted = partition_list(step, "partitions"), *assigned = NULL;
    expected(step, tl_assignment(m->consumer, &assigned));
    size_t have = tl_partition_list_count(assigned), want = tl_partition_list_count(wanted);
    for (size_t i = 0; i < want; i++) {
        const char *topic;
        int32_t partition;
        entry(wanted, i, &topic, &partition, NULL, NULL);
        if (!holds(assigned, topic, partition, NULL)) step_failed(step, "%s:%d is not assigned", topic, partition);
    }
    if (have != want) step_failed(step, "%zu partitions assigned, expected %zu", have, want);
    tl_partition_list_destroy(assigned);
    tl_partition_list_destroy(wanted);
}

static void drop_member(member_t *m) {
    clear_received(m);
    free(m->received);
    for (size_t i = 0; i < m->lasts; i++) free(m->last[i].topic);
    free(m->last);
    free(m->name);
    *m = members[--member_count];
}

static void step_close(const step_t *step) {
    member_t *m = member(step);
    tl_consumer_t *consumer = m->consumer;
    drop_member(m);
    expected(step, tl_consumer_close(consumer));
    tl_consumer_destroy(consumer);
}

/* ---- the verbs ---- */

typedef struct {
    const char *verb;
    void (*run)(const step_t *);
} verb_t;

static const verb_t VERBS[] = {
    {"requires", step_requires},
    {"create_topic", step_create_topic},
    {"delete_topic", step_delete_topic},
    {"create_partitions", step_create_partitions},
    {"describe_topic", step_describe_topic},
    {"alter_config", step_alter_config},
    {"expect_config", step_expect_config},
    {"list_offsets", step_list_offsets},
    {"delete_records", step_delete_records},
    {"describe_group", step_describe_group},
    {"list_groups", step_list_groups},
    {"delete_group", step_delete_group},
    {"restart_broker", step_restart_broker},
    {"sleep", step_sleep},
    {"producer", step_producer},
    {"produce", step_produce},
    {"produce_vectors", step_produce_vectors},
    {"consumer", step_consumer},
    {"subscribe", step_subscribe},
    {"assign", step_assign},
    {"consume", step_consume},
    {"expect_nothing", step_expect_nothing},
    {"expect_records", step_expect_records},
    {"expect_count", step_expect_count},
    {"clear", step_clear},
    {"commit", step_commit},
    {"expect_committed", step_expect_committed},
    {"seek", step_seek},
    {"pause", step_pause},
    {"resume", step_resume},
    {"expect_position", step_expect_position},
    {"await_assignment", step_await_assignment},
    {"expect_assignment", step_expect_assignment},
    {"close", step_close},
    {NULL, NULL},
};

static const verb_t *lookup(const char *verb) {
    for (const verb_t *v = VERBS; v->verb; v++)
        if (strcmp(v->verb, verb) == 0) return v;
    return NULL;
}

static void run(step_t *steps, size_t count) {
    /* Whether the scenario applies is known before any step runs. */
    for (size_t i = 0; i < count; i++) {
        if (!lookup(steps[i].verb)) not_applicable("line %d: no `%s` step in this runner", steps[i].line, steps[i].verb);
        if (strcmp(steps[i].verb, "requires") == 0) step_requires(&steps[i]);
    }
    for (size_t i = 0; i < count; i++) lookup(steps[i].verb)->run(&steps[i]);
}

static void close_all(void) {
    while (member_count) {
        tl_consumer_t *consumer = members[0].consumer;
        drop_member(&members[0]);
        tl_consumer_close(consumer);
        tl_consumer_destroy(consumer);
    }
    if (producer) {
        tl_flush(producer, 10000);
        tl_producer_destroy(producer);
        producer = NULL;
    }
    tl_admin_destroy(admin_client);
    admin_client = NULL;
}

static char *read_all(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *text = NULL;
    size_t size = 0;
    char chunk[4096];
    for (size_t n; (n = fread(chunk, 1, sizeof chunk, file)) > 0; size += n) {
        text = realloc(text, size + n + 1);
        memcpy(text + size, chunk, n);
    }
    fclose(file);
    if (!text) text = calloc(1, 1);
    text[size] = 0;
    return text;
}

int main(int argc, char **argv) {
    const char *scenario = NULL;
    options.prefix = "";
    options.data = "conformance/data";
    options.capabilities = "";
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        const char **value = strcmp(flag, "--bootstrap") == 0  ? &options.bootstrap
                             : strcmp(flag, "--prefix") == 0   ? &options.prefix
                             : strcmp(flag, "--data") == 0     ? &options.data
                             : strcmp(flag, "--capabilities") == 0 ? (const char **)&options.capabilities
                                                                   : NULL;
        if (value && i + 1 < argc) {
            *value = argv[++i];
        } else if (!value && flag[0] != '-' && !scenario) {
            scenario = flag;
        } else {
            fprintf(stderr, "usage: %s --bootstrap HOST:PORT [--prefix P] [--capabilities C,C] [--data DIR] FILE\n",
                    argv[0]);
            return 1;
        }
    }
    if (!options.bootstrap || !scenario) {
        fprintf(stderr, "usage: %s --bootstrap HOST:PORT [--prefix P] [--capabilities C,C] [--data DIR] FILE\n",
                argv[0]);
        return 1;
    }
    options.capabilities = strdup(options.capabilities);
    char *text = read_all(scenario);
    if (!text) {
        printf("failed: cannot read %s\n", scenario);
        return 1;
    }
    int code = setjmp(finish);
    if (code == 0) {
        size_t count;
        step_t *steps = parse(text, &count);
        run(steps, count);
        snprintf(verdict, sizeof verdict, "passed");
    }
    close_all();
    printf("%s%s\n", code == 1 ? "failed: " : code == 2 ? "not applicable: " : "", verdict);
    fflush(stdout);
    return code;
}
