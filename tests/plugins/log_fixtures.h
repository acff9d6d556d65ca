/* log_fixtures.h - the host's log lines captured through an mo_log sink, for asserting on the
 * warnings a test expects (header-only: every test file is its own executable) */
#ifndef MO_TESTS_PLUGINS_LOG_FIXTURES_H
#define MO_TESTS_PLUGINS_LOG_FIXTURES_H

#include "core/log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t svc_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char svc_log_text[1 << 17];
static size_t svc_log_len;

static inline void capture(const mo_log_record_t *rec, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&svc_log_lock);
    int n = snprintf(svc_log_text + svc_log_len, sizeof svc_log_text - svc_log_len, "%d %s: %s\n",
                     (int)rec->level, rec->component, rec->msg);
    if (n > 0 && svc_log_len + (size_t)n < sizeof svc_log_text)
        svc_log_len += (size_t)n;
    pthread_mutex_unlock(&svc_log_lock);
}

static inline void log_clear(void)
{
    pthread_mutex_lock(&svc_log_lock);
    svc_log_len = 0;
    svc_log_text[0] = '\0';
    pthread_mutex_unlock(&svc_log_lock);
}

/* 1 when `needle` appears in no captured line (for things that must never be logged). */
static inline int log_lacks(const char *needle)
{
    pthread_mutex_lock(&svc_log_lock);
    int absent = strstr(svc_log_text, needle) == NULL;
    pthread_mutex_unlock(&svc_log_lock);
    return absent;
}

static inline int log_has(const char *needle)
{
    pthread_mutex_lock(&svc_log_lock);
    int found = strstr(svc_log_text, needle) != NULL;
    pthread_mutex_unlock(&svc_log_lock);
    if (!found)
        fprintf(stderr, "\n  no log line has [%s]; the log:\n%s", needle, svc_log_text);
    return found;
}

#endif
