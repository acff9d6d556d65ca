/* fuzz_time.c - timestamps (io/timestamp.c, every format), durations (core/str.c) and cron
 * expressions and times (core/cron.c): the input is one text; a cron expression that parses
 * is also asked for its next firing times in UTC and in a zone. */
#include "core/cron.h"
#include "core/str.h"
#include "io/timestamp.h"
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init(0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mo_error_t err = {0};
    int64_t us;
    for (int f = MO_TS_AUTO; f <= MO_TS_EPOCH_MS; f++)
        mo_ts_parse((const char *)data, size, (mo_ts_format_t)f, &us, &err);
    char *s = fuzz_cstr(data, size);
    if (!s)
        return 0;
    double sec;
    mo_parse_duration(s, &sec);
    int64_t t;
    mo_cron_parse_time(&t, s, &err);
    mo_cron_t c;
    if (mo_cron_parse(&c, s, &err) == 0) {
        int64_t next = 0, after = 1764115200; /* 2025-11-26T00:00:00Z */
        static const char *const zones[] = {"UTC", "Europe/Berlin", "America/New_York"};
        for (int z = 0; z < 3; z++)
            if (mo_cron_next(&next, &c, zones[z], after, &err) == 0) {
                char buf[64];
                mo_cron_format(buf, sizeof buf, next, zones[z], &err);
            }
    }
    free(s);
    return 0;
}
