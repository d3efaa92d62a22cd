/* pages.h — which page of the browser the next action acts on (pure).
 *
 * A click can open a new tab or popup (window.open, target=_blank), and a
 * page can close itself. The rule, applied before every action from the
 * browser's list of page targets (Target.getTargets):
 * - a page not seen before was opened since: the newest one becomes current
 *   (if several appeared at once, the last the browser lists);
 * - when the current page is gone (closed), its opener becomes current if it
 *   is still open, else the most recently seen page still open;
 * - when no page is left, there is none (the caller opens a blank one).
 * Each known page keeps the flattened session the worker attached to it, so
 * returning to a page reuses its session. No I/O. */
#ifndef SQ_BROWSER_PAGES_H
#define SQ_BROWSER_PAGES_H

#include <jansson.h>
#include <stdbool.h>

#include "caps/browser/cdp_calls.h"

#define SQ_PAGES_MAX 32 /* pages remembered; the oldest that is not current is forgotten first */

typedef struct sq_page_ref {
    char target[SQ_CDP_NAME_MAX];
    char opener[SQ_CDP_NAME_MAX];  /* "" = none */
    char session[SQ_CDP_NAME_MAX]; /* "" = not attached yet */
} sq_page_ref;

typedef struct sq_pages {
    sq_page_ref p[SQ_PAGES_MAX]; /* in the order they were first seen */
    int n;
    int current; /* index into p, -1 = none */
} sq_pages;

/* Forget everything; target (may be NULL) is the one page, current. */
void sq_pages_reset(sq_pages *ps, const char *target);
/* Apply Target.getTargets' targetInfos (borrowed; entries of another type
 * than "page" are ignored). Returns whether the current page changed (also
 * when none is left: ps->current is then -1). */
bool sq_pages_update(sq_pages *ps, const json_t *infos);
/* The current page, or NULL. */
sq_page_ref *sq_pages_current(sq_pages *ps);

#endif
