"""Input validation, effect sizes, record import and deduplication."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ruxtrack.errors import ImportValidationError
from ruxtrack.evidence import (
    ProportionData,
    deduplicate,
    effect_sizes,
    inverse_ft,
    read_nbib,
    read_proportions,
    read_records,
)

DATA = Path(__file__).parent / "data"


def test_bad_counts_name_file_row_field_and_reason() -> None:
    with pytest.raises(ImportValidationError) as info:
        read_proportions(DATA / "bad_counts.csv")
    text = [str(p) for p in info.value.problems]
    assert any("row 2, field `events`" in t and "exceeds total (10)" in t for t in text)
    assert any("row 3, field `events`" in t and "must be >= 0" in t for t in text)
    assert any("row 4, field `events`" in t and "not a whole number" in t for t in text)
    assert all("bad_counts.csv" in t for t in text)


def test_missing_total_column_is_reported() -> None:
    with pytest.raises(ImportValidationError, match="field `total`: required column missing"):
        read_proportions(DATA / "missing_total.csv")


def test_missing_subgroup_column_is_reported() -> None:
    with pytest.raises(ImportValidationError, match="field `ethnicity`"):
        read_proportions(DATA / "grouped.csv", by="ethnicity")


def test_zero_and_all_events_get_half_added_for_logit_not_ft() -> None:
    ev, n = np.array([0.0, 3.0, 10.0]), np.array([10.0, 10.0, 10.0])
    logit = effect_sizes(ev, n, "logit")
    assert logit.corrected.tolist() == [True, False, True]
    # metafor escalc("PLO", xi=c(0,3,10), ni=10): yi -3.0445, -0.8473, 3.0445; vi 2.0952
    np.testing.assert_allclose(logit.yi, [-3.0445, -0.8473, 3.0445], atol=1e-4)
    np.testing.assert_allclose(logit.vi[0], 2.0952, atol=1e-4)
    ft = effect_sizes(ev, n, "ft")
    assert not ft.corrected.any()
    np.testing.assert_allclose(ft.yi, [0.1531, 0.5984, 1.4177], atol=1e-4)


@given(st.integers(1, 500), st.data())
def test_freeman_tukey_inverse_recovers_the_proportion(n: int, data: st.DataObject) -> None:
    x = data.draw(st.integers(0, n))
    y = float(effect_sizes(np.array([float(x)]), np.array([float(n)]), "ft").yi[0])
    assert inverse_ft(y, float(n)) == pytest.approx(x / n, abs=1e-9)


def test_duplicate_study_labels_are_rejected() -> None:
    with pytest.raises(ImportValidationError, match="duplicate study label"):
        ProportionData(("a", "a"), (1, 2), (10, 10))


def test_nbib_parser_reads_continuations_doi_and_year() -> None:
    recs = read_nbib(DATA / "pubmed.nbib")
    assert [r.pmid for r in recs] == ["90000001", "90000002"]
    assert recs[0].title.endswith("pediatric stem cell transplant recipients.")
    assert recs[0].doi == "10.9999/fixture.0001"
    assert recs[0].year == 2006
    assert recs[0].abstract == "Fixture abstract, first line and its continuation."
    assert recs[1].doi == "10.9999/fixture.0002"


def test_malformed_nbib_names_line_and_missing_pmid() -> None:
    with pytest.raises(ImportValidationError) as info:
        read_nbib(DATA / "malformed.nbib")
    text = [str(p) for p in info.value.problems]
    assert any("row 3" in t and "not a MEDLINE" in t for t in text)
    assert any("field `PMID`" in t and "without a PMID" in t for t in text)


def test_unknown_export_format_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "export.bib"
    f.write_text("@article{x}")
    with pytest.raises(ImportValidationError, match="unknown export format"):
        read_records(f)


def test_deduplication_by_doi_pmid_and_title() -> None:
    recs = [
        *read_records(DATA / "pubmed.nbib"),
        *read_records(DATA / "embase.ris"),
        *read_records(DATA / "extra.csv"),
    ]
    dedup = deduplicate(recs)
    keys = sorted((d.key, d.duplicate_of) for d in dedup.duplicates)
    # RIS Keates-Baleeiro shares the DOI (case and resolver prefix differ); the RIS Sakaguchi
    # title differs only in punctuation; the CSV Sano shares the PMID with the RIS record.
    assert keys == [("doi", "pmid:90000001"), ("pmid", "pmid:90000003"), ("title", "pmid:90000002")]
    assert len(dedup.unique) == len(recs) - 3


def test_same_title_different_years_are_kept_apart() -> None:
    from ruxtrack.evidence import Record

    a = Record(record_id="a", database="x", source_file="f", source_row=1, title="IPS", year=2001)
    b = Record(record_id="b", database="x", source_file="f", source_row=2, title="IPS.", year=2002)
    assert len(deduplicate([a, b]).unique) == 2
