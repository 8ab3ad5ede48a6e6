/*
 * NAME
 *	cmd_stats 1
 * SUMMARY
 *	tenantalign stats: the counter tables, for Prometheus or as JSON
 * SYNOPSIS
 *	tenantalign stats [--prometheus | --json] [--top N] [--textfile DIR]
 *	                  [--counters FILE]... [--now T]
 * DESCRIPTION
 *	Reads the counter tables the adapters write (ta_counters): each
 *	--counters FILE, else every *.counters file in
 *	/var/lib/tenantalign/counters, in name order. Rows of the same tenant
 *	are summed across tables (Exim's and nginx's). A table that cannot be
 *	read is an error naming it, and nothing is written; one that vanished
 *	between the directory listing and its opening is left out.
 *
 *	Output: Prometheus text exposition format 0.0.4 (the default), only
 *	the series that are not zero, sorted by tenant then stream, without
 *	timestamps: tenantalign_messages_total (verdict accepted, refused,
 *	tempfailed or would_refuse, the last three with the reason class),
 *	tenantalign_signatures_total, tenantalign_message_bytes_total (octets
 *	relayed: accepted and would_refuse), tenantalign_hour_messages (for
 *	tenants with an hourly cap: the
 *	hourly window now: 55 to 60 minutes). Per table, labelled
 *	table="FILE" (filling and capacity are a table's: a sum would hide
 *	the one that is full): tenantalign_counter_tenants,
 *	tenantalign_counter_capacity, tenantalign_counter_overflow_total.
 *	The rows of messages without a tenant and of tenants that found a
 *	table full are tenant="(none)" and tenant="(other)".
 *
 *	Tenant names come from the files: untrusted octets. Valid UTF-8 is
 *	kept; any other octet becomes the four characters \xHH (Prometheus
 *	and JSON both want UTF-8); a name cut at 87 octets ends in "~".
 *	Names alike after that are summed as one (no duplicate series). Label
 *	values escape backslash, double quote and newline.
 *
 *	--json: one document, the tables, the tenants (by name, or by --top
 *	order) with both streams each, the overflow and capacity summed.
 *	--top N: the N rows with the most messages (all verdicts, both
 *	streams; ties by name); "(none)" and "(other)" compete as rows.
 *	--textfile DIR: the Prometheus text into DIR/tenantalign.prom,
 *	replaced atomically, mode 0644, for node_exporter's textfile
 *	collector; nothing on standard output. --now T: the hourly window at
 *	another time (tests). Exit 0, 2 when a table cannot be read or the
 *	output not written, 64 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ta_counters.h"

#define CMD "tenantalign stats"

static const char stats_usage[] =
    "usage: tenantalign stats [--prometheus | --json] [--top N] [--textfile DIR]\n"
    "                         [--counters FILE]... [--now T]\n"
    "\n"
    "Prints the per-tenant counters of the adapters' counter tables, summed over\n"
    "the tables: each --counters FILE, else every *.counters file in\n"
    TA_COUNTERS_DIR ".\n"
    "  --prometheus   Prometheus text format (the default)\n"
    "  --json         one JSON document\n"
    "  --top N        only the N tenants with the most messages\n"
    "  --textfile DIR write DIR/tenantalign.prom atomically (node_exporter's textfile\n"
    "                 collector), nothing on standard output\n"
    "  --now T        the hourly window at T (seconds since 1970, UTC), not now\n"
    "exit status: 0 done, 2 a table cannot be read or the output not written, 64 usage\n";

/* a row's counters, by field: per stream accepted, bytes, signatures by
 * algorithm, refusals and tempfails by class, would-refuse by class, hour */
enum {
    F_ACCEPTED = 0,
    F_BYTES = 1,
    F_SIG = 2,
    F_DENIED = F_SIG + 2,
    F_WOULD = F_DENIED + TA_R_COUNT,
    F_HOUR = F_WOULD + TA_R_COUNT,
    F_STREAM = F_HOUR + 1,
    FIELDS = F_STREAM * TA_STREAMS
};

static const char *const alg_names[2] = { "rsa-sha256", "ed25519-sha256" };

typedef struct {
    uint8_t  id;
    uint64_t v;
} cell_t;

typedef struct {                /* one row of one table: its label and its non-zero fields */
    size_t name, len;           /* into names */
    size_t cell, ncell;         /* into cells */
} rec_t;

typedef struct {                /* the rows of one label, summed */
    size_t   first, n;          /* into recs, sorted */
    uint64_t total;
} group_t;

typedef struct {
    const char *file;
    uint64_t    tenants, capacity, overflow;
} table_t;

typedef struct {
    char    *names;
    size_t   nnames, capnames;
    cell_t  *cells;
    size_t   ncells, capcells;
    rec_t   *recs;
    size_t   nrecs, caprecs;
    table_t *tables;
    size_t   ntables;
    int      oom;
} stats_t;

/* grow - room for one more item of size in *v (n used, *cap allocated) */
static int
grow(void **v, size_t n, size_t *cap, size_t size, size_t more)
{
    void  *nv;
    size_t want = *cap ? *cap : 64;

    if (n + more <= *cap)
        return 0;
    while (want < n + more)
        want *= 2;
    if ((nv = realloc(*v, want * size)) == NULL)
        return -1;
    *v = nv;
    *cap = want;
    return 0;
}

/* utf8_seq - the length of the valid UTF-8 sequence at p (RFC 3629), 0 if none */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xbf;
    size_t   need, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (n <= need)
        return 0;
    for (i = 1; i <= need; i++, lo = 0x80, hi = 0xbf)
        if (p[i] < lo || p[i] > hi)
            return 0;
    return need + 1;
}

/* add_label - a row's name as its label, into names (special rows by their names) */
static int
add_label(stats_t *st, const ta_counters_row_t *row, rec_t *r)
{
    static const char *const special[] = { "", "(none)", "(other)" };
    const unsigned char     *p = (const unsigned char *) row->name;
    size_t                   i, k;

    if (grow((void **) &st->names, st->nnames, &st->capnames, 1, 4 * sizeof(row->name) + 8) != 0)
        return -1;
    r->name = st->nnames;
    if (row->special) {
        k = strlen(special[row->special]);
        memcpy(st->names + st->nnames, special[row->special], k);
        st->nnames += k;
    } else {
        for (i = 0; i < row->name_len && i < sizeof(row->name); i += k) {
            if ((k = utf8_seq(p + i, row->name_len - i)) != 0) {
                memcpy(st->names + st->nnames, p + i, k);
                st->nnames += k;
            } else {
                st->nnames += (size_t) sprintf(st->names + st->nnames, "\\x%02x", p[i]);
                k = 1;
            }
        }
    }
    r->len = st->nnames - r->name;
    return 0;
}

/* take_row - one row of a table: its label and its non-zero fields */
static int
take_row(const ta_counters_row_t *row, void *arg)
{
    stats_t *st = arg;
    rec_t   *r;
    unsigned s, f;
    uint64_t v;

    if (grow((void **) &st->recs, st->nrecs, &st->caprecs, sizeof(rec_t), 1) != 0
        || grow((void **) &st->cells, st->ncells, &st->capcells, sizeof(cell_t), FIELDS) != 0) {
        st->oom = 1;
        return 1;
    }
    r = &st->recs[st->nrecs];
    if (add_label(st, row, r) != 0) {
        st->oom = 1;
        return 1;
    }
    r->cell = st->ncells;
    for (s = 0; s < TA_STREAMS; s++)
        for (f = 0; f < F_STREAM; f++) {
            v = f == F_ACCEPTED ? row->s[s].accepted : f == F_BYTES ? row->s[s].bytes
                : f < F_DENIED ? row->s[s].sig[f - F_SIG] : f < F_WOULD ? row->s[s].denied[f - F_DENIED]
                : f < F_HOUR ? row->s[s].would[f - F_WOULD] : row->s[s].hour;
            if (v != 0) {
                st->cells[st->ncells].id = (uint8_t) (s * F_STREAM + f);
                st->cells[st->ncells++].v = v;
            }
        }
    r->ncell = st->ncells - r->cell;
    if (r->ncell > 0)
        st->nrecs++;
    return 0;
}

/* read_table - every row of one table into st; a missing file is skipped when listed */
static int
read_table(stats_t *st, const char *file, int listed, int64_t now)
{
    ta_counters_t *c;
    table_t       *t;
    struct stat    sb;
    char           err[600];

    if ((c = ta_counters_open_read(file, err, sizeof(err))) == NULL) {
        if (listed && stat(file, &sb) != 0 && errno == ENOENT)
            return TA_EXIT_OK;  /* removed since the listing */
        fprintf(stderr, CMD ": counter table %s\n", err);
        return TA_EXIT_TEMPFAIL;
    }
    t = &st->tables[st->ntables++];
    t->file = file;
    ta_counters_info(c, &t->tenants, &t->capacity, &t->overflow);
    ta_counters_each(c, now, take_row, st);
    ta_counters_close(c);
    if (st->oom) {
        fprintf(stderr, CMD ": out of memory\n");
        return TA_EXIT_TEMPFAIL;
    }
    return TA_EXIT_OK;
}

static const stats_t *sorting;  /* for the comparison functions */

/* cmp_label - two labels in octet order */
static int
cmp_label(const stats_t *st, size_t a, size_t alen, size_t b, size_t blen)
{
    int c = memcmp(st->names + a, st->names + b, alen < blen ? alen : blen);

    return c ? c : (alen > blen) - (alen < blen);
}

static int
cmp_rec(const void *x, const void *y)
{
    const rec_t *a = x, *b = y;

    return cmp_label(sorting, a->name, a->len, b->name, b->len);
}

static int
cmp_group_name(const void *x, const void *y)
{
    const rec_t *a = &sorting->recs[((const group_t *) x)->first];
    const rec_t *b = &sorting->recs[((const group_t *) y)->first];

    return cmp_label(sorting, a->name, a->len, b->name, b->len);
}

static int
cmp_group_total(const void *x, const void *y)
{
    const group_t *a = x, *b = y;

    if (a->total != b->total)
        return a->total > b->total ? -1 : 1;
    return cmp_group_name(x, y);
}

/* sum - a group's fields, summed over its rows */
static void
sum(const stats_t *st, const group_t *g, uint64_t d[FIELDS])
{
    size_t i, k;

    memset(d, 0, FIELDS * sizeof(uint64_t));
    for (i = g->first; i < g->first + g->n; i++)
        for (k = 0; k < st->recs[i].ncell; k++)
            d[st->cells[st->recs[i].cell + k].id] += st->cells[st->recs[i].cell + k].v;
}

/* total - a group's messages: every verdict of both streams */
static uint64_t
total(const uint64_t d[FIELDS])
{
    uint64_t t = 0;
    unsigned s, f;

    for (s = 0; s < TA_STREAMS; s++)
        for (f = 0; f < F_STREAM; f++)
            if (f == F_ACCEPTED || (f >= F_DENIED && f < F_HOUR))
                t += d[s * F_STREAM + f];
    return t;
}

/* groups - the rows sorted and gathered by label, totals made; NULL when out of memory */
static group_t *
groups(stats_t *st, size_t *ng)
{
    group_t *g = malloc((st->nrecs ? st->nrecs : 1) * sizeof(*g));
    uint64_t d[FIELDS];
    size_t   i;

    *ng = 0;
    if (g == NULL)
        return NULL;
    sorting = st;
    qsort(st->recs, st->nrecs, sizeof(rec_t), cmp_rec);
    for (i = 0; i < st->nrecs; i++) {
        if (*ng == 0 || cmp_rec(&st->recs[g[*ng - 1].first], &st->recs[i]) != 0) {
            g[*ng].first = i;
            g[(*ng)++].n = 0;
        }
        g[*ng - 1].n++;
    }
    for (i = 0; i < *ng; i++) {
        sum(st, &g[i], d);
        g[i].total = total(d);
    }
    return g;
}

/* prom_value - a label value, escaped as the text format wants */
static void
prom_value(FILE *o, const char *s, size_t n)
{
    size_t i;

    fputc('"', o);
    for (i = 0; i < n; i++) {
        if (s[i] == '\\' || s[i] == '"')
            fputc('\\', o);
        if (s[i] == '\n')
            fputs("\\n", o);
        else
            fputc(s[i], o);
    }
    fputc('"', o);
}

/* prom_series - NAME{tenant="T",stream="S" then the rest of the labels */
static void
prom_series(FILE *o, const char *metric, const stats_t *st, const group_t *g, unsigned s)
{
    const rec_t *r = &st->recs[g->first];

    fprintf(o, "%s{tenant=", metric);
    prom_value(o, st->names + r->name, r->len);
    fprintf(o, ",stream=\"%s\"", ta_stream_names[s]);
}

/* prometheus - the text exposition of the chosen groups, families in a fixed order */
static void
prometheus(FILE *o, const stats_t *st, const group_t *g, size_t ng)
{
    uint64_t d[FIELDS], *f;
    size_t   i;
    unsigned s, r, m;

    for (m = 0; m < 4; m++) {
        static const char *const head[4] = {
            "# HELP tenantalign_messages_total Messages decided, by tenant, stream, verdict and reason class.\n"
            "# TYPE tenantalign_messages_total counter\n",
            "# HELP tenantalign_signatures_total DKIM signatures made, by tenant, stream and algorithm.\n"
            "# TYPE tenantalign_signatures_total counter\n",
            "# HELP tenantalign_message_bytes_total Octets of the messages relayed (accepted, and accepted in monitor mode).\n"
            "# TYPE tenantalign_message_bytes_total counter\n",
            "# HELP tenantalign_hour_messages Messages accepted in the hourly window (the last 55 to 60 minutes), for tenants with an hourly cap.\n"
            "# TYPE tenantalign_hour_messages gauge\n",
        };

        fputs(head[m], o);
        for (i = 0; i < ng; i++) {
            sum(st, &g[i], d);
            for (s = 0; s < TA_STREAMS; s++) {
                f = d + s * F_STREAM;
                if (m == 0 && f[F_ACCEPTED]) {
                    prom_series(o, "tenantalign_messages_total", st, &g[i], s);
                    fprintf(o, ",verdict=\"accepted\"} %llu\n", (unsigned long long) f[F_ACCEPTED]);
                }
                for (r = 0; m == 0 && r < TA_R_COUNT; r++)
                    if (f[F_DENIED + r]) {
                        prom_series(o, "tenantalign_messages_total", st, &g[i], s);
                        fprintf(o, ",verdict=\"%s\",reason=\"%s\"} %llu\n",
                                ta_reason_temporary((ta_reason_t) r) ? "tempfailed" : "refused",
                                ta_reason_names[r], (unsigned long long) f[F_DENIED + r]);
                    }
                for (r = 0; m == 0 && r < TA_R_COUNT; r++)
                    if (f[F_WOULD + r]) {
                        prom_series(o, "tenantalign_messages_total", st, &g[i], s);
                        fprintf(o, ",verdict=\"would_refuse\",reason=\"%s\"} %llu\n", ta_reason_names[r],
                                (unsigned long long) f[F_WOULD + r]);
                    }
                for (r = 0; m == 1 && r < 2; r++)
                    if (f[F_SIG + r]) {
                        prom_series(o, "tenantalign_signatures_total", st, &g[i], s);
                        fprintf(o, ",algorithm=\"%s\"} %llu\n", alg_names[r], (unsigned long long) f[F_SIG + r]);
                    }
                if (m == 2 && f[F_BYTES]) {
                    prom_series(o, "tenantalign_message_bytes_total", st, &g[i], s);
                    fprintf(o, "} %llu\n", (unsigned long long) f[F_BYTES]);
                }
                if (m == 3 && f[F_HOUR]) {
                    prom_series(o, "tenantalign_hour_messages", st, &g[i], s);
                    fprintf(o, "} %llu\n", (unsigned long long) f[F_HOUR]);
                }
            }
        }
    }
    for (m = 0; m < 3; m++) {
        static const struct {
            const char *name, *type, *help;
        } tab[3] = {
            { "tenantalign_counter_tenants", "gauge", "Tenant rows used in the counter table." },
            { "tenantalign_counter_capacity", "gauge", "Tenant rows the counter table has room for." },
            { "tenantalign_counter_overflow_total", "counter",
              "Messages counted as (other): the table full, or no disk space for a new row." },
        };

        fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", tab[m].name, tab[m].help, tab[m].name, tab[m].type);
        for (i = 0; i < st->ntables; i++) {
            const table_t *t = &st->tables[i];

            fprintf(o, "%s{table=", tab[m].name);
            prom_value(o, t->file, strlen(t->file));
            fprintf(o, "} %llu\n", (unsigned long long) (m == 0 ? t->tenants : m == 1 ? t->capacity : t->overflow));
        }
    }
}

/* json_classes - "KIND":{"class":n,...} of the non-zero classes of one kind */
static void
json_classes(FILE *o, const char *kind, const uint64_t *f, int from, int temporary)
{
    unsigned r;
    int      first = 1;

    fprintf(o, ",\"%s\":{", kind);
    for (r = 0; r < TA_R_COUNT; r++)
        if (f[from + (int) r] && (temporary < 0 || ta_reason_temporary((ta_reason_t) r) == temporary)) {
            fprintf(o, "%s\"%s\":%llu", first ? "" : ",", ta_reason_names[r], (unsigned long long) f[from + (int) r]);
            first = 0;
        }
    fputc('}', o);
}

/* json - the whole document */
static void
json(FILE *o, const stats_t *st, const group_t *g, size_t ng)
{
    uint64_t d[FIELDS], *f, over = 0, cap = 0;
    size_t   i;
    unsigned s;

    fputs("{\"tables\":[", o);
    for (i = 0; i < st->ntables; i++) {
        fputs(i ? ",{\"file\":" : "{\"file\":", o);
        ta_cli_json(o, st->tables[i].file, strlen(st->tables[i].file));
        fprintf(o, ",\"tenants\":%llu,\"capacity\":%llu,\"overflow\":%llu}",
                (unsigned long long) st->tables[i].tenants, (unsigned long long) st->tables[i].capacity,
                (unsigned long long) st->tables[i].overflow);
        over += st->tables[i].overflow;
        cap += st->tables[i].capacity;
    }
    fputs("],\n\"tenants\":[", o);
    for (i = 0; i < ng; i++) {
        sum(st, &g[i], d);
        fputs(i ? ",\n{\"tenant\":" : "\n{\"tenant\":", o);
        ta_cli_json(o, st->names + st->recs[g[i].first].name, st->recs[g[i].first].len);
        fputs(",\"streams\":{", o);
        for (s = 0; s < TA_STREAMS; s++) {
            f = d + s * F_STREAM;
            fprintf(o, "%s\"%s\":{\"accepted\":%llu,\"bytes\":%llu,\"signatures\":{\"%s\":%llu,\"%s\":%llu}",
                    s ? "," : "", ta_stream_names[s], (unsigned long long) f[F_ACCEPTED],
                    (unsigned long long) f[F_BYTES], alg_names[0], (unsigned long long) f[F_SIG],
                    alg_names[1], (unsigned long long) f[F_SIG + 1]);
            json_classes(o, "refused", f, F_DENIED, 0);
            json_classes(o, "tempfailed", f, F_DENIED, 1);
            json_classes(o, "would_refuse", f, F_WOULD, -1);
            fprintf(o, ",\"hour\":%llu}", (unsigned long long) f[F_HOUR]);
        }
        fputs("}}", o);
    }
    fprintf(o, "],\n\"overflow\":%llu,\"capacity\":%llu}\n", (unsigned long long) over, (unsigned long long) cap);
}

/* cmp_str - strcmp for qsort over char * */
static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* list_dir - the *.counters files of the default directory, sorted; -1 on error (said) */
static int
list_dir(char ***files, size_t *n)
{
    DIR           *d = opendir(TA_COUNTERS_DIR);
    struct dirent *e;
    size_t         cap = 0, len;
    char          *p;

    *files = NULL;
    *n = 0;
    if (d == NULL) {
        fprintf(stderr, CMD ": %s: %s%s\n", TA_COUNTERS_DIR, strerror(errno),
                errno == ENOENT ? " (no counter tables: give --counters FILE, or set the adapters' counters)" : "");
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (len <= sizeof(".counters") - 1 || e->d_name[0] == '.'
            || strcmp(e->d_name + len - (sizeof(".counters") - 1), ".counters") != 0)
            continue;
        if (grow((void **) files, *n, &cap, sizeof(char *), 1) != 0
            || (p = malloc(sizeof(TA_COUNTERS_DIR) + 1 + len)) == NULL) {
            fprintf(stderr, CMD ": out of memory\n");
            closedir(d);
            return -1;
        }
        sprintf(p, "%s/%s", TA_COUNTERS_DIR, e->d_name);
        (*files)[(*n)++] = p;
    }
    closedir(d);
    if (*n > 1)
        qsort(*files, *n, sizeof(char *), cmp_str);
    return 0;
}

/* output - the chosen format to o */
static void
output(FILE *o, int as_json, const stats_t *st, const group_t *g, size_t ng)
{
    if (as_json)
        json(o, st, g, ng);
    else
        prometheus(o, st, g, ng);
}

/* ta_cmd_stats - tenantalign stats */
int
ta_cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        { "prometheus", no_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "top", required_argument, NULL, 't' },
        { "textfile", required_argument, NULL, 'f' },
        { "counters", required_argument, NULL, 'c' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *textfile = NULL, *now_arg = NULL;
    char       **files = NULL, *end, *text = NULL, prom[4096];
    size_t       nfiles = 0, capfiles = 0, ng = 0, i, top = 0, len = 0;
    int          c, as_json = 0, as_prom = 0, listed = 0, rc = TA_EXIT_OK;
    stats_t      st;
    group_t     *g = NULL;
    int64_t      now;
    FILE        *o;

    memset(&st, 0, sizeof(st));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': as_prom = 1; break;
        case 'j': as_json = 1; break;
        case 'f': textfile = optarg; break;
        case 'n': now_arg = optarg; break;
        case 't':
            errno = 0;
            top = (size_t) strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || top == 0 || optarg[0] == '-') {
                fprintf(stderr, CMD ": --top wants a number of tenants, not \"%s\"\n", optarg);
                free(files);
                return TA_EXIT_USAGE;
            }
            break;
        case 'c':
            if (grow((void **) &files, nfiles, &capfiles, sizeof(char *), 1) != 0) {
                fprintf(stderr, CMD ": out of memory\n");
                free(files);
                return TA_EXIT_TEMPFAIL;
            }
            files[nfiles++] = optarg;
            break;
        case 'h': fputs(stats_usage, stdout); free(files); return TA_EXIT_OK;
        default: fputs(stats_usage, stderr); free(files); return TA_EXIT_USAGE;
        }
    }
    if (optind != argc || (as_json && as_prom) || (as_json && textfile != NULL)) {
        if (as_json && (as_prom || textfile != NULL))
            fprintf(stderr, CMD ": --json is not Prometheus text: not with --prometheus or --textfile\n");
        fputs(stats_usage, stderr);
        free(files);
        return TA_EXIT_USAGE;
    }
    if ((rc = ta_cli_now(now_arg, &now, CMD)) != TA_EXIT_OK) {
        free(files);
        return rc;
    }
    if (textfile != NULL
        && (size_t) snprintf(prom, sizeof(prom), "%s/tenantalign.prom", textfile) >= sizeof(prom)) {
        fprintf(stderr, CMD ": --textfile %s: path too long\n", textfile);
        free(files);
        return TA_EXIT_USAGE;
    }
    if (nfiles == 0) {
        listed = 1;
        if (list_dir(&files, &nfiles) != 0)
            return TA_EXIT_TEMPFAIL;
    }

    st.tables = calloc(nfiles ? nfiles : 1, sizeof(*st.tables));
    if (st.tables == NULL) {
        fprintf(stderr, CMD ": out of memory\n");
        rc = TA_EXIT_TEMPFAIL;
    }
    for (i = 0; rc == TA_EXIT_OK && i < nfiles; i++)
        rc = read_table(&st, files[i], listed, now);
    if (rc == TA_EXIT_OK && (g = groups(&st, &ng)) == NULL) {
        fprintf(stderr, CMD ": out of memory\n");
        rc = TA_EXIT_TEMPFAIL;
    }
    if (rc == TA_EXIT_OK && top > 0 && top < ng) {
        sorting = &st;
        qsort(g, ng, sizeof(*g), cmp_group_total);
        ng = top;
        if (!as_json)           /* Prometheus keeps the order by name */
            qsort(g, ng, sizeof(*g), cmp_group_name);
    }
    if (rc == TA_EXIT_OK && textfile == NULL) {
        output(stdout, as_json, &st, g, ng);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, CMD ": writing the output: %s\n", strerror(errno));
            rc = TA_EXIT_TEMPFAIL;
        }
    } else if (rc == TA_EXIT_OK) {
        mode_t old;

        if ((o = open_memstream(&text, &len)) == NULL) {
            fprintf(stderr, CMD ": out of memory\n");
            rc = TA_EXIT_TEMPFAIL;
        } else {
            output(o, 0, &st, g, ng);
            if (fclose(o) != 0) {
                fprintf(stderr, CMD ": out of memory\n");
                rc = TA_EXIT_TEMPFAIL;
            } else {
                /* 0644 whatever the umask (cron's may be 077): node_exporter runs as another user */
                old = umask(022);
                rc = ta_cli_write_atomic(prom, text, len, 0644, CMD);
                umask(old);
            }
        }
        free(text);
    }

    free(g);
    free(st.names);
    free(st.cells);
    free(st.recs);
    free(st.tables);
    if (listed)
        for (i = 0; i < nfiles; i++)
            free(files[i]);
    free(files);
    return rc;
}
