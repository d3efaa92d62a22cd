"""schemas.py — validate sandq requests and events against schema/ (JSON Schema 2020-12).

Every file under schema/ is loaded once into a `referencing` registry under its
`$id` (https://sandq.dev/schema/v1/<path>), so the relative `$ref`s between files
resolve offline. Format checking is off: the schemas say everything with
`pattern`, `enum` and `const`, so a validator in any language gives the same answer.

    from schemas import validate_request, validate_event, event_errors
    validate_event(json.loads(msg.value()))      # raises jsonschema.ValidationError
    assert event_errors(ev) == []                # or collect every problem

Messages name the failing field the way request.rejected's `field` does
("body.actions[0].url"), so a failure reads like the worker's own rejection.
"""
from __future__ import annotations

import functools
import json
import pathlib
from typing import Any, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = pathlib.Path(__file__).resolve().parents[2] / "schema"
BASE_URI = "https://sandq.dev/schema/v1/"
REQUEST_SCHEMA_ID = BASE_URI + "request.schema.json"
EVENT_SCHEMA_ID = BASE_URI + "event.schema.json"

_MAX_MESSAGE = 300  # error messages repeat the instance; a 512 KiB chunk must not end up in a log line

# ValidationError is jsonschema.ValidationError, re-exported for `except schemas.ValidationError`.
__all__ = [
    "SCHEMA_DIR", "BASE_URI", "ValidationError", "load_schemas", "registry",
    "validate_request", "validate_event", "request_errors", "event_errors",
    "request_types", "event_types",
]


@functools.lru_cache(maxsize=1)
def load_schemas() -> dict[str, dict]:
    """Every schema file, by `$id`. Fails loudly on a file whose `$id` does not match its path."""
    out: dict[str, dict] = {}
    for path in sorted(SCHEMA_DIR.rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        want = BASE_URI + path.relative_to(SCHEMA_DIR).as_posix()
        if doc.get("$id") != want:
            raise RuntimeError(f"{path}: $id is {doc.get('$id')!r}, expected {want!r}")
        out[want] = doc
    if REQUEST_SCHEMA_ID not in out or EVENT_SCHEMA_ID not in out:
        raise RuntimeError(f"{SCHEMA_DIR}: request.schema.json or event.schema.json is missing")
    return out


@functools.lru_cache(maxsize=1)
def registry() -> Registry:
    resources = [(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
                 for uri, doc in load_schemas().items()]
    return Registry().with_resources(resources).crawl()


@functools.lru_cache(maxsize=None)
def _validator(schema_id: str) -> Draft202012Validator:
    # No format_checker: "format" stays an annotation, as in the schemas themselves.
    return Draft202012Validator(load_schemas()[schema_id], registry=registry())


def _field(path: Iterable[Any]) -> str:
    """deque(['body', 'actions', 0, 'url']) -> 'body.actions[0].url'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(err: ValidationError) -> str:
    msg = err.message
    # oneOf/anyOf/not failures print the whole instance and subschemas; the schemas
    # give those rules a short "description" ("exactly one of content or contentB64 …").
    if err.validator in ("oneOf", "anyOf", "not") and isinstance(err.schema, dict) and err.schema.get("description"):
        msg = err.schema["description"]
    if len(msg) > _MAX_MESSAGE:  # keep both ends: "'AAAA…' is too long" must still say what is wrong
        msg = msg[:_MAX_MESSAGE - 80] + "…" + msg[-80:]
    return f"{_field(err.absolute_path)}: {msg}"


def _errors(schema_id: str, obj: Any) -> list[ValidationError]:
    errs = list(_validator(schema_id).iter_errors(obj))
    return sorted(errs, key=lambda e: (list(map(str, e.absolute_path)), e.message))


def _raise_first(kind: str, schema_id: str, obj: Any) -> None:
    errs = _errors(schema_id, obj)
    if not errs:
        return
    best = best_match(errs)
    more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
    what = obj.get("type") if isinstance(obj, dict) and isinstance(obj.get("type"), str) else "?"
    # Only the message, path and keyword: str() of the exception stays one line
    # instead of dumping the schema and a possibly 512 KiB instance.
    raise ValidationError(f"invalid {kind} ({what}): {_message(best)}{more}",
                          validator=best.validator, path=best.absolute_path,
                          schema_path=best.absolute_schema_path)


def validate_request(obj: Any) -> None:
    """Raise jsonschema.ValidationError unless obj is a valid request envelope (with its body)."""
    _raise_first("request", REQUEST_SCHEMA_ID, obj)


def validate_event(obj: Any) -> None:
    """Raise jsonschema.ValidationError unless obj is a valid event envelope (with its data)."""
    _raise_first("event", EVENT_SCHEMA_ID, obj)


def request_errors(obj: Any) -> list[str]:
    """Every problem with a request, as 'field: message' strings; [] when valid."""
    return [_message(e) for e in _errors(REQUEST_SCHEMA_ID, obj)]


def event_errors(obj: Any) -> list[str]:
    """Every problem with an event, as 'field: message' strings; [] when valid."""
    return [_message(e) for e in _errors(EVENT_SCHEMA_ID, obj)]


def request_types() -> list[str]:
    return list(load_schemas()[BASE_URI + "common.json"]["$defs"]["requestType"]["enum"])


def event_types() -> list[str]:
    return list(load_schemas()[BASE_URI + "common.json"]["$defs"]["eventType"]["enum"])


if __name__ == "__main__":  # python3 tests/integration/schemas.py request|event < message.json
    import sys

    kind = sys.argv[1] if len(sys.argv) > 1 else "event"
    problems = (request_errors if kind == "request" else event_errors)(json.load(sys.stdin))
    print("\n".join(problems) or "valid")
    sys.exit(1 if problems else 0)
