"""Shared pieces of the result objects: JSON-safe ``to_dict`` and input coercion."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from ruxtrack.errors import AnalysisError

FloatArray: TypeAlias = npt.NDArray[np.float64]
ArrayLike1D: TypeAlias = Sequence[float | int | None] | npt.NDArray[Any] | pd.Series

__all__ = ["ResultMixin", "as_float_array", "jsonable"]


def jsonable(value: Any) -> Any:
    """Return a JSON-safe copy of ``value``.

    Dataclasses become dicts (plus ``"result_type"`` for result objects), tuples become lists,
    numpy scalars become Python numbers, NaN becomes ``None`` and infinities become the strings
    ``"inf"`` / ``"-inf"`` (JSON has no infinity; an infinite odds ratio is a real answer).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        if isinstance(value, ResultMixin):
            out["result_type"] = type(value).__name__
        for field in dataclasses.fields(value):
            out[field.name] = jsonable(getattr(value, field.name))
        return out
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if value is None or isinstance(value, str):
        return value
    return str(value)


class ResultMixin:
    """Adds :meth:`to_dict` to a frozen result dataclass."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-safe dict (see :func:`jsonable` for the conventions)."""
        out = jsonable(self)
        assert isinstance(out, dict)
        return out


def _numeric_fast_path(values: Any) -> FloatArray | None:
    """A numeric array or Series straight to float64 (no per-element object conversion: the
    difference between seconds and milliseconds at a million patients); None otherwise."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return np.asarray(values, dtype=np.float64)
    if isinstance(values, pd.Series) and (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        return np.asarray(values.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
    return None


def as_float_array(values: Any, name: str) -> FloatArray:
    """Coerce a 1-D sequence / array / Series to float64, ``None`` and ``pd.NA`` becoming NaN."""
    fast = _numeric_fast_path(values)
    if fast is not None:
        if fast.ndim != 1:
            raise AnalysisError(
                f"{name}: expected a one-dimensional sequence, got shape {fast.shape}"
            )
        if np.isinf(fast).any():
            raise AnalysisError(f"{name}: infinite values are not allowed")
        return fast
    try:
        series = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
        arr = pd.to_numeric(series, errors="raise").astype("float64").to_numpy()
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name}: values must be numeric ({exc})") from exc
    if arr.ndim != 1:
        raise AnalysisError(f"{name}: expected a one-dimensional sequence, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise AnalysisError(f"{name}: infinite values are not allowed")
    return np.asarray(arr, dtype=np.float64)
