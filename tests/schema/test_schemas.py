"""The JSON Schemas in schema/ are the normative form of PROTOCOL.md: check that they
are valid 2020-12 schemas, that every $ref resolves, that they know every type
PROTOCOL.md names, and that they accept and refuse the right messages.

Run:  python3 -m pytest tests/schema            (needs pytest, jsonschema, referencing)
"""
from __future__ import annotations

import base64
import copy
import importlib.util
import json
import pathlib
import re

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"
EXAMPLES = pathlib.Path(__file__).resolve().parent / "examples"
# The contract, as the design hands it over (../shared next to the project),
# and the copy kept in the repository so a clean clone checks against it too.
SHARED_PROTOCOL_MD = ROOT.parent / "shared" / "design" / "PROTOCOL.md"
PROTOCOL_MD = ROOT / "docs" / "design" / "PROTOCOL.md"
DOCS_PROTOCOL = ROOT / "docs" / "protocol.md"

_spec = importlib.util.spec_from_file_location("sandq_schemas", ROOT / "tests" / "integration" / "schemas.py")
schemas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(schemas)

# ---------------------------------------------------------------------------
# The protocol, written out by hand from PROTOCOL.md. A type added there must be
# added here, which then fails until schema/ has it too.

REQUEST_TYPES = [
    "sandbox.create", "sandbox.pause", "sandbox.resume", "sandbox.kill", "sandbox.setTimeout",
    "task.exec", "task.code", "task.agent", "task.browser", "task.document", "task.cancel",
    "files.write", "files.read", "files.list", "files.remove",
    "checkpoint.create", "checkpoint.restore",
    "handoff.request", "handoff.accept", "handoff.complete", "handoff.cancel",
]
# Request and event types beyond PROTOCOL.md's first design: its "Additions for the
# capability round" (ADDED_REQUEST_TYPES: checkpoints.list), those added after it
# (LATER_REQUEST_TYPES, ADDED_EVENT_TYPES: the live preview's and the browser recording's; docs/protocol.md lists
# and explains them), and every type the schema knows (common.json's order).
ADDED_REQUEST_TYPES = ["checkpoints.list"]
LATER_REQUEST_TYPES = ["preview.url"]
ADDED_EVENT_TYPES = ["sandbox.preview.url", "sandbox.browser.recorded"]
ALL_REQUEST_TYPES = REQUEST_TYPES[:17] + ADDED_REQUEST_TYPES + REQUEST_TYPES[17:] + LATER_REQUEST_TYPES
TASK_ID_REQUIRED = [t for t in ALL_REQUEST_TYPES if t.split(".")[0] in ("task", "files", "checkpoint")
                    or t == "checkpoints.list"]
LIFECYCLE = {
    "sandbox.created": "queued", "sandbox.assigned": "assigning", "sandbox.ready": "ready",
    "sandbox.resumed": "ready", "sandbox.active": "active", "sandbox.pausing": "pausing",
    "sandbox.paused": "paused", "sandbox.ending": "ending", "sandbox.ended": "ended", "sandbox.failed": "failed",
}
EVENT_TYPES = list(LIFECYCLE) + [
    "sandbox.browser.ready", "sandbox.browser.failed", "sandbox.agent.ready", "sandbox.agent.failed",
    "sandbox.task.queued", "sandbox.task.started", "sandbox.task.output", "sandbox.task.progress",
    "sandbox.task.completed", "sandbox.task.failed",
    "sandbox.handoff.requested", "sandbox.handoff.accepted", "sandbox.handoff.completed",
    "sandbox.handoff.cancelled", "sandbox.handoff.expired",
    "sandbox.checkpoint.created", "sandbox.checkpoint.restored",
    "sandbox.document.converted", "sandbox.artifacts.updated", "request.rejected",
]
# In schema/common.json's order: each added event follows its neighbours there.
ALL_EVENT_TYPES = EVENT_TYPES[:EVENT_TYPES.index("sandbox.handoff.expired") + 1] + ADDED_EVENT_TYPES + \
    EVENT_TYPES[EVENT_TYPES.index("sandbox.handoff.expired") + 1:]
STATES = ["queued", "assigning", "ready", "active", "pausing", "paused", "ending", "ended", "failed"]
ERROR_CODES = [
    "invalid_request", "unsupported_version", "unknown_type", "sandbox_not_found", "sandbox_exists",
    "invalid_state", "forbidden", "capability_disabled", "path_outside_workspace", "not_found",
    "payload_too_large", "limit_exceeded", "timed_out", "canceled", "internal",
]
# PROTOCOL.md's "Additions for the capability round", taken so far (docs/protocol.md lists them).
ADDED_ERROR_CODES = ["capability_unavailable", "checkpoint_not_found", "handoff_not_found"]
# The project's own codes beyond PROTOCOL.md (docs/protocol.md documents them):
# worker_draining, issue 13's drain (docs/persistence.md).
PROJECT_ERROR_CODES = ["worker_draining"]
TASK_KINDS = ["exec", "code", "agent", "browser", "document", "files", "checkpoint"]
# Files under schema/events/ that are shared pieces rather than one event type's data.
SHARED_EVENT_SCHEMAS = {"lifecycle.json", "handoff.json", "results/files.json", "results/files.write.json",
                        "results/files.read.json", "results/files.list.json", "results/files.remove.json",
                        "results/agent.json", "results/document.json"}

ULID = "01JD8X3Q4R5S6T7V8W9XAYBZC0"

# Every invalid example, the one field it breaks and a word of the expected error.
# Every error reported for the example must be at that field: one broken rule each.
INVALID_EXPECT = {
    "requests/v2": ("v", "1 was expected"),
    "requests/unknown-type": ("type", "'task.run' is not one of"),
    "requests/sandbox-id-bad-prefix": ("sandboxId", "does not match"),
    "requests/request-id-lowercase-ulid": ("requestId", "does not match"),
    "requests/request-id-ulid-overflow": ("requestId", "does not match"),
    "requests/task-exec-missing-task-id": ("(top level)", "'taskId' is a required property"),
    "requests/files-read-missing-task-id": ("(top level)", "'taskId' is a required property"),
    "requests/files-write-content-and-b64": ("body", "exactly one of content or contentB64"),
    "requests/files-write-no-content": ("body", "exactly one of content or contentB64"),
    "requests/files-write-append-and-offset": ("body", "offset and append"),
    "requests/files-write-b64-not-base64": ("body.contentB64", "does not match"),
    "requests/files-read-negative-offset": ("body.offset", "less than the minimum of 0"),
    "requests/files-list-limit-zero": ("body.limit", "less than the minimum of 1"),
    "requests/files-read-path-and-pathB64": ("body", "exactly one of path or pathB64"),
    "requests/files-remove-no-path": ("body", "exactly one of path or pathB64"),
    "requests/files-list-cursor-not-base64": ("body.cursor", "does not match"),
    "requests/files-read-fractional-length": ("body.length", "not of type 'integer'"),
    "requests/reply-to-on-exec": ("(top level)", "replyTo is only accepted on sandbox.create"),
    "requests/reply-to-bad-topic": ("replyTo", "does not match"),
    "requests/tenant-bad-chars": ("tenant", "does not match"),
    "requests/tenant-too-long": ("tenant", "is too long"),
    "requests/metadata-non-string": ("metadata.attempt", "not of type 'string'"),
    "requests/sent-at-string": ("sentAt", "not of type 'integer'"),
    "requests/unknown-envelope-field": ("(top level)", "'priority' was unexpected"),
    "requests/create-cpus-zero": ("body.limits.cpus", "less than or equal to the minimum of 0"),
    "requests/create-memory-negative": ("body.limits.memoryMb", "less than the minimum of 16"),
    "requests/create-network-host": ("body.network", "'host' is not one of"),
    "requests/create-network-no-mode": ("body.network", "'mode' is a required property"),
    "requests/create-network-allow-empty": ("body.network.allowOut", "[]"),
    "requests/create-proxy-ftp": ("body.capabilities.proxy.url", "does not match"),
    "requests/create-proxy-with-path": ("body.capabilities.proxy.url", "does not match"),
    "requests/create-on-timeout-suspend": ("body.onTimeout", "'suspend' is not one of"),
    "requests/create-checkpoint-interval-zero": ("body.checkpoint.intervalMs", "less than the minimum of 1"),
    "requests/create-checkpoint-auto-no-interval": ("body.checkpoint", "'intervalMs' is a required property"),
    "requests/create-runtime-ruby": ("body.runtime", "'ruby' is not one of"),
    "requests/create-region-long": ("body.region", "does not match"),
    "requests/create-webhook-secret-prefix": ("body.webhook.secret", "whsec_"),
    "requests/create-webhook-unknown-event": ("body.webhook.eventTypes[0]", "an exact event type, or a prefix ending in .*"),
    "requests/create-webhook-bad-prefix": ("body.webhook.eventTypes[0]", "an exact event type, or a prefix ending in .*"),
    "requests/create-env-bad-name": ("body.env", "'1BAD' does not match"),
    "requests/create-agent-unknown-default": ("body.capabilities.agent.defaultAgent", "'deploy' is not one of"),
    "requests/create-unknown-capability": ("body.capabilities", "'gpu' was unexpected"),
    "requests/create-recording-browser-not-boolean": ("body.capabilities.recording.browser", "is not of type 'boolean'"),
    "requests/kill-unknown-body-field": ("body", "'force' was unexpected"),
    "requests/set-timeout-zero": ("body.timeoutMs", "less than the minimum of 1"),
    "requests/set-timeout-missing": ("body", "'timeoutMs' is a required property"),
    "requests/exec-missing-command": ("body", "'command' is a required property"),
    "requests/exec-missing-body": ("(top level)", "'body' is a required property"),
    "requests/exec-stdin-and-b64": ("body", "stdin and stdinB64 cannot both be given"),
    "requests/exec-args-not-strings": ("body.args[1]", "not of type 'string'"),
    "requests/code-language-ruby": ("body.language", "'ruby' is not one of"),
    "requests/agent-unknown-agent": ("body.agent", "'deploy' is not one of"),
    "requests/browser-unknown-op": ("body.actions[3].op", "'hover' is not one of"),
    "requests/browser-goto-missing-url": ("body.actions[1]", "'url' is a required property"),
    "requests/browser-click-extra-field": ("body.actions[6]", "'url' was unexpected"),
    "requests/browser-no-actions": ("body.actions", "should be non-empty"),
    "requests/document-missing-to": ("body", "'to' is a required property"),
    "requests/document-timeout-zero": ("body.timeoutMs", "less than the minimum of 1"),
    "requests/cancel-target-wrong-prefix": ("body.targetTaskId", "^tsk_"),
    "requests/kill-in-order-not-boolean": ("body.inOrder", "is not of type 'boolean'"),
    "requests/checkpoint-id-wrong-prefix": ("body.checkpointId", "^chk_"),
    "requests/handoff-reason-unknown": ("body.reason", "'bored' is not one of"),
    "requests/handoff-accept-no-controller": ("body", "'controller' is a required property"),
    "events/v2": ("v", "1 was expected"),
    "events/unknown-type": ("type", "'sandbox.exploded' is not one of"),
    "events/checkpoint-created-auto-not-boolean": ("data.auto", "is not of type 'boolean'"),
    "events/document-converted-missing-sha256": ("data", "'sha256' is a required property"),
    "events/event-id-wrong-prefix": ("eventId", "^evt_"),
    "events/bad-state-name": ("data.state", "'running' is not one of"),
    "events/state-does-not-match-type": ("data.state", "'ready' was expected"),
    "events/bad-previous-state": ("data.previous", "'idle' is not one of"),
    "events/created-with-previous": ("data.previous", "not of type 'null'"),
    "events/ready-without-capabilities": ("data", "'capabilities' is a required property"),
    "events/assigned-without-worker": ("data", "'workerId' is a required property"),
    "events/failed-without-reason": ("data", "'reason' is a required property"),
    "events/lifecycle-reason-not-machine-readable": ("data.reason", "does not match"),
    "events/lifecycle-unknown-field": ("data", "'persist' was unexpected"),
    "events/negative-seq": ("seq", "less than the minimum of 0"),
    "events/seq-zero-on-lifecycle": ("seq", "less than the minimum of 1"),
    "events/null-sandbox-on-lifecycle": ("sandboxId", "not of type 'string'"),
    "events/rejected-null-sandbox-nonzero-seq": ("seq", "0 was expected"),
    "events/rejected-unknown-code": ("data.code", "'oops' is not one of"),
    "events/rejected-without-message": ("data", "'message' is a required property"),
    "events/request-id-wrong-prefix": ("requestId", "^req_"),
    "events/task-event-null-task": ("taskId", "not of type 'string'"),
    "events/task-kind-unknown": ("data.kind", "'shell' is not one of"),
    "events/output-data-and-b64": ("data", "exactly one of data or dataB64"),
    "events/output-no-data": ("data", "exactly one of data or dataB64"),
    "events/output-negative-offset": ("data.offset", "less than the minimum of 0"),
    "events/output-unknown-stream": ("data.stream", "'stdlog' is not one of"),
    "events/completed-exec-without-exit-code": ("data", "'exitCode' is a required property"),
    "events/completed-without-artifacts": ("data", "'artifacts' is a required property"),
    "events/completed-artifact-bad-sha256": ("data.artifacts[0].sha256", "does not match"),
    "events/completed-files-without-result": ("data", "'result' is a required property"),
    "events/completed-files-list-bad-entry-type": ("data.result.entries[0].type", "'fifo' is not one of"),
    "events/completed-files-remove-false": ("data.result.removed", "True was expected"),
    "events/failed-unknown-code": ("data.code", "'exit_nonzero' is not one of"),
    "events/failed-without-duration": ("data", "'durationMs' is a required property"),
    "events/failed-reason-not-machine-readable": ("data.reason", "does not match"),
    "events/handoff-status-mismatch": ("data.status", "'pending' was expected"),
    "events/handoff-unknown-control-mode": ("data.controlMode", "'robot' is not one of"),
    "events/checkpoint-negative-size": ("data.sizeBytes", "less than the minimum of 0"),
    "events/checkpoint-created-without-duration": ("data", "'durationMs' is a required property"),
    "events/paused-persisted-without-checkpoint": ("data", "'checkpointId' is a dependency of 'persisted'"),
    "events/resumed-restored-false": ("data.restored", "True was expected"),
    "requests/checkpoints-list-with-a-body-field": ("body", "Additional properties are not allowed"),
    "events/artifacts-missing-url": ("data.artifacts[0]", "'url' is a required property"),
    "events/browser-recorded-bad-path": ("data.path", "does not match"),
    "events/browser-recorded-without-dropped": ("data", "'droppedFrames' is a required property"),
    "events/artifacts-part-without-parts": ("data", "'parts' is a dependency of 'part'"),
    "events/artifacts-skipped-bad-code": ("data.skipped[0].code", "is not one of"),
    "events/metadata-non-string": ("metadata.jobId", "not of type 'string'"),
    "events/region-long": ("region", "does not match"),
    "events/missing-worker-id": ("(top level)", "'workerId' is a required property"),
    "events/missing-task-id-key": ("(top level)", "'taskId' is a required property"),
    "events/unknown-envelope-field": ("(top level)", "'partition' was unexpected"),
}


def _schema_files() -> list[pathlib.Path]:
    return sorted(SCHEMA_DIR.rglob("*.json"))


def _rel(p: pathlib.Path) -> str:
    return p.relative_to(SCHEMA_DIR).as_posix()


def _examples(kind: str, validity: str) -> list[pathlib.Path]:
    return sorted((EXAMPLES / kind / validity).glob("*.json"))


def _load(p: pathlib.Path):
    return json.loads(p.read_text(encoding="utf-8"))


def _common_enum(name: str) -> list:
    return _load(SCHEMA_DIR / "common.json")["$defs"][name]["enum"]


def _refs(node, at=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield at, v
            else:
                yield from _refs(v, f"{at}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _refs(v, f"{at}/{i}")


def _field_of(err: str) -> str:
    return err.split(": ", 1)[0]


# ------------------------------------------------------------------ the schema files

@pytest.mark.parametrize("path", _schema_files(), ids=_rel)
def test_schema_is_valid_draft_2020_12(path):
    doc = _load(path)
    assert doc.get("$schema") == "https://json-schema.org/draft/2020-12/schema", f"{_rel(path)}: $schema"
    assert doc.get("$id") == schemas.BASE_URI + _rel(path), f"{_rel(path)}: $id must be BASE_URI + its path"
    Draft202012Validator.check_schema(doc)


@pytest.mark.parametrize("path", _schema_files(), ids=_rel)
def test_no_object_repeats_a_key(path):
    # json.load keeps the last of two equal keys silently: a merge that
    # leaves two "checkpoint" properties would validate against only one.
    def no_repeats(pairs):
        keys = [k for k, _ in pairs]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        assert not repeated, f"{_rel(path)}: keys given twice in one object: {repeated}"
        return dict(pairs)

    json.loads(path.read_text(), object_pairs_hook=no_repeats)


@pytest.mark.parametrize("path", _schema_files(), ids=_rel)
def test_every_ref_resolves(path):
    doc = _load(path)
    resolver = schemas.registry().resolver(base_uri=doc["$id"])
    refs = list(_refs(doc))
    for where, ref in refs:
        assert not ref.startswith(("http:", "https:")), f"{_rel(path)}{where}: use relative $refs, got {ref}"
        resolved = resolver.lookup(ref)  # raises referencing.exceptions.Unresolvable
        assert isinstance(resolved.contents, (dict, bool)), f"{_rel(path)}{where}: {ref} is not a schema"


def test_schema_dir_has_the_expected_files():
    have = {_rel(p) for p in _schema_files()}
    want = {"common.json", "request.schema.json", "event.schema.json"}
    want |= {f"requests/{t}.json" for t in ALL_REQUEST_TYPES}
    want |= {f"events/{t}.json" for t in ALL_EVENT_TYPES}
    want |= {f"events/{s}" for s in SHARED_EVENT_SCHEMAS}
    assert sorted(want - have) == [], "schema files missing"
    assert sorted(have - want) == [], "schema files that no type uses (add the type to this test, or remove the file)"


# ------------------------------------------------------------------ cross-check with PROTOCOL.md

def test_enums_match_the_protocol():
    assert _common_enum("requestType") == ALL_REQUEST_TYPES
    assert _common_enum("eventType") == ALL_EVENT_TYPES
    assert _common_enum("state") == STATES
    assert _common_enum("errorCode") == ERROR_CODES + ADDED_ERROR_CODES + PROJECT_ERROR_CODES
    assert _common_enum("taskKind") == TASK_KINDS
    assert len(REQUEST_TYPES) == 21 and len(set(REQUEST_TYPES)) == 21
    assert len(EVENT_TYPES) == 30 and len(set(EVENT_TYPES)) == 30
    assert len(ERROR_CODES) == 15 and len(STATES) == 9
    assert schemas.request_types() == ALL_REQUEST_TYPES and schemas.event_types() == ALL_EVENT_TYPES


def _conditional_refs(envelope: dict, key: str) -> dict[str, str]:
    """type -> $ref of body/data from the envelope's allOf if/then branches."""
    out = {}
    for branch in envelope["allOf"]:
        const = branch.get("if", {}).get("properties", {}).get("type", {}).get("const")
        ref = branch.get("then", {}).get("properties", {}).get(key, {}).get("$ref")
        if const and ref:
            assert const not in out, f"two {key} schemas for {const}"
            out[const] = ref
    return out


def test_request_envelope_routes_every_type_to_its_body_schema():
    refs = _conditional_refs(_load(SCHEMA_DIR / "request.schema.json"), "body")
    assert refs == {t: f"requests/{t}.json" for t in ALL_REQUEST_TYPES}


def test_event_envelope_routes_every_type_to_its_data_schema():
    refs = _conditional_refs(_load(SCHEMA_DIR / "event.schema.json"), "data")
    assert refs == {t: f"events/{t}.json" for t in ALL_EVENT_TYPES}


def _section(text: str, heading: str) -> str:
    m = re.search(rf"^## {re.escape(heading)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"PROTOCOL.md has no '## {heading}' section"
    return m.group(1)


@pytest.fixture(scope="module")
def protocol_md() -> str:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    if SHARED_PROTOCOL_MD.exists():  # the copy must not drift from the design
        assert SHARED_PROTOCOL_MD.read_text(encoding="utf-8") == text, \
            f"{PROTOCOL_MD} differs from {SHARED_PROTOCOL_MD}: copy the design's version in"
    return text


def test_request_types_are_those_of_protocol_md(protocol_md):
    rows = re.findall(r"^\| `([a-z]+\.[A-Za-z]+)` \|", _section(protocol_md, "Request types"), re.M)
    assert rows == REQUEST_TYPES


def test_event_types_are_those_of_protocol_md(protocol_md):
    section = _section(protocol_md, "Event types")
    found = []
    for line in section.splitlines():
        prev = None
        for tok in re.findall(r"`([a-z.]+)`", line):
            if tok.startswith(("sandbox.", "request.")):
                prev = tok
            elif tok.startswith(".") and prev:  # `sandbox.handoff.requested` \| `.accepted` …
                tok = prev.rsplit(".", 1)[0] + tok
            else:
                continue
            if tok not in found:
                found.append(tok)
    assert sorted(found) == sorted(EVENT_TYPES)


def test_error_codes_and_states_are_those_of_protocol_md(protocol_md):
    codes = _section(protocol_md, "Error codes")
    for code in ERROR_CODES:
        assert f"`{code}`" in codes, f"{code} not in PROTOCOL.md's error codes"
    additions = _section(protocol_md, "Additions for the capability round")
    for code in ADDED_ERROR_CODES:
        assert f"`{code}`" in additions, f"{code} not in PROTOCOL.md's additions"
    for type_ in ADDED_REQUEST_TYPES:
        assert f"`{type_}`" in additions, f"{type_} not in PROTOCOL.md's additions"
    lifecycle = _section(protocol_md, "Event types")
    for state in STATES:
        assert re.search(rf"\b{state}\b", lifecycle), f"state {state} not in PROTOCOL.md's lifecycle table"


# ------------------------------------------------------------------ examples

def _example_id(p: pathlib.Path) -> str:
    return f"{p.parent.parent.name}/{p.stem}"


@pytest.mark.parametrize("path", _examples("requests", "valid"), ids=_example_id)
def test_valid_request_examples(path):
    obj = _load(path)
    assert schemas.request_errors(obj) == []
    schemas.validate_request(obj)


@pytest.mark.parametrize("path", _examples("events", "valid"), ids=_example_id)
def test_valid_event_examples(path):
    obj = _load(path)
    assert schemas.event_errors(obj) == []
    schemas.validate_event(obj)


@pytest.mark.parametrize("path", _examples("requests", "invalid") + _examples("events", "invalid"), ids=_example_id)
def test_invalid_examples_fail_for_their_one_reason(path):
    key = _example_id(path)
    assert key in INVALID_EXPECT, f"{path.name}: add what it breaks to INVALID_EXPECT"
    field, words = INVALID_EXPECT[key]
    obj = _load(path)
    errors = (schemas.request_errors if key.startswith("requests/") else schemas.event_errors)(obj)
    assert errors, f"{path.name} was accepted"
    assert all(_field_of(e) == field for e in errors), f"{path.name}: errors beyond {field}: {errors}"
    assert any(words in e for e in errors), f"{path.name}: expected {words!r} in {errors}"
    with pytest.raises(ValidationError) as exc:
        (schemas.validate_request if key.startswith("requests/") else schemas.validate_event)(obj)
    assert field in str(exc.value) and "\n" not in str(exc.value)


def test_example_sets_cover_every_type_and_expectation():
    req_types = {_load(p)["type"] for p in _examples("requests", "valid")}
    ev_types = {_load(p)["type"] for p in _examples("events", "valid")}
    assert sorted(set(ALL_REQUEST_TYPES) - req_types) == [], "request types without a valid example"
    assert sorted(set(ALL_EVENT_TYPES) - ev_types) == [], "event types without a valid example"
    invalid = {_example_id(p) for p in _examples("requests", "invalid") + _examples("events", "invalid")}
    assert sorted(set(INVALID_EXPECT) - invalid) == [], "INVALID_EXPECT names examples that do not exist"
    assert len(invalid) >= 15


def test_example_files_are_named_after_their_type():
    for kind in ("requests", "events"):
        for p in _examples(kind, "valid"):
            assert p.stem.split("--")[0] == _load(p)["type"], f"{p}: name it <type>[--variant].json"


# ------------------------------------------------------------------ rules worth a direct test

def _req(type_, body=None, **kw):
    r = {"v": 1, "requestId": "req_" + ULID, "type": type_, "sandboxId": "sbx_" + ULID}
    if type_ in TASK_ID_REQUIRED:
        r["taskId"] = "tsk_" + ULID
    if body is not None:
        r["body"] = body
    r.update(kw)
    return r


def _ev(type_, data, **kw):
    e = {"v": 1, "eventId": "evt_" + ULID, "type": type_, "sandboxId": "sbx_" + ULID, "taskId": None,
         "requestId": None, "seq": 1, "at": 1795771391523, "workerId": "w-iad-1", "region": "iad",
         "tenant": "default", "data": data}
    e.update(kw)
    return e


@pytest.mark.parametrize("type_", TASK_ID_REQUIRED)
def test_task_id_required_for_task_files_checkpoint(type_):
    example = next(p for p in _examples("requests", "valid") if _load(p)["type"] == type_)
    obj = _load(example)
    del obj["taskId"]
    assert schemas.request_errors(obj) == ["(top level): 'taskId' is a required property"]


@pytest.mark.parametrize("type_", [t for t in ALL_REQUEST_TYPES if t not in TASK_ID_REQUIRED])
def test_task_id_optional_elsewhere(type_):
    example = next(p for p in _examples("requests", "valid") if _load(p)["type"] == type_)
    obj = _load(example)
    obj.pop("taskId", None)
    assert schemas.request_errors(obj) == []


@pytest.mark.parametrize("event_type,state", LIFECYCLE.items())
def test_lifecycle_events_pin_their_state(event_type, state):
    data = {"state": state, "previous": None if event_type == "sandbox.created" else "queued"}
    if event_type == "sandbox.assigned":
        data.update(workerId="w-iad-1", region="iad")
    if event_type in ("sandbox.ready", "sandbox.resumed"):
        data["capabilities"] = {}
    if event_type == "sandbox.failed":
        data.update(reason="setup_failed", message="no memory controller")
    assert schemas.event_errors(_ev(event_type, data)) == []
    for other in STATES:
        if other != state:
            assert schemas.event_errors(_ev(event_type, dict(data, state=other))), f"{event_type} with {other}"


def test_files_write_chunk_limit():
    limit = 512 * 1024
    ok = base64.b64encode(b"\0" * limit).decode()
    # 699052 base64 characters hold 524288 or 524289 bytes; the schema bounds the
    # characters, the worker checks the decoded size exactly.
    too_big = base64.b64encode(b"\0" * (limit + 2)).decode()
    assert schemas.request_errors(_req("files.write", {"path": "big.bin", "contentB64": ok})) == []
    errs = schemas.request_errors(_req("files.write", {"path": "big.bin", "contentB64": too_big, "offset": limit}))
    assert len(errs) == 1 and errs[0].startswith("body.contentB64: '") and errs[0].endswith("' is too long"), errs
    assert len(errs[0]) < 400, "a 512 KiB instance must not end up in the message"
    assert schemas.request_errors(_req("files.write", {"path": "a.txt", "content": "x" * (limit + 1)}))


def test_offset_write_and_zero_length_read_are_valid():
    assert schemas.request_errors(_req("files.write", {"path": "a", "content": "", "offset": 0})) == []
    assert schemas.request_errors(_req("files.read", {"path": "a", "offset": 5, "length": 0})) == []


def test_body_may_be_omitted_only_when_nothing_in_it_is_required():
    assert schemas.request_errors(_req("sandbox.kill")) == []
    assert schemas.request_errors(_req("files.list")) == []
    assert schemas.request_errors(_req("task.exec")) == ["(top level): 'body' is a required property"]


def test_every_browser_op_is_accepted_in_its_minimal_form():
    actions = [{"op": "goto", "url": "https://example.com"}, {"op": "click", "selector": "a"},
               {"op": "type", "selector": "#q", "text": "x"}, {"op": "press", "key": "Enter"},
               {"op": "waitFor", "selector": "#r"}, {"op": "evaluate", "expression": "1+1"}, {"op": "content"},
               {"op": "screenshot"}, {"op": "pdf", "path": "a.pdf"}, {"op": "setViewport", "width": 1, "height": 1},
               {"op": "restart"}]
    browser = _load(SCHEMA_DIR / "requests" / "task.browser.json")
    assert [a["op"] for a in actions] == browser["$defs"]["action"]["properties"]["op"]["enum"]
    assert schemas.request_errors(_req("task.browser", {"actions": actions})) == []
    for a in actions:
        if len(a) > 1:  # dropping a required field of that op is refused
            field = next(k for k in a if k != "op")
            errs = schemas.request_errors(_req("task.browser", {"actions": [{k: v for k, v in a.items() if k != field}]}))
            assert errs == [f"body.actions[0]: '{field}' is a required property"], (a["op"], errs)


def test_rejection_seq_rules():
    data = {"code": "sandbox_not_found", "message": "no such sandbox"}
    # About an existing sandbox: that sandbox's next seq.
    assert schemas.event_errors(_ev("request.rejected", data, seq=12)) == []
    # Not about an existing sandbox (unknown id): seq 0.
    assert schemas.event_errors(_ev("request.rejected", data, seq=0)) == []
    # Malformed / unreadable sandbox id: sandboxId null, seq 0, requestId echoed even if malformed.
    unparsed = _ev("request.rejected", {"code": "invalid_request", "message": "not a request", "field": "sandboxId"},
                   sandboxId=None, seq=0, requestId="req_not-a-ulid", tenant=None, region=None)
    assert schemas.event_errors(unparsed) == []
    assert schemas.event_errors(dict(unparsed, seq=1)) == ["seq: 0 was expected"]
    # Only request.rejected may have a null sandboxId or seq 0.
    ended = {"state": "ended", "previous": "ending"}
    assert schemas.event_errors(_ev("sandbox.ended", ended, seq=0)) == ["seq: 0 is less than the minimum of 1"]
    assert schemas.event_errors(_ev("sandbox.ended", ended, sandboxId=None)) == [
        "sandboxId: None is not of type 'string'"]


def test_every_error_code_is_accepted_in_rejections_and_task_failures():
    for code in ERROR_CODES + ADDED_ERROR_CODES + PROJECT_ERROR_CODES:
        assert schemas.event_errors(_ev("request.rejected", {"code": code, "message": "m"})) == []
        assert schemas.event_errors(_ev("sandbox.task.failed", {"kind": "exec", "code": code, "message": "m",
                                                                "durationMs": 1}, taskId="tsk_" + ULID)) == []


def test_validation_error_is_short_and_names_the_field():
    obj = _req("task.exec", {"command": "ls", "stdin": "a", "stdinB64": "YQ=="})
    with pytest.raises(ValidationError) as exc:
        schemas.validate_request(obj)
    assert str(exc.value) == "invalid request (task.exec): body: stdin and stdinB64 cannot both be given"
    assert list(exc.value.path) == ["body"]
    huge = _ev("sandbox.task.output", {"stream": "stdout", "data": "x" * 100000, "dataB64": "eA==", "offset": 0},
               taskId="tsk_" + ULID)
    with pytest.raises(ValidationError) as exc:
        schemas.validate_event(huge)
    assert len(str(exc.value)) < 500


def test_event_errors_lists_every_problem():
    bad = _ev("sandbox.task.output", {"stream": "stdlog", "offset": -1}, taskId=None, seq=0)
    errs = schemas.event_errors(bad)
    fields = sorted(_field_of(e) for e in errs)
    assert fields == ["data", "data.offset", "data.stream", "seq", "taskId"], errs


def test_validators_do_not_mutate_their_input():
    obj = _load(_examples("requests", "valid")[0])
    before = copy.deepcopy(obj)
    schemas.validate_request(obj)
    assert obj == before


# ------------------------------------------------------------------ docs/protocol.md stays in step

@pytest.fixture(scope="module")
def docs_md() -> str:
    assert DOCS_PROTOCOL.exists(), "docs/protocol.md is missing"
    return DOCS_PROTOCOL.read_text(encoding="utf-8")


def test_docs_mention_every_type_and_code(docs_md):
    for name in ALL_REQUEST_TYPES + ALL_EVENT_TYPES + ERROR_CODES + ADDED_ERROR_CODES + PROJECT_ERROR_CODES:
        assert f"`{name}`" in docs_md, f"docs/protocol.md does not mention `{name}`"


def test_docs_json_examples_are_valid(docs_md):
    blocks = re.findall(r"```json\n(.*?)```", docs_md, re.S)
    requests, events = set(), set()
    for block in blocks:
        try:
            obj = json.loads(block)
        except json.JSONDecodeError:
            continue  # annotated sketches, not messages
        if isinstance(obj, dict) and "requestId" in obj and "eventId" not in obj:
            assert schemas.request_errors(obj) == [], block
            requests.add(obj["type"])
        elif isinstance(obj, dict) and "eventId" in obj:
            assert schemas.event_errors(obj) == [], block
            events.add(obj["type"])
    assert sorted(set(ALL_REQUEST_TYPES) - requests) == [], "request types without a JSON example in docs/protocol.md"
    assert len(events) >= 10, f"docs/protocol.md should show real events; found {sorted(events)}"


def _python_block(docs_md: str, marker: str) -> str:
    blocks = [b for b in re.findall(r"```python\n(.*?)```", docs_md, re.S) if marker in b]
    assert len(blocks) == 1, f"docs/protocol.md should have one python block with {marker!r}"
    return blocks[0]


def test_docs_murmur2_matches_kafkas_test_vectors(docs_md):
    ns: dict = {}
    exec(_python_block(docs_md, "def murmur2"), ns)
    to_java = lambda h: h - (1 << 32) if h >= 1 << 31 else h  # noqa: E731
    # Vectors from Kafka's own UtilsTest (Utils.murmur2 returns a signed int).
    assert to_java(ns["murmur2"](b"21")) == -973932308
    assert to_java(ns["murmur2"](b"foobar")) == -790332482
    assert ns["partition_for"]("sbx_01JD8X3Q4R5S6T7V8W9XAYBZC0", 24) == 6
    assert ns["partition_for"]("sbx_01JD8X3Q4R5S6T7V8W9XAYBZC0", 128) == 102


def test_docs_ulid_one_liner_makes_valid_ids(docs_md):
    import subprocess
    import sys
    line = next(ln for ln in docs_md.splitlines() if ln.startswith("ulid() { python3 -c '"))
    code = line[len("ulid() { python3 -c '"):line.rindex("'")]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    sid = "sbx_" + out.stdout.strip()
    assert schemas.request_errors({"v": 1, "requestId": "req_" + ULID, "type": "sandbox.kill", "sandboxId": sid}) == []


def test_docs_webhook_verify_accepts_a_standard_webhooks_signature(docs_md):
    import hashlib
    import hmac
    ns: dict = {}
    exec(_python_block(docs_md, "def verify"), ns)
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"v":1}'
    sig = base64.b64encode(hmac.new(key, b"evt_x.1795771391." + body, hashlib.sha256).digest()).decode()
    headers = {"webhook-id": "evt_x", "webhook-timestamp": "1795771391", "webhook-signature": f"v0,bogus v1,{sig}"}
    assert ns["verify"](secret, headers, body)
    assert not ns["verify"](secret, headers, body + b" ")
