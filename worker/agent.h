/*  worker/agent.h - `hornet worker`: a worker process's link to its master.
 *
 *  The agent owns a DEALER socket to the master and a worker_t (the engine
 *  threads). It says hello, loads the scenario bundle the master sends,
 *  runs the load it is given from the given start time, and streams one
 *  stats snapshot per interval. Snapshots stay queued until the master
 *  acknowledges them and are sent again when no ack came (after a
 *  reconnect, say), so the master, which drops duplicates, counts every
 *  request exactly once. Without a master for `grace` seconds the agent
 *  stops its load and waits for one.
 */
#ifndef HN_AGENT_H
#define HN_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <czmq.h>

typedef struct {
    const char *master; /* endpoint, e.g. tcp://10.0.0.1:5557 */
    unsigned threads;   /* engine threads; 0 = one per core */
    double grace_s;     /* stop the load after this long without a master */
    bool insecure;      /* -k, in addition to the master's setting */
    const char *id;     /* NULL = hostname-pid-random */
    const char *curve_server_key; /* master's public key (z85), or NULL */
    const char *curve_dir;        /* our key pair directory, or NULL */
    uint32_t debug;               /* --debug N (worker/debug.h); 0 = off */
    bool embedded;                /* inside hornet run: quiet, signals are the
                                   * master's business, stops on its pipe */
} agent_opts_t;

typedef struct agent agent_t;

/*  Connects to opts->master (pipe: the actor's, or NULL). Returns NULL
 *  with a message in err (HN_ERRLEN) when it cannot. */
agent_t *agent_new(const agent_opts_t *opts, zsock_t *pipe, char *err);

/*  Runs until the master says quit or a signal (returns 0), or $TERM on
 *  the pipe; 1 after logging a fatal error. */
int agent_run(agent_t *self);

/*  Stops the load, frees everything; NULL is fine. */
void agent_destroy(agent_t **self_p);

/*  The same as a CZMQ actor (args: agent_opts_t *, copied before it
 *  signals), for `hornet run`: the master in the calling thread, this
 *  worker beside it over inproc. Ends on QUIT or on $TERM. */
void agent_actor(zsock_t *pipe, void *args);

#endif
