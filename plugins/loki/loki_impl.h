/* loki_impl.h - internals shared by the loki plugin's files
 *
 * batch.c knows Loki's JSON push format and the rules a batch must keep (per-stream
 * timestamps strictly increasing, lines as JSON objects, size accounting); jsonl.c writes the
 * embedded default's JSON lines. Neither includes a Maestro header (not even the plugin ABI),
 * so the unit tests compile them directly and check the bytes. loki.c is the plugin: config,
 * the host's events, delivery (push, spool, retry).
 */
#ifndef MAESTRO_LOKI_IMPL_H
#define MAESTRO_LOKI_IMPL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Labels every stream carries, in this order; static labels from the config come after and
 * may not reuse these names. */
#define LOKI_LABEL_NAMES                                                                           \
    {                                                                                              \
        "job", "run_id", "kind", "rank", "level"                                                   \
    }
#define LOKI_N_BUILTIN_LABELS 5
/* Loki 2.x max_label_names_per_series, max_label_name_length, max_label_value_length. */
#define LOKI_MAX_LABELS 30
#define LOKI_MAX_LABEL_NAME 1024
#define LOKI_MAX_LABEL_VALUE 2048

/* ---- log lines ------------------------------------------------------------------------------ */

/* The line Loki stores for one event: a compact JSON object
 * {"level","component","msg","rank"[,"part"]} so Grafana parses it with `| json`. `part` (1,
 * 2, ...) appears only when a message was split; 0 leaves it out. Invalid UTF-8 in `msg`
 * becomes U+FFFD. Caller frees; NULL on no memory. */
char *loki_line(const char *level, const char *component, const char *msg, size_t msg_len, int rank,
                int part);

/* Split `msg` so that every loki_line() of a piece is at most `max_line` bytes; max_line 0
 * means no limit (one piece). Pieces end on UTF-8 character boundaries. *starts and *lens are
 * malloc'd arrays of *n offsets into msg; caller frees both. 0, or -1 when max_line is too
 * small to hold even one character, or on no memory. */
int loki_split(const char *level, const char *component, const char *msg, int rank, size_t max_line,
               size_t **starts, size_t **lens, size_t *n);

/* `in` with bytes that are not valid UTF-8 replaced by U+FFFD; caller frees. */
char *loki_utf8_clean(const char *in, size_t len);

/* Name check of Prometheus/Loki label names: [a-zA-Z_][a-zA-Z0-9_]*. */
int loki_label_name_ok(const char *name);

/* Parse "k=v,k=v" into `labels` (a JSON object; keys appended in order). Returns 0, or -1
 * with a one-line reason in err: bad name, empty value, a built-in name, too many or too long
 * (Loki's limits above, counting the built-in labels). */
int loki_parse_static_labels(json_t *labels, const char *spec, char *err, size_t errlen);

/* ---- a batch of streams --------------------------------------------------------------------- */

typedef struct {
    int rank;
    int level;       /* index into the level names */
    json_t *labels;  /* the stream's label set */
    json_t *values;  /* [[ts, line], ...] not yet taken */
    int64_t last_ns; /* newest timestamp given to this stream, across batches */
} loki_stream_t;

typedef struct {
    json_t *base; /* job, run_id, kind and the static labels; owned */
    loki_stream_t *streams;
    size_t n_streams, cap;
    size_t entries;   /* entries waiting */
    size_t bytes;     /* length of the body loki_batch_take() would build now */
    int64_t first_at; /* host clock when the oldest waiting entry arrived */
} loki_batch_t;

/* The label values of the run (static_labels is copied, may be NULL).
 * 0, or -1 on no memory. */
int loki_batch_init(loki_batch_t *b, const char *run_id, const char *kind,
                    const json_t *static_labels);
void loki_batch_free(loki_batch_t *b);

/* Exactly how many bytes loki_batch_add() of this entry would add to the body of
 * loki_batch_take() (the entry, its comma, and the stream's labels when the stream has no
 * waiting entry yet), so the caller can send the batch first when it would pass its limit. */
size_t loki_batch_cost(const loki_batch_t *b, int rank, int level, int64_t ts, const char *line);

/* Append an entry to the stream of (rank, level) (level 0..3: debug, info, warn, error).
 * `ts` is bumped to last + 1 when it is not after the stream's newest entry: Loki drops an
 * exact duplicate and, with unordered writes off, rejects anything older. `now` is the host
 * clock (for batch_wait). *used_ts gets the timestamp given (may be NULL). 0, or -1 on no
 * memory. */
int loki_batch_add(loki_batch_t *b, int rank, int level, int64_t ts, const char *line, int64_t now,
                   int64_t *used_ts);

/* The JSON body {"streams":[{"stream":{...},"values":[[ts,line],...]},...]} of everything
 * waiting (streams without waiting entries left out), and empty the batch (each stream keeps
 * its newest timestamp). NULL when nothing waits or on no memory (*n_entries says which).
 * Caller frees with free(). */
char *loki_batch_take(loki_batch_t *b, size_t *len, size_t *n_entries);

/* ---- the embedded default: JSON lines (jsonl.c) -----------------------------------------------
 */

typedef struct {
    int fd;    /* -1: not open */
    int owned; /* 0 for standard output */
} loki_out_t;

/* Open `target` for appending: NULL or "stdout" is standard output, anything else a file
 * (created 0644). 0, or -1 with errno. */
int loki_out_open(loki_out_t *o, const char *target);
void loki_out_close(loki_out_t *o);
/* {"ts","level","component","msg","rank","run_id"} without a newline; invalid UTF-8 in msg
 * becomes U+FFFD. Caller frees; NULL on no memory. */
char *loki_jsonl_line(int64_t ns, const char *level, const char *component, const char *msg,
                      int rank, const char *run_id);
/* Append that line and a newline with one write(2). 0, or -1 with errno. */
int loki_out_write(loki_out_t *o, int64_t ns, const char *level, const char *component,
                   const char *msg, int rank, const char *run_id);
/* RFC 3339 UTC with nanoseconds: 2025-01-01T00:00:00.123456789Z. */
void loki_rfc3339_ns(char *out, size_t size, int64_t ns);

/* Level names as the lines and the level label spell them. */
extern const char *const loki_level_names[4];

#endif
