/* preview_input.h — what a viewer's input becomes: the CDP calls that
 * replay it on the sandbox's page. Pure; unit-tested.
 *
 * The viewer page sends one JSON object per input (docs/handoff.md, "Input"):
 *   {"t":"mouse","a":"move|down|up","x":0..1,"y":0..1,"b":"left|middle|right|none","n":clicks}
 *   {"t":"wheel","x","y","dx","dy"}
 *   {"t":"key","a":"down|up","key":"Enter","code":"Enter","kc":13,"text":"…"?}
 *   {"t":"text","text":"…"}    {"t":"nav","url":"http(s)://…"}    {"t":"back"}    {"t":"reload"}
 * x and y are fractions of the picture the viewer was shown; they are mapped
 * through that frame's metadata (its CSS viewport size) to page coordinates,
 * so the viewer's own scaling of the picture does not matter. */
#ifndef SQ_PREVIEW_INPUT_H
#define SQ_PREVIEW_INPUT_H

#include <jansson.h>

#include "sq/err.h"

/* The frame's metadata: the page's CSS viewport the picture shows. */
typedef struct sq_preview_geom {
    double width, height;
} sq_preview_geom;

/* The calls for one input: a new array of {"method", "params"} (1 or 2
 * entries), or NULL with why (invalid_request: what is wrong with it). */
json_t *sq_preview_input_calls(const json_t *in, const sq_preview_geom *g, sq_err *why);

#endif
