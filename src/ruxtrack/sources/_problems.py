"""Collecting import problems column-wise: only bad rows cost a Python object."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from ruxtrack.errors import ImportProblem, ImportValidationError
from ruxtrack.sources._spec import EXTENSIONS, FILE_ORDER

__all__ = ["Problems"]


class Problems:
    """An ordered collection of :class:`ImportProblem` (file, row, field, value, reason)."""

    def __init__(self) -> None:
        self._items: list[ImportProblem] = []

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(
        self,
        file: str,
        row: int | None,
        field: str | None,
        value: str | None,
        reason: str,
    ) -> None:
        """Record one problem."""
        self._items.append(ImportProblem(file, row, field, value, reason))

    def add_mask(
        self,
        file: str,
        rows: pd.Series,
        mask: pd.Series | npt.NDArray[np.bool_],
        field: str,
        values: pd.Series | None,
        reason: str | pd.Series,
    ) -> None:
        """Record one problem per row where ``mask`` is true (reason fixed or per row)."""
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            return
        idx = np.flatnonzero(m)
        row_numbers = rows.to_numpy()[idx]
        vals = None if values is None else values.to_numpy()[idx]
        reasons = reason.to_numpy()[idx] if isinstance(reason, pd.Series) else None
        for k in range(len(idx)):
            self._items.append(
                ImportProblem(
                    file,
                    int(row_numbers[k]),
                    field,
                    None if vals is None else str(vals[k]),
                    str(reasons[k]) if reasons is not None else str(reason),
                )
            )

    def extend(self, problems: Iterable[ImportProblem]) -> None:
        self._items.extend(problems)

    def sorted(self) -> list[ImportProblem]:
        """Problems in file order, then row, then field (file-level problems first)."""
        order = {f"{name}.{ext}": i for i, name in enumerate(FILE_ORDER) for ext in EXTENSIONS}
        return sorted(
            self._items,
            key=lambda p: (
                order.get(p.file, len(order)),
                p.file,
                -1 if p.row is None else p.row,
                p.field or "",
            ),
        )

    def raise_if_any(self) -> None:
        """Raise :class:`ImportValidationError` listing every problem, if there is one."""
        if self._items:
            raise ImportValidationError(self.sorted())
