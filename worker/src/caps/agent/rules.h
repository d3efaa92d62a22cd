/* rules.h — the agent's rules that need no I/O (pure), unit-tested in
 * tests/unit/test_agent_rules.c:
 * - the agents and their tools (build: all, browser with a browser; plan:
 *   read, list, glob, grep),
 *   and the JSON-Schema `tools` array sent on every request;
 * - checking a tool call before it runs: an unknown or mis-cased name, a tool
 *   the agent does not have, arguments that are not a JSON object or miss a
 *   required field become a message for the model, never a crash;
 * - three identical consecutive calls are broken (the third is not run);
 * - the loop's turns: stop on a reply without tool calls, maxSteps (default
 *   50) then one text-only summarising turn, the token ceiling from usage;
 * - which HTTP answers are retried (408, 429, 500, 502, 503; Retry-After
 *   honoured) and which fail at once (400, 401, 402, 403, anything else);
 * - a tool's output cut to head + tail with a marker (sq_headtail);
 * - `edit`'s exact-replacement rule;
 * - secrets replaced before anything is stored or published. */
#ifndef SQ_AGENT_RULES_H
#define SQ_AGENT_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/backoff.h"

typedef enum { SQ_AGENT_BUILD = 0, SQ_AGENT_PLAN = 1 } sq_agent_kind;

/* "build" → BUILD, "plan" → PLAN; -1 for anything else. */
int sq_agent_kind_from(const char *name);
const char *sq_agent_kind_name(sq_agent_kind k);
/* The tools of an agent, NULL-terminated; `browser` (build only) when the
 * sandbox has one. */
const char *const *sq_agent_tools(sq_agent_kind k, bool browser);
/* The `tools` array of a request (OpenAI function-calling form). New reference. */
json_t *sq_agent_tools_json(sq_agent_kind k, bool browser);

/* Check one call. On success *args is the parsed object (new reference) and
 * 0 is returned; otherwise -1 and why says, for the model, what was wrong
 * and what to do instead. */
int sq_agent_check_call(sq_agent_kind k, bool browser, const char *name, const char *args_text, json_t **args,
                        char *why, size_t why_size);

/* Identical consecutive calls: same tool, same arguments (canonical JSON). */
typedef struct sq_agent_repeat {
    char *last;      /* "name\n<canonical args>" */
    int count;
} sq_agent_repeat;
/* Note a call about to run; true when it is the third identical one in a row
 * (it is not run; the model is told to change course). */
bool sq_agent_repeat_note(sq_agent_repeat *r, const char *name, const json_t *args);
void sq_agent_repeat_free(sq_agent_repeat *r);

/* The loop's turns. Before each model call: ask (tools allowed), or — once
 * max_steps turns with tool calls are done — one summarising turn
 * (tool_choice "none"). After a reply: its text is the answer (no tool
 * calls, or the summarising turn: calls made against "none" are not run), or
 * its calls run. After the calls: go on, or stop because the tokens used
 * (from usage) passed the ceiling. */
typedef struct sq_agent_budget {
    int max_steps;       /* default SQ_AGENT_DEFAULT_MAX_STEPS */
    int64_t max_tokens;
    int steps;           /* model turns done */
    int64_t tokens;      /* prompt + completion tokens so far */
} sq_agent_budget;
#define SQ_AGENT_DEFAULT_MAX_STEPS 50
typedef enum { SQ_AGENT_ASK = 0, SQ_AGENT_SUMMARIZE } sq_agent_before;
typedef enum { SQ_AGENT_ANSWER = 0, SQ_AGENT_RUN_CALLS } sq_agent_after;
typedef enum { SQ_AGENT_GO_ON = 0, SQ_AGENT_OVER_TOKENS } sq_agent_next;
sq_agent_before sq_agent_before_call(const sq_agent_budget *b);
/* Counts the turn and its tokens into b. */
sq_agent_after sq_agent_after_reply(sq_agent_budget *b, sq_agent_before turn, int ncalls, int64_t prompt_tokens,
                                    int64_t completion_tokens);
sq_agent_next sq_agent_after_calls(const sq_agent_budget *b);

/* What to do with an HTTP answer of the model endpoint. */
typedef enum { SQ_MODEL_OK = 0, SQ_MODEL_RETRY, SQ_MODEL_FAIL } sq_model_verdict;
sq_model_verdict sq_agent_http_verdict(long status);
/* Retry-After: delta-seconds or an HTTP-date; -1 when absent or unreadable.
 * now_s is the current Unix time (for the date form). */
int64_t sq_agent_retry_after_ms(const char *value, int64_t now_s);
/* Retry a call that failed with verdict v? attempt counts from 0 (the first
 * try); retries is how many retries are allowed. */
bool sq_agent_retry_allowed(sq_model_verdict v, int64_t attempt, int64_t retries);
/* The wait before a retry: Retry-After when given (retry_after_ms ≥ 0), else
 * the schedule's next delay (util/backoff.h), never more than cap_ms. */
int64_t sq_agent_retry_delay(int64_t retry_after_ms, sq_backoff *b, int64_t cap_ms);

/* Keeps the first `head` and the last `tail` bytes of a stream of output and
 * counts what fell between. */
typedef struct sq_headtail {
    char *head, *tail;       /* tail is a ring */
    size_t head_max, tail_max, head_len, tail_len, tail_pos;
    uint64_t total;
} sq_headtail;
int sq_headtail_init(sq_headtail *h, size_t head_max, size_t tail_max);
void sq_headtail_add(sq_headtail *h, const char *bytes, size_t n);
/* Head, then "\n…[N bytes omitted]…\n" when some were dropped, then tail.
 * Malloc'd, NUL-terminated. */
char *sq_headtail_text(const sq_headtail *h, size_t *len);
void sq_headtail_free(sq_headtail *h);

/* `edit`: replace old with new in text. Exactly one occurrence unless
 * all; none (or several without all) is -1 with why. *out is malloc'd. */
int sq_agent_edit_apply(const char *text, size_t n, const char *old, const char *repl, bool all, char **out,
                        size_t *out_len, int *replaced, char *why, size_t why_size);

/* Replace every occurrence of each secret (NULL-terminated list; empty and
 * short ones ignored) in s with "[REDACTED]". Returns a malloc'd string. */
char *sq_agent_redact(const char *s, const char *const *secrets);
/* Whether an env name looks like it holds a secret (…KEY, …TOKEN, …SECRET,
 * …PASSWORD, …CREDENTIALS): its value is redacted too. */
bool sq_agent_secret_name(const char *name);

/* Make text valid UTF-8 in place: every byte that does not start a complete,
 * well-formed sequence (a character cut by head + tail truncation, binary
 * output) becomes '?', and NUL bytes too, so the text always fits in a JSON
 * string for the model. Returns how many bytes were replaced. */
size_t sq_agent_utf8_sanitize(char *s, size_t n);

/* One line for sandbox.task.progress: the tool and its main argument, cut
 * to max bytes on a UTF-8 boundary. */
void sq_agent_step_summary(const char *tool, const json_t *args, char *out, size_t max);

#endif
