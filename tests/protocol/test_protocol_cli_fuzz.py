"""The ad hoc ``dose`` flags never end in a traceback, whatever is typed (issue 11).

Every run ends with exit 0 and a decision, or exit 1/2 and one ``error:`` line. Bad dates,
unit-less impossible counts and negative values are refused with a reason (exit 1).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ruxtrack.cli import app

runner = CliRunner()
REGIMENS = ["sarmiento-2021-covid", "jakafi-us-agvhd", "jakafi-us-cgvhd", "jakavi-eu-agvhd"]


def _run(*args: str) -> tuple[int, str, BaseException | None]:
    res = runner.invoke(app, ["dose", *args], env={"COLUMNS": "80"})
    return res.exit_code, res.output, res.exception


def _no_traceback(code: int, out: str, exc: BaseException | None) -> None:
    assert exc is None or isinstance(exc, SystemExit), repr(exc)
    assert "Traceback" not in out
    assert code in (0, 1, 2), (code, out)
    if code == 1:
        assert sum(line.startswith("error:") for line in out.splitlines()) == 1, out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--date", "2021-02-30"], '--date "2021-02-30": not a calendar date'),
        (["--date", "yesterday"], '--date "yesterday": not a calendar date'),
        (["--platelets", "85000"], "--platelets 85000: "),
        (["--platelets", "-5"], "--platelets -5: "),
        (["--anc", "-1"], "--anc -1: "),
        (["--crcl", "-10"], "--crcl -10: "),
        (["--age", "-4"], "--age -4: "),
        (["--day", "0"], "course day 0 does not exist"),
    ],
)
def test_unusable_flags_are_refused_with_a_reason(args: list[str], needle: str) -> None:
    base = ["--regimen", "jakafi-us-agvhd", "--day", "3", "--anc", "2", "--crcl", "80"]
    code, out, exc = _run(*base, *args)
    _no_traceback(code, out, exc)
    assert code == 1 and needle in out


_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "85000",
            "-5",
            "85000/uL",
            "1e308",
            "nan",
            "inf",
            "0",
            "12 mg/dL",
            "[/x]",
            "5 umol/L",
            "2021-02-30",
            "yesterday",
            "hsct+3d",
            "10 mg BID",
            "fluconazole:400mg/day",
            ":",
            "<5",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**12), 10**12).map(str),
)
_FLAGS = [
    "--date", "--day", "--current-dose", "--platelets", "--anc", "--bilirubin",
    "--bilirubin-uln", "--crcl", "--age", "--weight", "--height", "--drug", "--fact", "--score",
    "--liver-gvhd-score",
]  # fmt: skip


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(
    regimen=st.sampled_from(REGIMENS),
    values=st.dictionaries(st.sampled_from(_FLAGS), _TEXT, max_size=6),
    switches=st.lists(
        st.sampled_from(["--liver-gvhd", "--dialysis", "--ventilated", "--covid-pcr", "--json"]),
        max_size=3,
    ),
)
def test_ad_hoc_flags_never_end_in_a_traceback(
    regimen: str, values: dict[str, str], switches: list[str]
) -> None:
    args = ["--regimen", regimen]
    for flag, value in values.items():
        args += [flag, value]
    code, out, exc = _run(*args, *switches)
    _no_traceback(code, out, exc)
