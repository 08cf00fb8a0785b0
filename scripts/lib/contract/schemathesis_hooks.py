"""Schemathesis hooks: what a query string cannot carry, and the rules of the contract that neither JSON
Schema nor OpenAPI can state.

Loaded by scripts/schemathesis (SCHEMATHESIS_HOOKS). `before_call`, which every phase runs, makes a
generated GET /stats query mean on the wire what the generator meant:

- A query string carries text only, an array as its items repeated, and an object as parameters of other
  names. So `event_type=null` is the valid event type "null", not the null the generator meant, `[5]` for
  `limit` arrives as the valid `limit=5`, and `[]` or `{}` as no parameter at all. The query is read as
  the server reads it (spec/stats-query.schema.json: strings, and `limit` an integer when it is one) and
  checked against the contract with Python's jsonschema. When the generator meant an invalid query and
  the wire would carry a valid one, `site_id` is sent empty, which the contract refuses, as meant.
- `to` is not before `from` (the server's keyword `order`, documented in spec/ and checked by
  fixtures/scenarios/query-errors.json): JSON Schema compares no two values, so two days in the wrong order
  are swapped. A valid query stays valid; an invalid one stays invalid for its own reason.
- The contract's one keyword beyond JSON Schema, `maxBytes` (spec/event.schema.json: `path` at most 2,048
  bytes of UTF-8, `user_id` at most 256 and `event_type` at most 128), is unknown to the generator: in an
  event or a query meant to be valid, a longer string is cut, by whole characters, until it fits.
- Segment's messages (POST /v1/*) and script tag hits (POST /collect) meant to be valid are kept within
  what their events may hold (`fit_segment_message`, `fit_collect_body`): a URL whose path the event
  contract refuses, or a name over its bytes, is a 400 the server owes no 2xx for. POST /collect's
  text/plain body is its JSON (the tracker's).
- The other rules the server adds, each documented in the query schemas and checked by
  fixtures/scenarios/tz-errors.json, are kept out of queries meant to be valid: `tz` must be a zone the
  zone database lists (keyword `zone`; a generated name is replaced by a listed one), a time series holds
  at most 1,000 buckets (keyword `points`; `to` becomes `from`), and a `cursor` must be one the server
  gave for the same query (keyword `cursor`; dropped). The same applies to GET /stats/timeseries and
  GET /stats/breakdown, each read with its own schema.
- Reporting reads only the sites its token was created for (403 otherwise): a query meant to be valid
  asks for SCHEMATHESIS_SITE, the site scripts/schemathesis registered and made the token for.
"""
import os
import datetime as dt
import json
import pathlib
import re

import schemathesis
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis.generation import GenerationMode

SPEC = pathlib.Path(__file__).resolve().parents[3] / "spec"
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
INTEGER = re.compile(r"^-?[0-9]+$")
# Zones both Foundation's and Python's zone databases list, to stand in for generated names.
ZONES = ("UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati", "America/Los_Angeles")

_documents = [json.loads(path.read_text(encoding="utf-8")) for path in SPEC.glob("*.schema.json")]
_registry = Registry().with_resources(
    (document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)) for document in _documents
)


def _validator_for(name):
    schema = next(document for document in _documents if document["$id"].endswith("/" + name))
    return Draft202012Validator(schema, registry=_registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


# Each reporting endpoint: its query schema, the parameters it reads, those it reads as integers.
ENDPOINTS = {
    "/stats": (_validator_for("stats-query.schema.json"), ("site_id", "date", "from", "to", "tz", "event_type", "limit"), ("limit",)),
    "/stats/timeseries": (_validator_for("timeseries-query.schema.json"), ("site_id", "from", "to", "interval", "tz", "event_type"), ()),
    "/stats/breakdown": (_validator_for("breakdown-query.schema.json"),
                         ("site_id", "by", "date", "from", "to", "tz", "event_type", "limit", "cursor"), ("limit",)),
}


def bucket_count(first, last, interval):
    """At least the number of buckets the server cuts the days into (a DST day adds an hour)."""
    days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
    if interval == "hour":
        return days * 24 + 1
    if interval == "week":
        return days // 7 + 2
    if interval == "month":
        a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        return (b.year * 12 + b.month) - (a.year * 12 + a.month) + 1
    return days


def wire_text(value):
    """The text a query parameter carries for a scalar, as schemathesis serializes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_read(query, parameters, integers):
    """The query as the server reads it, or None when the server refuses it before the schema (a repeated
    parameter)."""
    read = {}
    for name in parameters:
        if name not in query:
            continue
        value = query[name]
        if isinstance(value, dict):
            continue  # sent as parameters of other names, which the server ignores
        if isinstance(value, list):
            if len(value) > 1:
                return None
            if not value:
                continue
            value = value[0]
            if isinstance(value, (list, dict)):
                return None
        text = wire_text(value)
        read[name] = int(text) if name in integers and INTEGER.match(text) else text
    return read


MAX_BYTES = {"path": 2048, "user_id": 256, "event_type": 128}


def fit_bytes(event):
    """The event with `path` and `user_id` cut to their byte limits; True when anything was cut."""
    cut = False
    for name, limit in MAX_BYTES.items():
        value = event.get(name)
        if isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) > limit:
            while len(value.encode("utf-8", "surrogatepass")) > limit:
                value = value[:-1]
            event[name] = value
            cut = True
    return cut


def fit_ingestion_body(case):
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.NEGATIVE:
        return
    body = case.body
    events = body if isinstance(body, list) else [body]
    copies = [dict(event) if isinstance(event, dict) else event for event in events]
    if any([fit_bytes(event) for event in copies if isinstance(event, dict)]):
        # Assigned, not changed in place: schemathesis then judges the case anew by what is sent.
        case.body = copies if isinstance(body, list) else copies[0]


def cut_bytes(value, limit):
    """The longest prefix of `value`, by whole characters, of at most `limit` bytes of UTF-8."""
    size = lambda text: len(text.encode("utf-8", "surrogatepass"))
    if size(value) <= limit:
        return value
    low, high = 0, len(value)
    while low < high:
        middle = (low + high + 1) // 2
        if size(value[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return value[:low]


def instant(text):
    try:
        return dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def fit_segment_message(message, batch_sent_at, now):
    """A Segment message meant to be valid, kept within what its event may hold: the byte limits of the
    members that become user_id, event_type and path, a URL whose path is an event path, and a timestamp
    whose correction by receivedAt - sentAt stays within the years 0001 to 9999 (docs/segment.md)."""
    for name, limit in (("userId", 256), ("anonymousId", 256), ("event", 128)):
        if isinstance(message.get(name), str):
            message[name] = cut_bytes(message[name], limit)
    holders = [message.get("properties"), (message.get("context") or {}).get("page") if isinstance(message.get("context"), dict) else None]
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        if isinstance(holder.get("path"), str):
            holder["path"] = cut_bytes(holder["path"], 2048)
        if isinstance(holder.get("url"), str):
            holder["url"] = cut_bytes(re.sub(r"[\x00-\x1f\x7f]", "", holder["url"]), 2000)
    given = next((message[key] for key in ("timestamp", "originalTimestamp") if isinstance(message.get(key), str)), None)
    sent = message.get("sentAt") if isinstance(message.get("sentAt"), str) else batch_sent_at
    if given is not None and sent is not None:
        base, sent_at = instant(given), instant(sent)
        try:
            ok = base is not None and sent_at is not None and dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc) <= base + (now - sent_at) <= dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc)
        except OverflowError:
            ok = False
        if not ok:
            message.pop("sentAt", None)
            message.pop("timestamp", None)
            message.pop("originalTimestamp", None)


def fit_segment_body(case):
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.NEGATIVE:
        return
    if not isinstance(case.body, dict):
        return
    body = json.loads(json.dumps(case.body))
    now = dt.datetime.now(dt.timezone.utc)
    if case.operation.path in ("/v1/batch", "/v1/import"):
        batch_sent_at = body.get("sentAt") if isinstance(body.get("sentAt"), str) else None
        for message in body.get("batch") or []:
            if isinstance(message, dict):
                fit_segment_message(message, batch_sent_at, now)
    else:
        fit_segment_message(body, None, now)
    if body != case.body:
        case.body = body


def fit_collect_body(case):
    """A script tag hit meant to be valid, kept within what its event may hold: an event_type of at most
    128 bytes, and a URL whose path is an event path (no control characters, at most 2,000 bytes)."""
    meta = case.meta
    if meta is not None and meta.generation.mode == GenerationMode.NEGATIVE:
        return
    if not isinstance(case.body, dict):
        return
    body = dict(case.body)
    if isinstance(body.get("event_type"), str):
        body["event_type"] = cut_bytes(body["event_type"], 128)
    if isinstance(body.get("url"), str):
        body["url"] = cut_bytes(re.sub(r"[\x00-\x1f\x7f]", "", body["url"]), 2000) or "/"
    if body != case.body:
        case.body = body


@schemathesis.serializer("text/plain")
def text_plain(ctx, value):
    """POST /collect takes its JSON as text/plain, as the tracker sends it with sendBeacon."""
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.path in ("/event", "/events") and case.operation.method.upper() == "POST":
        fit_ingestion_body(case)
        return
    if case.operation.path == "/collect" and case.operation.method.upper() == "POST":
        fit_collect_body(case)
        return
    if case.operation.path.startswith("/v1/") and case.operation.method.upper() == "POST":
        fit_segment_body(case)
        return
    if case.operation.path not in ENDPOINTS or not isinstance(case.query, dict):
        return
    validator, parameters, integers = ENDPOINTS[case.operation.path]
    query = dict(case.query)
    first, last = query.get("from"), query.get("to")
    if isinstance(first, str) and isinstance(last, str) and DAY.match(first) and DAY.match(last) and last < first:
        query["from"], query["to"] = last, first
    meta = case.meta
    meant_invalid = meta is not None and meta.generation.mode == GenerationMode.NEGATIVE
    read = as_read(query, parameters, integers)
    if not meant_invalid and read is not None and validator.is_valid(read):
        if isinstance(query.get("event_type"), str):
            query["event_type"] = cut_bytes(query["event_type"], MAX_BYTES["event_type"])
        elif isinstance(query.get("event_type"), list) and len(query["event_type"]) == 1 and isinstance(query["event_type"][0], str):
            query["event_type"] = [cut_bytes(query["event_type"][0], MAX_BYTES["event_type"])]
        if os.environ.get("SCHEMATHESIS_SITE"):
            query["site_id"] = os.environ["SCHEMATHESIS_SITE"]
        if "tz" in read and read["tz"] not in ZONES:
            query["tz"] = ZONES[sum(map(ord, read["tz"])) % len(ZONES)]
        if "cursor" in read:
            del query["cursor"]
        if case.operation.path == "/stats/timeseries":
            try:
                too_many = bucket_count(read["from"], read["to"], read.get("interval", "day")) > 1000
            except ValueError:
                too_many = False
            if too_many:
                query["to"] = query["from"]
    elif meant_invalid and read is not None and validator.is_valid(read):
        query["site_id"] = ""
    if query != case.query:
        # Assigned, not changed in place: schemathesis then judges the case anew by what is sent.
        case.query = query
