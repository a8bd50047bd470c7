/*  tests/fuzz/fuzz_ctl.c - libFuzzer target: HTTP API bodies
 *  (master/ctl.c ctl_parse). Each input is parsed as every kind of body
 *  (start, load, schedule, swarm); a refusal must name what it refused. */
#include <stddef.h>
#include <stdint.h>

#include "ctl.h"
#include "err.h"
#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const ctl_kind_t kinds[] = {CTL_START, CTL_LOAD, CTL_SCHEDULE,
                                       CTL_SWARM};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        ctl_req_t r;
        char field[CTL_FIELDLEN], err[HN_ERRLEN];
        hn_err_t rc = ctl_parse(kinds[i], (const char *)data, len, &r, field,
                                err);
        if (rc != HN_OK) {
            if (rc != HN_ERR_INVALID || !err[0])
                __builtin_trap(); /* refused, with a message */
            continue;
        }
        if (r.sched) {
            size_t stage = 0;
            double total = sched_total_s(r.sched);
            (void)sched_value(r.sched, total / 2, &stage);
            (void)sched_value(r.sched, total + 1, &stage);
            (void)sched_max(r.sched);
        }
        ctl_req_free(&r);
    }
    return 0;
}
