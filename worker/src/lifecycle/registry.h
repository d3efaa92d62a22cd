/* registry.h — the worker's in-memory map of live sandboxes by id. Callers hold
 * w->registry_mu. */
#ifndef SQ_REGISTRY_H
#define SQ_REGISTRY_H

#include "worker.h"

sq_live_sandbox *sq_registry_get(sq_worker *w, const char *id);
void sq_registry_put(sq_worker *w, sq_live_sandbox *sb);
/* Unlinks and returns the record (the caller frees it). */
sq_live_sandbox *sq_registry_remove(sq_worker *w, const char *id);

#endif
