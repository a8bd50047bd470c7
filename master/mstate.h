/*  master/mstate.h - the master's state, shared by master.c (the loop, the
 *  run's life) and routes.c (the HTTP API's views and load control).
 *  Private to master/: nothing outside it includes this header, as
 *  nothing outside curl's lib/ includes urldata.h.
 */
#ifndef HN_MSTATE_H
#define HN_MSTATE_H

#include <czmq.h>

#include "api.h"
#include "buf.h"
#include "ctl.h"
#include "fleet.h"
#include "interval.h"
#include "judge.h"
#include "master.h"
#include "metrics.h"
#include "msg.h"
#include "report.h"
#include "share.h"
#include "util.h"

typedef enum {
    M_WAITING = 0, /* for the expected workers */
    M_IDLE = 1,    /* interactive: between runs */
    M_RUNNING = 2,
    M_STOPPING = 3, /* in-flight requests finishing */
    M_DONE = 4,     /* the loop ends */
    M_PHASE_LAST
} mphase_t;

struct master {
    const scen_t *scen;
    const scen_load_t *load;
    master_opts_t o;
    zsock_t *sock;
    zactor_t *auth;
    zpoller_t *poller;
    uint64_t session;
    util_rng_t rng; /* session and run ids */
    buf_t bundle;
    fleet_t *fleet;
    share_rows_t *rows; /* unique feeds' rows and counter blocks given */
    ival_t *ival;
    stats_t *scratch; /* one snapshot decoded, then merged */
    mphase_t phase;   /* written only by master_set_phase */
    uint64_t run;
    int64_t start_wall_ns;
    int64_t start_ms; /* zclock_mono at the start */
    int64_t stop_ms;
    int64_t stop_deadline_ms;
    int64_t wait_start_ms;
    report_t *rep;
    judge_t *judge; /* the run's thresholds (one per run) */
    bool open;
    int64_t last_beat_ms;
    uint64_t bad_messages;
    uint64_t duplicates;
    const report_point_t *last_shown;
    uint64_t merged;   /* snapshots decoded and merged */
    uint64_t merge_ns; /* time spent on that */
    /*  The load being run: a schedule (from the file, the command line or
     *  the API) or a constant, plus the classes' own schedules. */
    sched_t *sched;  /* global schedule (owned), or NULL */
    double sched_t0; /* run second it starts at */
    double base;     /* constant users or rate without one */
    double spawn;    /* users/s, 0 = at once */
    uint32_t max_inflight;
    double duration_s;  /* 0 = until stopped */
    share_targets_t tg; /* what the workers were last told */
    bool tg_sent;
    int64_t last_plan_ms;
    size_t stage_idx; /* global schedule stage last recorded */
    size_t cls_stage[SHARE_CLASSES];
    /*  HTTP API (api.c forwards calls here) and its event stream */
    api_t *api;
    zsock_t *api_sock;
    zsock_t *pub;
    const report_point_t *last_published;
    scen_t *own_scen;        /* uploaded through the API, or NULL */
    const scen_t *base_scen; /* the one the master was started with */
    scen_t *url_scen;        /* a --url scenario rewritten for the API's host */
    scen_t *old_scen;        /* replaced, freed once the report moves on */
    zmsg_t *deferred;        /* a start that waits for the stop to end */
    int64_t deferred_ms;
    scen_load_t cur; /* the profile of the current run */
    char host[512];  /* --host or the API's, "" = the file's */
    master_err_t result;
    bool reported;          /* the current run's report is out */
    uint64_t refused;       /* hellos refused (duplicate or spoofed ids) */
    bool exit_when_stopped; /* a signal: finish the run, then exit */
    /*  The run a worker said it is in (its hello), for a take-over */
    uint64_t adopt_run;
    proto_profile_t adopt;
    sched_t *adopt_sched;
    /*  GET /metrics: what stats resets carried (metrics.c), or NULL */
    metrics_t *metrics;
};

/*  The one writer of m->phase; `line` is the caller's __LINE__. */
void master_set_phase(master_t *m, mphase_t to, int line);
#define M_PHASE(m, p) master_set_phase((m), (p), __LINE__)

/*  What routes.c needs of the run (master.c). */
void master_start_run(master_t *m);
bool master_reset_run(master_t *m);
void master_plan(master_t *m, int64_t now_ms, bool force);
void master_welcome_all(master_t *m);
void master_set_host(master_t *m, const char *host);
double master_elapsed_s(const master_t *m);
report_info_t master_run_info(const master_t *m);
const char *master_state_name(const master_t *m);
uint32_t master_current_users(const master_t *m);
const char *master_current_host(const master_t *m);
/*  The run's summary as --json writes it, so far (new reference, NULL
 *  when out of memory). */
json_t *master_summary(const master_t *m);
/*  Generator health of the run so far (issue 18): {saturated, note,
 *  workers: [...]}, new reference (NULL when out of memory). */
json_t *master_generator_json(const master_t *m);
/*  One worker's part of it (new reference). */
json_t *master_gen_worker_json(const fleet_worker_t *w);
/*  What a worker that vanished mid-run took with it, estimated
 *  (fleet_lost_t as {in_flight, unsent, low, high, times}), or JSON null
 *  when it took nothing (new reference). */
json_t *master_lost_json(const fleet_worker_t *w);

/*  The API (routes.c): one call from api.c, and the event stream. */
void routes_on_api(master_t *m);
/*  Answers a start that waited for the stop (every loop pass). */
void routes_deferred(master_t *m);
void routes_publish(master_t *m);

#endif
