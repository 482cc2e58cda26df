#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The prose of the sync API (docs/sync-api.md) against its source of
truth, the OpenAPI file (docs/sync-api.openapi.yaml).

Every table of the prose that describes part of the API is preceded by a
marker, `<!-- openapi: WHAT -->`, naming what it describes:

  SCHEMA              a table of fields (first column: the names, in
                      backticks; a "type" column saying "required" or
                      "optional"): the names must be the schema's
                      properties, no more and no fewer; "required" there
                      iff required in the schema; "optional" only for a
                      property that may be null
  errors              the status/code table: statuses and codes as the
                      Error schema's enum and the responses
  endpoints           the endpoint table: methods, paths and statuses as
                      the paths of the OpenAPI file
  types SCHEMA.PROP   a table whose first column lists words: exactly the
                      property's x-known list
  reasons SCHEMA.PROP a table whose first column lists words: exactly the
                      alternatives of the property's pattern

A field table without a marker fails too, so a new table cannot slip by.

  doc-check.py [DOCS_DIR]      exits 0 when they agree, 1 listing each
                               difference, 77 when PyYAML is missing
"""
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("doc-check: SKIPPED: python3-yaml is not installed (tools/bootstrap)",
          file=sys.stderr)
    sys.exit(77)

DOCS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")
PROSE = os.path.join(DOCS, "sync-api.md")
SPEC = os.path.join(DOCS, "sync-api.openapi.yaml")

problems = []


def problem(where, text):
    problems.append(f"{os.path.basename(PROSE)}:{where}: {text}")


with open(SPEC, encoding="utf-8") as f:
    spec = yaml.safe_load(f)
with open(PROSE, encoding="utf-8") as f:
    lines = f.read().split("\n")
schemas = spec["components"]["schemas"]


def resolve(node):
    """Follows $ref and single-entry allOf to the schema meant."""
    while isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            target = spec
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
        elif "allOf" in node and len(node["allOf"]) == 1:
            extra = {k: v for k, v in node.items() if k != "allOf"}
            node = dict(resolve(node["allOf"][0]), **extra)
        else:
            return node
    return node


def nullable(node):
    if isinstance(node, dict) and node.get("nullable"):
        return True
    node = resolve(node)
    return bool(node.get("nullable"))


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables():
    """(line number of the marker or None, header cells, rows) per table."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("|") and i + 1 < len(lines) and \
                re.match(r"^\|[-|: ]+\|$", lines[i + 1]):
            marker = None
            m = re.match(r"^<!-- openapi: (.+) -->$", lines[i - 1]) if i else None
            if m:
                marker = (i, m.group(1))
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append((j + 1, cells(lines[j])))
                j += 1
            yield marker, cells(line), rows
            i = j
        else:
            i += 1


def names(cell):
    """`a`, `b[]`, `c` -> [a, b, c]"""
    return [n.rstrip("[]") for n in re.findall(r"`([^`]+)`", cell)]


def check_fields(line, schema_name, header, rows):
    schema = resolve(schemas.get(schema_name, {}))
    if "properties" not in schema:
        problem(line, f"no schema {schema_name} with properties in the OpenAPI file")
        return
    props = schema["properties"]
    required = set(schema.get("required", []))
    typed = len(header) > 1 and header[1] == "type"
    seen = set()
    for n, row in rows:
        for name in names(row[0]):
            seen.add(name)
            if name not in props:
                problem(n, f"{schema_name}: `{name}` is not in the OpenAPI file")
                continue
            if not typed:
                continue
            kind = row[1]
            if ("required" in kind) != (name in required):
                problem(n, f"{schema_name}.{name}: the prose says "
                        f"\"{kind}\", the OpenAPI file "
                        f"{'requires' if name in required else 'does not require'} it")
            known = resolve(props[name]).get("x-known")
            listed = set(names(row[2])) if len(row) > 2 else set()
            # A rule that lists the words (not one that points elsewhere).
            if known and len(listed & set(known)) >= 2 and listed != set(known):
                problem(n, f"{schema_name}.{name}: the prose lists "
                        f"{sorted(names(row[2]))}, the OpenAPI file {sorted(known)}")
            if "optional" in kind and not nullable(props[name]):
                problem(n, f"{schema_name}.{name}: optional (so it may be "
                        "null) but not nullable in the OpenAPI file")
    for name in props:
        if name not in seen:
            problem(line, f"{schema_name}.{name}: in the OpenAPI file, not in the prose's table")


def prop_of(path):
    schema_name, prop = path.split(".")
    return resolve(resolve(schemas[schema_name])["properties"][prop])


def check_words(line, what, path, rows):
    node = prop_of(path)
    if what == "types":
        want = set(node.get("x-known", []))
    else:
        m = re.match(r"^\^\(([a-z_|]+)\)", node.get("pattern", ""))
        want = set(m.group(1).split("|")) if m else set()
    have = set()
    for n, row in rows:
        for w in names(row[0]):
            have.add(w)
            if w not in want:
                problem(n, f"{path}: `{w}` is not in the OpenAPI file")
    for w in sorted(want - have):
        problem(line, f"{path}: `{w}` is in the OpenAPI file, not in the prose")


def check_errors(line, rows):
    enum = set(resolve(schemas["Error"])["properties"]["error"]
               ["properties"]["code"]["enum"])
    responses = spec["components"]["responses"]
    have = set()
    for n, row in rows:
        status, code = row[0], names(row[1])
        for c in code:
            have.add(c)
            if c not in enum:
                problem(n, f"error code `{c}` is not in the Error schema")
        used = [r for r in responses.values()
                if r.get("content", {}).get("application/json", {})
                .get("example", {}).get("error", {}).get("code") in code]
        if not used:
            problem(n, f"status {status} `{code}`: no response of the OpenAPI file has that code")
    for c in sorted(enum - have):
        problem(line, f"error code `{c}` is in the Error schema, not in the prose's table")


def check_endpoints(line, rows):
    want = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                short = path.replace("/kiosks/{kiosk_id}/", "")
                want[(method.upper(), short)] = op
    have = set()
    for n, row in rows:
        m = re.match(r"^`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`", row[0])
        if not m:
            continue  # "anything else"
        key = (m.group(1), m.group(2))
        have.add(key)
        op = want.get(key)
        if not op:
            problem(n, f"{key[0]} {key[1]}: not an operation of the OpenAPI file")
            continue
        statuses = set(re.findall(r"\d{3}", row[1] + " " + row[2]))
        spec_statuses = set(str(s) for s in op["responses"])
        if statuses != spec_statuses:
            problem(n, f"{key[0]} {key[1]}: the prose says {sorted(statuses)}, "
                    f"the OpenAPI file {sorted(spec_statuses)}")
    for key in sorted(set(want) - have):
        problem(line, f"{key[0]} {key[1]}: in the OpenAPI file, not in the prose")


n_checked = 0
for marker, header, rows in tables():
    if marker is None:
        if header[0] == "field":
            problem(rows[0][0] - 2 if rows else 0,
                    "a field table without an <!-- openapi: ... --> marker")
        continue
    line, what = marker
    n_checked += 1
    words = what.split()
    if words[0] == "errors":
        check_errors(line, rows)
    elif words[0] == "endpoints":
        check_endpoints(line, rows)
    elif words[0] in ("types", "reasons"):
        check_words(line, words[0], words[1], rows)
    else:
        check_fields(line, words[0], header, rows)

if n_checked < 10:
    problem(0, f"only {n_checked} marked tables found; the markers went missing?")
for p in problems:
    print(p)
print(f"doc-check: {n_checked} tables of {os.path.basename(PROSE)} against "
      f"{os.path.basename(SPEC)}: {len(problems)} difference(s)")
sys.exit(1 if problems else 0)
