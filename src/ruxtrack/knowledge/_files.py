"""Read knowledge YAML files shipped in the package (read-only)."""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ruxtrack.errors import KnowledgeFileError

M = TypeVar("M", bound=BaseModel)


class VerificationStatus(StrEnum):
    """How far a fact has been checked (see ../shared/reference/README.md)."""

    confirmed = "confirmed"  # [C] confirmed from the named primary source
    confirmed_secondary = "confirmed_secondary"  # [C2] only from a secondary source
    unverified = "unverified"  # [U] not checked against the primary document
    project_judgement = "project_judgement"  # an engineering choice, not a published fact


class Citation(BaseModel):
    """A bibliographic source that knowledge entries refer to by key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    citation: str
    url: str | None = None


class SourceRef(BaseModel):
    """Where one fact comes from: a citation key, a locator inside it, and its status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    locator: str | None = None
    status: VerificationStatus = VerificationStatus.confirmed
    quote: str | None = None

    def label(self) -> str:
        """Short human form, e.g. ``Sarmiento2021, Methods (unverified)``."""
        text = self.key if self.locator is None else f"{self.key}, {self.locator}"
        if self.status is VerificationStatus.unverified:
            text += " (unverified)"
        return text


def knowledge_path(relative: str) -> Path:
    """Filesystem path of a packaged knowledge file (``relative`` to this folder)."""
    root = resources.files("ruxtrack.knowledge")
    return Path(str(root.joinpath(relative)))


#: Budgets for every JSON or YAML file read (knowledge/sources/limits.yaml states the same):
#: bytes, nesting depth, and nodes after aliases are expanded (a 5 KB alias bomb is 8 GB).
MAX_BYTES = 20_000_000
MAX_DEPTH = 64
MAX_NODES = 2_000_000


def read_text(path: Path, what: str = "file") -> str:
    """A UTF-8 text file's content; refused cleanly when too big, binary or another encoding.

    Raises :class:`KnowledgeFileError` naming the file and the reason.
    """
    try:
        if not path.is_file():
            reason = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise KnowledgeFileError(str(path), f"cannot be read: {reason}")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise KnowledgeFileError(
                str(path), f"is {size:,} bytes; a {what} is read up to {MAX_BYTES:,} bytes"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise KnowledgeFileError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    return decode_utf8(raw, str(path))


def decode_utf8(raw: bytes, name: str) -> str:
    """``raw`` as UTF-8 (a BOM is dropped); UTF-16 and Latin-1 refused with a line number."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and b"\x00" in raw[:64]):
        raise KnowledgeFileError(name, "is UTF-16 (or binary), not UTF-8 text: save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise KnowledgeFileError(
            name,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02X} at line {line}; Latin-1 or "
            "Windows-1252?): save it as UTF-8",
        ) from exc


def load_yaml(relative_or_path: str | Path) -> Any:
    """Parse a packaged knowledge file, or a user file when given an existing path.

    Raises :class:`KnowledgeFileError` naming the file when it is missing, not UTF-8, not
    YAML, or beyond the budgets (:data:`MAX_BYTES`, :data:`MAX_DEPTH`, :data:`MAX_NODES`
    after aliases are expanded).
    """
    path = Path(relative_or_path)
    if not path.is_absolute() and not path.exists():
        path = knowledge_path(str(relative_or_path))
    text = read_text(path, "YAML file")
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_budget(node, str(path))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(
            str(path), f"is not valid YAML: {' '.join(str(exc).split())[:300]}"
        ) from exc
    except RecursionError as exc:
        raise KnowledgeFileError(str(path), f"nests deeper than {MAX_DEPTH} levels") from exc
    finally:
        loader.dispose()


def _check_budget(root: Any, name: str) -> None:
    """Walk the node graph as a reader would see it (aliases expanded), within the budgets."""
    count = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise KnowledgeFileError(
                name, f"expands to more than {MAX_NODES:,} values (aliases repeated?)"
            )
        if depth > MAX_DEPTH:
            raise KnowledgeFileError(name, f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def load_json_text(text: str, name: str) -> Any:
    """Parse JSON within the budgets (depth, size); a :class:`KnowledgeFileError` otherwise."""
    if len(text) > MAX_BYTES:
        raise KnowledgeFileError(name, f"is longer than {MAX_BYTES:,} characters")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeFileError(name, f"is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise KnowledgeFileError(name, f"nests deeper than {MAX_DEPTH} levels") from exc
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise KnowledgeFileError(name, f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return data


def validate_knowledge(model: type[M], data: Any, path: str | Path) -> M:
    """Validate parsed knowledge-file content against its model.

    Raises :class:`KnowledgeFileError` naming the file, the first failing field (dotted path,
    list items by index) and the reason, with the count of further problems.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class Dose(BaseModel):
    ...     mg: float
    >>> validate_knowledge(Dose, {"mg": "ten"}, "dose.yaml")
    Traceback (most recent call last):
    ...
    ruxtrack.errors.KnowledgeFileError: dose.yaml: field `mg`: Input should be a valid number, \
unable to parse string as a number
    """
    if not isinstance(data, dict):
        raise KnowledgeFileError(str(path), "the file must hold a mapping at its top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise KnowledgeFileError(str(path), f"field `{where}`: {first['msg']}{more}") from exc
