/* delivery.c — shared delivery reports (delivery.h). */
#include "delivery.h"

#include <stdlib.h>

sqp_delivery *sqp_delivery_new(void)
{
    sqp_delivery *d = calloc(1, sizeof *d);
    if (d) {
        atomic_init(&d->refs, 2);
        atomic_init(&d->done, false);
    }
    return d;
}

void sqp_delivery_done(void *opaque, rd_kafka_resp_err_t err)
{
    sqp_delivery *d = opaque;
    if (!d)
        return;
    d->err = err;
    atomic_store(&d->done, true); /* release: err is visible to whoever sees done */
    sqp_delivery_release(d);
}

void sqp_delivery_release(sqp_delivery *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1)
        free(d);
}
