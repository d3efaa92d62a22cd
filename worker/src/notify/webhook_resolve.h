/* webhook_resolve.h — webhook host names resolved off the delivery thread.
 *
 * getaddrinfo blocks for as long as DNS takes (seconds for a slow or dead
 * name server), and the delivery thread drives every transfer: one slow name
 * there stalls all deliveries. So names go to a small pool of resolver
 * threads; the delivery thread submits a lookup, goes on with the rest, and
 * takes finished lookups back when the pool wakes it (curl_multi_wakeup).
 * The pool only resolves: checking the addresses (webhook_ssrf.h) and pinning
 * curl to them stays with the delivery thread.
 *
 * SANDQ_WEBHOOK_DNS_SERVER (IPv4[:port]) makes the pool ask that server
 * instead of /etc/resolv.conf's (glibc's per-thread resolver state, set in
 * each pool thread): for tests, and for operators who want webhook names
 * resolved apart from the host's. */
#ifndef SQ_WEBHOOK_RESOLVE_H
#define SQ_WEBHOOK_RESOLVE_H

#include <netdb.h>

#include "sq/err.h"

/* One lookup; owned by the caller, lent to the pool from submit until take
 * hands it back (or stop, which drops the pool's hold on it). */
typedef struct sq_wh_lookup {
    char name[256];
    char port[8];
    int gai;               /* getaddrinfo's answer: 0 or an EAI_* code */
    struct addrinfo *res;  /* on gai == 0; the caller frees it (freeaddrinfo) */
    struct sq_wh_lookup *next;
} sq_wh_lookup;

typedef struct sq_wh_resolver sq_wh_resolver;

/* Start `threads` resolver threads. dns_server: NULL (the system's resolver)
 * or "a.b.c.d[:port]". wake(wake_ud) is called on a pool thread after each
 * lookup finishes. */
int sq_wh_resolver_start(sq_wh_resolver **out, int threads, const char *dns_server, void (*wake)(void *),
                         void *wake_ud, sq_err *err);
/* Queue a lookup of l->name, l->port. */
void sq_wh_resolver_submit(sq_wh_resolver *r, sq_wh_lookup *l);
/* The lookups finished since the last call, as a list (->next), or NULL. */
sq_wh_lookup *sq_wh_resolver_take(sq_wh_resolver *r);
/* Stop: queued lookups are dropped (not answered), lookups in progress are
 * waited for (getaddrinfo cannot be interrupted; the resolver's own timeouts
 * bound it), then the threads are joined and the pool freed. */
void sq_wh_resolver_stop(sq_wh_resolver *r);
/* Parse "a.b.c.d[:port]" (default port 53); -1 with err when malformed. */
int sq_wh_dns_server_parse(const char *s, struct sockaddr_in *out, sq_err *err);

#endif
