"""Errors of the units layer, subclassing the shared tree in :mod:`ruxtrack.errors`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ruxtrack.errors import ImplausibleValueError, RuxtrackError


class UnknownLabCodeError(RuxtrackError, LookupError):
    """A quantity code or LOINC code is not in the lab catalogue."""

    def __init__(self, code: str, close_matches: Sequence[str] = ()) -> None:
        self.code = code
        self.close_matches = tuple(close_matches)
        hint = ""
        if self.close_matches:
            hint = "; did you mean " + " or ".join(self.close_matches) + "?"
        super().__init__(
            f'"{code}" is neither a lab catalogue code nor a LOINC code in the catalogue{hint}'
        )

    def __str__(self) -> str:  # LookupError would quote the whole message
        return str(self.args[0])


class QuantityParseError(RuxtrackError, ValueError):
    """A text such as ``"<0.5 mg/L"`` cannot be read as comparator, number and unit."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f'cannot read "{text}" as a quantity: {reason}')


class ImplausibleValuesError(ImplausibleValueError):
    """Some values of a bulk conversion lie outside the plausible range.

    ``indices`` holds the positions (0-based, in the input array) of every rejected value.
    """

    def __init__(
        self,
        code: str,
        unit: str | None,
        reason: str,
        indices: npt.NDArray[np.intp],
        probable_unit: str | None = None,
    ) -> None:
        frozen = np.array(indices, dtype=np.intp)
        frozen.setflags(write=False)
        self.indices: npt.NDArray[np.intp] = frozen
        super().__init__(code, unit, reason, probable_unit)
