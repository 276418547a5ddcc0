"""Clinical knowledge as data: every threshold, dose and formula with its source.

The YAML files beside this module are read, never computed. Each file carries a
``sources`` mapping (citation key -> citation) and each entry a ``source`` reference
(``key`` plus ``locator`` such as a table, section or page) and a verification
``status`` mirroring ../shared/reference: ``confirmed`` [C], ``confirmed_secondary``
[C2], ``unverified`` [U] or ``project_judgement``.
"""

from __future__ import annotations

from ruxtrack.knowledge._files import (
    Citation,
    SourceRef,
    VerificationStatus,
    knowledge_path,
    load_yaml,
    validate_knowledge,
)

__all__ = [
    "Citation",
    "SourceRef",
    "VerificationStatus",
    "knowledge_path",
    "load_yaml",
    "validate_knowledge",
]
