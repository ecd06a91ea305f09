// The header compiles as C++ and links without name mangling.
#include <tidelog.h>

#include <cstdio>
#include <cstring>

int main() {
    tl_conf_t *conf = tl_conf_new();
    char errstr[256];
    tl_resp_err_t err = tl_conf_set(conf, "acks", "2", errstr, sizeof errstr);
    tl_conf_destroy(conf);
    if (err != TL_RESP_ERR__INVALID_ARG || std::strstr(errstr, "acks") == nullptr) {
        std::fprintf(stderr, "unexpected: %s %s\n", tl_err2name(err), errstr);
        return 1;
    }
    std::printf("C++: %s\n", errstr);
    return 0;
}
