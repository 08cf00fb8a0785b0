#!/usr/bin/env python3
"""Independent check of the contract: runs every fixture in fixtures/events through Python's
jsonschema (Draft202012Validator with format checking) against spec/, and checks every schema
document and spec/openapi.yaml against their metaschemas.

With --analytics BIN it also runs `BIN validate` on every fixture and expects exactly the fixture's
verdict and violations (path and keyword).

Exits 1 on any disagreement with a fixture, so anyone's JSON Schema library reaches our verdicts.
"""
import argparse
import uuid
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

root = pathlib.Path(__file__).resolve().parent.parent
spec = root / "spec"
fixtures = root / "fixtures" / "events"

missing_checkers = {"date-time", "date", "uuid"} - set(Draft202012Validator.FORMAT_CHECKER.checkers)
if missing_checkers:
    sys.exit(f"jsonschema cannot check the formats {sorted(missing_checkers)}: install rfc3339-validator")

documents = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(spec.glob("*.schema.json"))}
for name, document in documents.items():
    Draft202012Validator.check_schema(document)
registry = Registry().with_resources(
    (document["$id"], Resource.from_contents(document, default_specification=DRAFT202012))
    for document in documents.values()
)


def max_bytes(validator, limit, instance, schema):
    """The contract's one keyword beyond 2020-12 (spec/event.schema.json's $comment): bytes of UTF-8."""
    if validator.is_type(instance, "string") and len(instance.encode("utf-8")) > limit:
        yield ValidationError(f"{instance[:40]!r}... is longer than {limit} bytes of UTF-8")


ContractValidator = validators.extend(Draft202012Validator, {"maxBytes": max_bytes})


def validator(name):
    return ContractValidator(
        documents[name], registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def schema_for(fixture_file):
    # fixtures/README.md: batch-*.json files hold batches, every other file single events.
    return "batch.schema.json" if fixture_file.name.startswith("batch") else "event.schema.json"


arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
arguments.add_argument("--analytics", help="path of the analytics binary to check as well")
options = arguments.parse_args()

failures = 0
cases = 0
for fixture_file in sorted(fixtures.glob("*.json")):
    check = validator(schema_for(fixture_file))
    for case in json.loads(fixture_file.read_text(encoding="utf-8")):
        cases += 1
        errors = list(check.iter_errors(case["data"]))
        if (not errors) != case["valid"]:
            failures += 1
            found = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.validator}: {e.message[:120]}" for e in errors)
            print(f"DISAGREE {fixture_file.name}: {case['description']}: fixture says valid={case['valid']}, "
                  f"jsonschema says valid={not errors} ({found or 'no errors'})")
        if case["valid"] and case["errors"]:
            failures += 1
            print(f"BAD FIXTURE {fixture_file.name}: {case['description']}: valid but lists errors")



def check_cli(binary, fixture_file, fixture_cases):
    """Runs `analytics validate --json` on the fixture's data as NDJSON; returns the disagreements."""
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", encoding="utf-8", delete=False) as handle:
        for case in fixture_cases:
            handle.write(json.dumps(case["data"], ensure_ascii=False) + "\n")
    command = [binary, "validate", "--json", handle.name]
    if schema_for(fixture_file) != "event.schema.json":
        command[2:2] = ["--schema", str(spec / schema_for(fixture_file))]
    result = subprocess.run(command, capture_output=True, text=True)
    pathlib.Path(handle.name).unlink()
    reported = {}
    for line in result.stdout.splitlines():
        item = json.loads(line)
        reported[item["index"]] = collections.Counter((e["path"], e["keyword"]) for e in item["errors"])
    problems = []
    for index, case in enumerate(fixture_cases):
        expected = collections.Counter((e["path"], e["keyword"]) for e in case["errors"])
        if reported.get(index, collections.Counter()) != expected:
            problems.append(f"{case['description']}: expected {sorted(expected.elements())}, "
                            f"analytics validate said {sorted(reported.get(index, collections.Counter()).elements())}")
    expected_status = 0 if all(case["valid"] for case in fixture_cases) else 1
    if result.returncode != expected_status:
        problems.append(f"exit status {result.returncode}, expected {expected_status}: {result.stderr.strip()}")
    return problems


cli_result = "analytics validate not checked (no --analytics)"
if options.analytics:
    cli_failures = 0
    for fixture_file in sorted(fixtures.glob("*.json")):
        for problem in check_cli(options.analytics, fixture_file, json.loads(fixture_file.read_text(encoding="utf-8"))):
            cli_failures += 1
            print(f"CLI DISAGREES {fixture_file.name}: {problem}")
    failures += cli_failures
    cli_result = f"analytics validate agrees on every fixture" if not cli_failures else f"analytics validate: {cli_failures} disagreements"

# Segment's cases (fixtures/segment): the schema's verdict on each body, every expected event valid under
# the event contract, and each event_id what the mapping says (the messageId when it is a UUID, otherwise
# Python's uuid5 of the site and the messageId).
segment_namespace = uuid.uuid5(uuid.NAMESPACE_URL, "https://analytics.example/spec/segment-common.schema.json")
event_check = validator("event.schema.json")
for path in sorted((root / "fixtures" / "segment").glob("*.json")):
    for case in json.loads(path.read_text(encoding="utf-8")):
        cases += 1
        name = "segment-batch.schema.json" if case["endpoint"] == "batch" else f"segment-{case['endpoint']}.schema.json"
        errors = list(validator(name).iter_errors(case["body"]))
        if (not errors) != case["valid"]:
            failures += 1
            print(f"DISAGREE segment/{path.name}: {case['description']}: fixture says valid={case['valid']}, jsonschema says {not errors}")
        messages = case["body"].get("batch", []) if case["endpoint"] == "batch" else [case["body"]]
        makes_event = [m for m in messages if isinstance(m, dict) and (m.get("type") or case["endpoint"]) in ("track", "page", "screen")]
        for message, event in zip(makes_event, case.get("events", [])):
            problems = list(event_check.iter_errors(event))
            message_id = message.get("messageId")
            try:
                expected_id = str(uuid.UUID(message_id)) if message_id and len(message_id) == 36 else None
            except ValueError:
                expected_id = None
            if message_id and expected_id is None:
                expected_id = str(uuid.uuid5(segment_namespace, case["site"] + "\n" + message_id))
            if problems or (expected_id and event["event_id"] != expected_id):
                failures += 1
                print(f"FAIL segment/{path.name}: {case['description']}: event {event} ({problems[:1]}, expected id {expected_id})")


# The script tag's hits (fixtures/tracker): the schema's verdict, and each expected event valid under the
# event contract with the visitor id Python's hmac gives.
import hmac
import ipaddress
collect_check = validator("collect.schema.json")
for case in json.loads((root / "fixtures" / "tracker" / "collect.json").read_text(encoding="utf-8")):
    cases += 1
    if (not list(collect_check.iter_errors(case["body"]))) != case["valid"]:
        failures += 1
        print(f"DISAGREE tracker: {case['description']}: fixture says valid={case['valid']}")
    if case["accepted"]:
        event = dict(case["event"], event_id="00000000-0000-7000-8000-000000000000")
        address = ipaddress.ip_address(case["address"])
        address = getattr(address, "ipv4_mapped", None) or address  # a mapped IPv6 address is its IPv4 one
        message = event["site_id"].encode() + b"\n" + address.packed + b"\n" + case["user_agent"].encode()
        expected = "v" + hmac.new(bytes.fromhex(case["visitor_key"]), message, "sha256").hexdigest()[:32]
        if list(event_check.iter_errors(event)) or event["user_id"] != expected:
            failures += 1
            print(f"FAIL tracker: {case['description']}: {event}, visitor {expected}")


# The error bodies of the access cases (fixtures/access) against the contract's error schema.
error_validator = Draft202012Validator(documents["error.schema.json"], registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
access_bodies = 0
for path in sorted((root / "fixtures" / "access").glob("*.json")):
    for request in json.loads(path.read_text(encoding="utf-8"))["requests"]:
        if request["status"] >= 400 and "response" in request:
            access_bodies += 1
            problems = list(error_validator.iter_errors(request["response"]))
            if problems:
                failures += 1
                print(f"FAIL {path.name}: {request['description']}: {problems[0].message}")
cases += access_bodies

# The site lists of the access cases (GET /sites) against the contract's response schema.
sites_validator = Draft202012Validator(documents["sites-response.schema.json"], registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
for path in sorted((root / "fixtures" / "access").glob("*.json")):
    for request in json.loads(path.read_text(encoding="utf-8"))["requests"]:
        if request["status"] == 200 and request["path"].split("?")[0] == "/sites":
            cases += 1
            problems = list(sites_validator.iter_errors(request["response"]))
            if problems:
                failures += 1
                print(f"FAIL {path.name}: {request['description']}: {problems[0].message}")

try:
    from openapi_spec_validator import validate as validate_openapi
    from openapi_spec_validator.readers import read_from_filename

    openapi, _ = read_from_filename(str(spec / "openapi.yaml"))
    validate_openapi(openapi, base_uri=(spec / "openapi.yaml").as_uri())
    openapi_result = "openapi.yaml valid (OpenAPI 3.1)"
except ImportError:
    openapi_result = "openapi.yaml not checked (openapi-spec-validator missing)"

print(f"jsonschema cross-check: {cases} fixtures, {len(documents)} schema documents; {openapi_result}; {cli_result}")
print(f"crosscheck: {cases - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
