#!/usr/bin/env python3
"""Writes one self-contained OpenAPI document of the ingestion operations a Swift client calls, for
swift-openapi-generator, which reads a single document only (no `$ref` to another file).

    scripts/lib/contract/bundle_openapi.py OUTPUT.yaml

spec/openapi.yaml refers to the JSON Schema files beside it; here each one a kept operation uses becomes
a schema under components/schemas (its `$defs` too), and every `$ref` is rewritten to point there. The
validation keywords stay: the generator ignores those it does not use; the client validates with the
contract itself (AnalyticsSpec). Used by scripts/generate-client.
"""
import copy
import json
import pathlib
import re
import sys

import yaml

SPEC = pathlib.Path(__file__).resolve().parents[3] / "spec"
KEEP = {"/event": ["post"], "/events": ["post"]}


def component_name(file_name):
    # event.schema.json -> Event, batch.schema.json -> Batch, error.schema.json -> ErrorBody
    stem = file_name.removesuffix(".schema.json")
    if stem == "error":
        return "ErrorBody"  # `Error` would shadow Swift's protocol in the generated code
    return "".join(part.capitalize() for part in re.split(r"[-_]", stem))


def main(output):
    openapi = yaml.safe_load((SPEC / "openapi.yaml").read_text())
    bundled = {key: openapi[key] for key in ("openapi", "info", "servers")}
    bundled["jsonSchemaDialect"] = openapi.get("jsonSchemaDialect")
    bundled["paths"] = {path: {method: copy.deepcopy(openapi["paths"][path][method]) for method in methods} for path, methods in KEEP.items()}
    components = {"schemas": copy.deepcopy(openapi["components"]["schemas"]), "responses": {}, "headers": openapi["components"]["headers"],
                  "securitySchemes": openapi["components"]["securitySchemes"]}
    pending = []

    def rewrite(node, current_file):
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                ref = node["$ref"]
                file_part, _, fragment = ref.partition("#")
                target_file = file_part or current_file
                if target_file and target_file.endswith(".schema.json"):
                    name = component_name(target_file)
                    if name not in components["schemas"] and target_file not in pending:
                        pending.append(target_file)
                    if fragment.startswith("/$defs/"):
                        node["$ref"] = f"#/components/schemas/{name}_{fragment.split('/')[-1]}"
                    elif fragment.startswith("/properties/"):
                        node["$ref"] = f"#/components/schemas/{name}/properties/{fragment.split('/')[-1]}"
                    else:
                        node["$ref"] = f"#/components/schemas/{name}"
                elif ref.startswith("#/components/responses/"):
                    response = ref.split("/")[-1]
                    if response not in components["responses"]:
                        components["responses"][response] = rewrite(copy.deepcopy(openapi["components"]["responses"][response]), None)
            for key, value in list(node.items()):
                if key != "$ref":
                    node[key] = rewrite(value, current_file)
        elif isinstance(node, list):
            return [rewrite(item, current_file) for item in node]
        return node

    bundled["paths"] = rewrite(bundled["paths"], None)
    done = set()
    while pending:
        file_name = pending.pop()
        if file_name in done:
            continue
        done.add(file_name)
        schema = json.loads((SPEC / file_name).read_text())
        name = component_name(file_name)
        for key in ("$schema", "$id", "$comment", "examples"):
            schema.pop(key, None)
        for def_name, definition in schema.pop("$defs", {}).items():
            components["schemas"][f"{name}_{def_name}"] = rewrite(definition, file_name)
        components["schemas"][name] = rewrite(schema, file_name)
    bundled["components"] = components
    pathlib.Path(output).write_text(yaml.safe_dump(bundled, sort_keys=False, allow_unicode=True))


if __name__ == "__main__":
    main(sys.argv[1])
