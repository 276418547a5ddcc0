"""Malformed inputs of the criteria JSON, the evidence CSV and the records files, through the
command line: each ends in ``error:`` lines naming the input and the reason, exit code 1, and
no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ruxtrack.cli import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


JSON_CASES: list[tuple[str, bytes | str, str]] = [
    ("deep_100000", "[" * 100_000 + "]" * 100_000, "nests deeper than 64"),
    ("deep_objects", '{"a":' * 70 + "1" + "}" * 70, "nests deeper than 64"),
    ("latin1", '{"fever": "s\xed"}'.encode("latin-1"), "not UTF-8"),
    ("utf16", '{"fever": true}'.encode("utf-16"), "UTF-16"),
    ("empty", "", "not valid JSON"),
    ("not_json", "fever=yes", "not valid JSON"),
    ("trailing_comma", '{"fever": true,}', "not valid JSON"),
    ("array_top", "[1, 2]", "must be an object"),
    ("number_top", "42", "must be an object"),
    ("string_top", '"x"', "must be an object"),
    ("unknown_key", '{"bogus_key": 1}', "bogus_key"),
    ("misspelt_key", '{"ferritn": 17509}', "ferritn"),
    ("markup_key", '{"[/x]": 1}', "[/x]"),
    ("bad_unit", '{"ferritin": "17509 [/x]"}', "ferritin"),
    ("unit_only", '{"ferritin": "ng/mL"}', "ferritin"),
    ("nan_value", '{"ferritin": NaN}', "ferritin"),
    ("infinite_value", '{"ferritin": 1e999}', "ferritin"),
    ("negative_value", '{"ferritin": -5}', "ferritin"),
    ("object_value", '{"ferritin": {"value": "x"}}', "ferritin"),
    ("list_value", '{"ferritin": [1, 2]}', "ferritin"),
    ("huge_string", json.dumps({"ferritin": "9" * 1_000_000}), "ferritin"),
    ("binary", bytes(range(256)), "UTF-16"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("defect", "content", "fragment"), JSON_CASES, ids=[c[0] for c in JSON_CASES]
)
def test_malformed_criteria_input_is_refused(
    tmp_path: Path, defect: str, content: bytes | str, fragment: str
) -> None:
    path = _write(tmp_path, f"{defect}.json", content)
    code, out = _run("criteria", "hscore", "--input", str(path))
    assert code == 1, out
    assert out.startswith("error: ") and fragment in out
    assert len(out) < 2000  # excerpts, never a whole value


META_HEADER = "study,events,total\n"
META_CASES: list[tuple[str, bytes | str, str]] = [
    ("empty", "", "required column missing"),
    ("header_only", META_HEADER, "no data rows"),
    ("missing_column", "study,events\nA,1\n", "required column missing"),
    ("not_whole", META_HEADER + "A,1.5,10\n", "not a whole number"),
    ("text_count", META_HEADER + "A,one,10\n", "not a whole number"),
    ("negative_events", META_HEADER + "A,-1,10\n", "must be >= 0"),
    ("zero_total", META_HEADER + "A,0,0\n", "must be > 0"),
    ("events_over_total", META_HEADER + "A,11,10\n", "exceeds total"),
    ("total_1e300", META_HEADER + "A,1,1e300\nB,2,10\n", "larger than 1,000,000,000"),
    ("events_inf", META_HEADER + "A,inf,10\n", "not a whole number"),
    ("events_nan", META_HEADER + "A,nan,10\n", "not a whole number"),
    ("duplicate_study", META_HEADER + "A,1,10\nA,2,10\n", "duplicate study label"),
    ("blank_label", META_HEADER + ",1,10\n", "empty study label"),
    ("extra_cells", META_HEADER + "A,1,10,9\n", "more values than columns"),
    ("latin1", (META_HEADER + "M\xfcller,1,10\n").encode("latin-1"), "not UTF-8"),
    ("utf16", (META_HEADER + "A,1,10\n").encode("utf-16"), "not UTF-8"),
    ("binary", bytes(range(256)), "not UTF-8"),
    ("markup_label", META_HEADER + "[/x],1,10\n[/x],2,10\n", 'value "[/x]"'),
    ("huge_value", META_HEADER + "A," + "9" * 5000 + ",10\n", "characters)"),
    ("glmm_all_zero", META_HEADER + "A,0,10\nB,0,12\n", "no study has an event"),
    ("glmm_all_events", META_HEADER + "A,10,10\nB,12,12\n", "every participant had the event"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("defect", "content", "fragment"), META_CASES, ids=[c[0] for c in META_CASES]
)
def test_malformed_meta_analysis_csv_is_refused(
    tmp_path: Path, defect: str, content: bytes | str, fragment: str
) -> None:
    path = _write(tmp_path, f"{defect}.csv", content)
    extra = ["-m", "GLMM"] if defect.startswith("glmm") else []
    code, out = _run("evidence", "meta", str(path), *extra)
    assert code == 1, out
    assert out.startswith("error: ") and fragment in out, out


RECORD_CASES: list[tuple[str, str, bytes | str, str]] = [
    ("nbib_empty", "nbib", "", "no"),
    ("nbib_no_pmid", "nbib", "TI  - A title\nAU  - Doe J\n", "PMID"),
    ("nbib_bad_pmid", "nbib", "PMID- abc\nTI  - A title\n", "PMID"),
    ("nbib_latin1", "nbib", "PMID- 1\nTI  - caf\xe9\n".encode("latin-1"), "cannot be read"),
    ("nbib_utf16", "nbib", "PMID- 1\nTI  - x\n".encode("utf-16"), ""),
    ("nbib_binary", "nbib", bytes(range(1, 256)), ""),
    ("nbib_garbage", "nbib", "hello world\nthis is not medline\n", ""),
    ("nbib_continuation_first", "nbib", "      orphan continuation\nPMID- 1\n", ""),
    ("nbib_markup", "nbib", "PMID- [/x]\nTI  - [bold]\n", ""),
    ("nbib_huge_line", "nbib", "PMID- 1\nTI  - " + "x" * 200_000 + "\n", ""),
    ("nbib_no_title", "nbib", "PMID- 1\nAU  - Doe J\n", ""),
    ("ris_empty", "ris", "", "no RIS records"),
    ("ris_no_title", "ris", "TY  - JOUR\nAU  - Doe, J\nER  - \n", "without a title"),
    ("ris_no_end", "ris", "TY  - JOUR\nTI  - x\n", ""),
    ("ris_no_type", "ris", "TI  - x\nER  - \n", ""),
    ("ris_latin1", "ris", "TY  - JOUR\nTI  - caf\xe9\n".encode("latin-1"), "cannot be read"),
    ("ris_utf16", "ris", "TY  - JOUR\nTI  - x\nER  - \n".encode("utf-16"), ""),
    ("ris_binary", "ris", bytes(range(1, 256)), ""),
    ("ris_garbage", "ris", "not ris at all\n", ""),
    ("ris_markup", "ris", "TY  - JOUR\nTI  - [/x]\nER  - \n", ""),
    ("ris_bad_year", "ris", "TY  - JOUR\nTI  - x\nPY  - yesterday\nER  - \n", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("defect", "ext", "content", "fragment"), RECORD_CASES, ids=[c[0] for c in RECORD_CASES]
)
def test_malformed_records_never_end_in_a_traceback(
    tmp_path: Path, defect: str, ext: str, content: bytes | str, fragment: str
) -> None:
    from ruxtrack.errors import ImportValidationError
    from ruxtrack.evidence import read_nbib, read_ris

    path = _write(tmp_path, f"{defect}.{ext}", content)
    reader = read_nbib if ext == "nbib" else read_ris
    try:
        reader(path)
    except ImportValidationError as exc:
        assert fragment in str(exc)
        assert all(p.value is None or len(p.value) < 120 for p in exc.problems)
    else:
        assert fragment == "", f"{defect} was accepted"
