"""Read knowledge YAML files shipped in the package (read-only)."""

from __future__ import annotations

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


def load_yaml(relative_or_path: str | Path) -> Any:
    """Parse a packaged knowledge file, or a user file when given an existing path.

    Raises :class:`KnowledgeFileError` naming the file when it is missing or not YAML.
    """
    path = Path(relative_or_path)
    if not path.is_absolute() and not path.exists():
        path = knowledge_path(str(relative_or_path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeFileError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(str(path), f"is not valid YAML: {exc}") from exc


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
