/*  common/health.c - see health.h. */
#include "health.h"

#include <stdio.h>
#include <string.h>

/*  Bucket bounds in microseconds; index 5 is the 10 ms the saturation
 *  rule compares against. */
static const uint64_t s_bound_us[HEALTH_LAG_BUCKETS] = {
    100,   500,   1000,   2000,   5000,    10000,
    20000, 50000, 100000, 250000, 1000000, UINT64_MAX};

_Static_assert(STATS_CTR_LAG_0 + HEALTH_LAG_BUCKETS == STATS_CTR_LAST,
               "the lag buckets are the last counters");

uint64_t health_lag_bound_us(size_t i)
{
    return i < HEALTH_LAG_BUCKETS ? s_bound_us[i] : UINT64_MAX;
}

void health_record_lag(stats_t *st, uint64_t lag_ns)
{
    uint64_t us = lag_ns / 1000;
    size_t i = 0;
    while (us > s_bound_us[i])
        i++;
    stats_count(st, (stats_ctr_t)(STATS_CTR_LAG_0 + i), 1);
    stats_count(st, STATS_CTR_LAG_MAX_US, us);
}

void health_record_arrival(stats_t *st, uint64_t late_ns)
{
    if (late_ns > HEALTH_LATE_NS)
        stats_count(st, STATS_CTR_LATE, 1);
    stats_count(st, STATS_CTR_ARRIVAL_MAX_US, late_ns / 1000);
}

void health_record_cpu(stats_t *st, uint64_t cpu_ns, uint64_t wall_ns)
{
    stats_count(st, STATS_CTR_CPU_NS, cpu_ns);
    stats_count(st, STATS_CTR_WALL_NS, wall_ns);
}

void health_record_fds(stats_t *st, uint64_t open, uint64_t limit)
{
    stats_count(st, STATS_CTR_FD_OPEN, open);
    stats_count(st, STATS_CTR_FD_LIMIT, limit);
}

static uint64_t s_max(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

void health_merge(health_fig_t *a, const health_fig_t *b)
{
    a->cpu_ns += b->cpu_ns;
    a->wall_ns += b->wall_ns;
    for (size_t i = 0; i < HEALTH_LAG_BUCKETS; i++)
        a->lag[i] += b->lag[i];
    a->lag_max_us = s_max(a->lag_max_us, b->lag_max_us);
    a->late += b->late;
    a->scheduled += b->scheduled;
    a->arrival_max_us = s_max(a->arrival_max_us, b->arrival_max_us);
    a->fd_open = s_max(a->fd_open, b->fd_open);
    a->fd_limit = s_max(a->fd_limit, b->fd_limit);
}

void health_add(health_fig_t *f, const stats_t *st)
{
    health_fig_t g = {
        .cpu_ns = stats_counter(st, STATS_CTR_CPU_NS),
        .wall_ns = stats_counter(st, STATS_CTR_WALL_NS),
        .lag_max_us = stats_counter(st, STATS_CTR_LAG_MAX_US),
        .late = stats_counter(st, STATS_CTR_LATE),
        .scheduled = stats_counter(st, STATS_CTR_SCHEDULED),
        .arrival_max_us = stats_counter(st, STATS_CTR_ARRIVAL_MAX_US),
        .fd_open = stats_counter(st, STATS_CTR_FD_OPEN),
        .fd_limit = stats_counter(st, STATS_CTR_FD_LIMIT),
    };
    for (size_t i = 0; i < HEALTH_LAG_BUCKETS; i++)
        g.lag[i] = stats_counter(st, (stats_ctr_t)(STATS_CTR_LAG_0 + i));
    health_merge(f, &g);
}

double health_cpu_share(const health_fig_t *f)
{
    return f->wall_ns ? (double)f->cpu_ns / (double)f->wall_ns : 0.0;
}

uint64_t health_lag_samples(const health_fig_t *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i < HEALTH_LAG_BUCKETS; i++)
        n += f->lag[i];
    return n;
}

uint64_t health_lag_us(const health_fig_t *f, double q)
{
    uint64_t n = health_lag_samples(f);
    if (!n)
        return 0;
    /*  the rank-th smallest sample, 1-based: ceil(q * n), at least 1 */
    double want = q * (double)n;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HEALTH_LAG_BUCKETS; i++) {
        seen += f->lag[i];
        if (seen >= rank) {
            uint64_t b = s_bound_us[i];
            return b > f->lag_max_us ? f->lag_max_us : b;
        }
    }
    return f->lag_max_us;
}

unsigned health_saturated(const health_fig_t *f)
{
    unsigned why = 0;
    if (health_cpu_share(f) > HEALTH_CPU_SHARE)
        why |= HEALTH_CPU;
    /*  p99 > 10 ms exactly: more than 1% of the samples lie in buckets
     *  above the 10 ms bound */
    uint64_t n = 0, over = 0;
    for (size_t i = 0; i < HEALTH_LAG_BUCKETS; i++) {
        n += f->lag[i];
        if (s_bound_us[i] > HEALTH_LAG_P99_US)
            over += f->lag[i];
    }
    if (n && over * 100 > n && over >= HEALTH_MIN_LATE)
        why |= HEALTH_LAG;
    if (f->late >= HEALTH_MIN_LATE &&
        (double)f->late > HEALTH_LATE_SHARE * (double)f->scheduled)
        why |= HEALTH_LATE;
    return why;
}

bool health_fd_near(const health_fig_t *f)
{
    return f->fd_limit &&
           (double)f->fd_open >= HEALTH_FD_SHARE * (double)f->fd_limit;
}

void health_describe(const health_fig_t *f, unsigned why, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    if (why & HEALTH_CPU)
        k += (size_t)snprintf(out + k, n - k, "cpu %.0f%% of its threads",
                              100.0 * health_cpu_share(f));
    if ((why & HEALTH_LAG) && k < n)
        k += (size_t)snprintf(out + k, n - k,
                              "%sloop lag p99 > 10 ms (max %.1f ms)",
                              k ? ", " : "", (double)f->lag_max_us / 1000.0);
    if ((why & HEALTH_LATE) && k < n)
        k += (size_t)snprintf(out + k, n - k,
                              "%s%llu of %llu arrivals sent > 10 ms late "
                              "(latest %.1f ms)",
                              k ? ", " : "", (unsigned long long)f->late,
                              (unsigned long long)f->scheduled,
                              (double)f->arrival_max_us / 1000.0);
    (void)k;
}

unsigned health_run_add(health_run_t *r, uint64_t seq, const stats_t *st)
{
    health_fig_t f;
    memset(&f, 0, sizeof f);
    health_add(&f, st);
    health_merge(&r->total, &f);
    if (f.fd_limit) {
        r->fd_open_max = s_max(r->fd_open_max, f.fd_open);
        r->fd_limit = f.fd_limit;
        r->fd_near |= health_fd_near(&f);
    }
    for (size_t i = 0; i < stats_n_errors(st); i++) {
        const stats_error_t *e = stats_error(st, i);
        if (e->kind == STATS_FAIL_PORTS)
            r->ports_failed += e->count;
        else if (e->kind == STATS_FAIL_NOFILE)
            r->nofile_failed += e->count;
    }
    unsigned why = health_saturated(&f);
    if (seq >= r->last_seq) {
        r->last = f;
        r->last_why = why;
        r->last_seq = seq;
    }
    if (!why)
        return 0;
    r->why |= why;
    r->saturated_s++;
    if (r->n_ranges && r->range[r->n_ranges - 1][1] + 1 == seq) {
        r->range[r->n_ranges - 1][1] = seq;
    } else if (r->n_ranges && seq >= r->range[r->n_ranges - 1][0] &&
               seq <= r->range[r->n_ranges - 1][1]) {
        /* the same second again (folded in late): already counted */
    } else if (r->n_ranges < HEALTH_RANGES_MAX) {
        r->range[r->n_ranges][0] = seq;
        r->range[r->n_ranges][1] = seq;
        r->n_ranges++;
    } else {
        r->ranges_cut = true;
    }
    return why;
}
