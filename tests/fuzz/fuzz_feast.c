/* fuzz_feast.c - values read back from Redis (io/redis_online_codec.c): Feast's serialized
 * ValueProto and protobuf Timestamp as stored in an online-store hash, parsed from the raw
 * bytes a server returns. */
#include "io/redis_online.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double v;
    int64_t us;
    mo_feast_parse_value(data, size, &v);
    mo_feast_parse_timestamp(data, size, &us);
    return 0;
}
