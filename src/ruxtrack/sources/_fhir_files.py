"""Reading FHIR JSON safely: files, Bundles, NDJSON, limits, structure and R4B models.

Everything here answers "is this FHIR R4 JSON we can read?"; what the resources mean for the
timeline is decided in ``_fhir_read``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruxtrack.errors import ImportProblem
from ruxtrack.sources._fhir_mapping import FhirMapping
from ruxtrack.sources._fhir_read import Located

__all__ = ["check_resources", "load_path", "parse_json"]

FILE_SUFFIXES = (".json", ".ndjson")


class _DuplicateKey(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(f'key "{k}" appears twice in one JSON object')
        out[k] = v
    return out


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str) -> tuple[Any, str | None]:
    """Parse one JSON document; ``(None, reason)`` when it is not JSON we read."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant), None
    except RecursionError:
        return None, "JSON nested too deeply"
    except _DuplicateKey as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"


def _decode(raw: bytes) -> tuple[str | None, str | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return (
            None,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at line {line}); FHIR JSON is UTF-8",
        )


def _problem(label: str, row: int | None, reason: str, field: str | None = None) -> ImportProblem:
    return ImportProblem(label, row, field, None, reason)


def load_path(path: Path, mapping: FhirMapping) -> tuple[list[Located], list[ImportProblem]]:
    """Resources of a Bundle/resource JSON file, an NDJSON file, or a folder of them."""
    problems: list[ImportProblem] = []
    if not path.exists():
        return [], [_problem(str(path), None, "no such file or folder")]
    files = [path]
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and not p.name.startswith(".")
        )  # fmt: skip
        if not files:
            return [], [_problem(path.name, None, "no .json or .ndjson files in this folder")]
    out: list[Located] = []
    for f in files:
        out.extend(_load_file(f, mapping, problems))
        if len(out) > mapping.limits.max_resources:
            problems.append(_problem(f.name, None, f"more than {mapping.limits.max_resources} "
                                     "resources: split the import"))  # fmt: skip
            return [], problems
    return out, problems


def _load_file(path: Path, mapping: FhirMapping, problems: list[ImportProblem]) -> list[Located]:
    label = path.name
    lim = mapping.limits
    try:
        size = path.stat().st_size
        if size > lim.max_bytes:
            problems.append(_problem(label, None, f"file is {size} bytes; the limit is "
                                     f"{lim.max_bytes} (knowledge/fhir.yaml limits)"))  # fmt: skip
            return []
        raw = path.read_bytes()
    except OSError as exc:
        problems.append(_problem(label, None, f"cannot be read: {exc.strerror or exc}"))
        return []
    text, why = _decode(raw)
    if text is None:
        problems.append(_problem(label, None, str(why)))
        return []
    if not text.strip():
        problems.append(_problem(label, None, "file is empty"))
        return []
    if path.suffix.lower() == ".ndjson":
        return _ndjson(text, label, mapping, problems)
    doc, why = parse_json(text)
    if why is not None:
        problems.append(_problem(label, None, why))
        return []
    return documents_to_resources([doc], label, mapping, problems)


def _ndjson(
    text: str, label: str, mapping: FhirMapping, problems: list[ImportProblem]
) -> list[Located]:
    out: list[Located] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        doc, why = parse_json(line)
        if why is not None:
            problems.append(_problem(label, n, why))
            continue
        if isinstance(doc, Mapping) and doc.get("resourceType") == "Bundle":
            problems.append(_problem(label, n, "a Bundle in NDJSON: bulk data holds one resource "
                                     "per line"))  # fmt: skip
            continue
        out.extend(documents_to_resources([doc], label, mapping, problems, row=n))
    return out


def documents_to_resources(
    docs: Iterable[Any], label: str, mapping: FhirMapping, problems: list[ImportProblem],
    row: int | None = None,
) -> list[Located]:  # fmt: skip
    """Resources of parsed JSON documents (a resource or a Bundle each), structure-checked."""
    out: list[Located] = []
    for doc in docs:
        issues = _structure(doc, mapping)
        if issues:
            problems.extend(_problem(label, row, why, where or None) for where, why in issues)
            continue
        if not isinstance(doc, Mapping):
            problems.append(_problem(label, row, "a FHIR resource is a JSON object"))
            continue
        if doc.get("resourceType") != "Bundle":
            out.append(Located(doc, label, row))
            continue
        entries = doc.get("entry", [])
        if not isinstance(entries, list):
            problems.append(_problem(label, row, "must be a list", "Bundle.entry"))
            continue
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(res, Mapping):
                problems.append(_problem(label, row, "missing: an entry needs a resource",
                                         f"Bundle.entry[{i}].resource"))  # fmt: skip
                continue
            if res.get("resourceType") == "Bundle":
                problems.append(_problem(label, row, "nested Bundles are not read",
                                         f"Bundle.entry[{i}].resource"))  # fmt: skip
                continue
            full = entry.get("fullUrl")
            out.append(Located(res, label, row, full if isinstance(full, str) else None))
    return out


def _structure(doc: Any, mapping: FhirMapping) -> list[tuple[str, str]]:
    """FHIR JSON rules fhir.resources lets through: no null, no empty values; limits."""
    lim = mapping.limits
    issues: list[tuple[str, str]] = []
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack and len(issues) < 20:
        obj, path, depth = stack.pop()
        if depth > lim.max_depth:
            issues.append((path, f"nested deeper than {lim.max_depth} levels"))
            break
        if obj is None:
            issues.append((path, "null is not allowed in FHIR JSON: leave the element out"))
        elif isinstance(obj, str):
            if len(obj) > lim.max_string:
                issues.append((path, f"a string longer than {lim.max_string} characters"))
            elif obj == "":
                issues.append((path, "an empty string is not allowed in FHIR JSON"))
        elif isinstance(obj, Mapping):
            if not obj:
                issues.append((path, "an empty object is not allowed in FHIR JSON"))
            for k, v in obj.items():
                stack.append((v, f"{path}.{k}" if path else str(k), depth + 1))
        elif isinstance(obj, list):
            if not obj:
                issues.append((path, "an empty array is not allowed in FHIR JSON"))
            for i, v in enumerate(obj):
                stack.append((v, f"{path}[{i}]", depth + 1))
    return issues


def check_resources(items: list[Located], mapping: FhirMapping) -> list[ImportProblem]:
    """resourceType, ids (present, unique) and the FHIR R4B model of every resource."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    problems: list[ImportProblem] = []
    seen: dict[tuple[str, str], Located] = {}
    models: dict[str, Any] = {}
    for loc in items:
        rt = loc.resource.get("resourceType")
        if not isinstance(rt, str):
            problems.append(loc.problem(None, None, "missing: resourceType"))
            continue
        model = models.get(rt)
        if model is None:
            try:
                model = models[rt] = get_fhir_model_class(rt)
            except (KeyError, ValueError):
                problems.append(loc.problem("resourceType", rt, "not a FHIR R4 resource type"))
                continue
        rid = loc.rid
        if rid is not None:
            key = (rt, rid)
            if key in seen:
                problems.append(loc.problem("id", rid, f"{rt}/{rid} appears twice in the input"))
                continue
            seen[key] = loc
        elif rt == "Patient":
            problems.append(loc.problem("id", None, "missing: a Patient needs an id"))
            continue
        try:
            model.model_validate(loc.resource)
        except ValidationError as exc:
            for err in exc.errors()[:10]:
                problems.append(loc.problem(_path(err["loc"]), None,
                                            err["msg"].removeprefix("Value error, ")))  # fmt: skip
        except (ValueError, TypeError, RecursionError) as exc:  # pragma: no cover - defence
            problems.append(loc.problem("", None, f"not a valid {rt}: {exc}"))
    return problems


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
