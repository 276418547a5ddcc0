"""The catalogue file: its codes, LOINC look-up, ranges, sources and validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import ruxtrack.units as units
from ruxtrack.errors import KnowledgeFileError
from ruxtrack.knowledge import VerificationStatus, knowledge_path
from ruxtrack.units import UnknownLabCodeError, convert, load_catalogue
from ruxtrack.units._ucum import clean_unit_text

LABS_MD_CODES = (
    "ferritin ddimer_feu ddimer_ddu ddimer_unspecified crp crp_hs ldh il6 kl6 spd sil2r_units "
    "sil2r_mass pct wbc anc anc_pct lymph lymph_pct hb plt creat bili_total ast alt tg fibrinogen "
    "haptoglobin spo2 fio2 pao2 rr temp weight height"
).split()

CAT = load_catalogue()
RANGES = [(e.code, i) for e in CAT for i in range(len(e.reference_ranges))]


def test_public_surface_is_what_other_modules_call() -> None:
    for name in (
        "normalize",
        "normalize_array",
        "conversion",
        "convert",
        "parse_quantity",
        "load_catalogue",
    ):
        assert name in units.__all__
    assert sorted(units.__all__) == sorted(set(units.__all__))
    for name in units.__all__:
        assert getattr(units, name) is not None


def test_every_labs_md_marker_has_an_entry_plus_the_derived_quantities() -> None:
    assert list(CAT.codes) == [*LABS_MD_CODES, "map", "sf_ratio", "pf_ratio"]


def test_catalogue_is_loaded_once_and_cached() -> None:
    assert load_catalogue() is load_catalogue()


def test_loinc_code_resolves_to_its_entry() -> None:
    assert CAT.get("777-3").code == "plt"
    assert CAT.get("48065-7").code == "ddimer_feu"
    assert CAT.get("48066-5").code == "ddimer_ddu"
    assert CAT.get("30240-6").code == "ddimer_unspecified"  # deprecated, read on import
    assert CAT.get("14682-9").code == "creat"
    assert "1988-5" in CAT and "crp" in CAT and "nonsense" not in CAT


def test_unknown_code_is_an_error_naming_close_matches() -> None:
    with pytest.raises(UnknownLabCodeError) as info:
        CAT.get("ferritn")
    assert info.value.close_matches == ("ferritin",)


def test_unconfirmed_loinc_codes_are_null_with_a_note() -> None:
    for code in ("kl6", "spd", "sil2r_units", "sf_ratio", "pf_ratio"):
        entry = CAT.get(code)
        assert entry.loinc == ()
        assert entry.loinc_note and "unconfirmed" in entry.loinc_note


def test_preferred_loinc_codes_follow_labs_md_stars() -> None:
    stars = {
        "ferritin": "2276-4",
        "ddimer_feu": "48065-7",
        "ddimer_ddu": "48066-5",
        "crp": "1988-5",
        "ldh": "2532-0",
        "il6": "26881-3",
        "pct": "33959-8",
        "wbc": "26464-8",
        "anc": "751-8",
        "lymph": "26474-7",
        "hb": "718-7",
        "plt": "777-3",
        "creat": "2160-0",
        "bili_total": "1975-2",
        "ast": "1920-8",
        "alt": "1742-6",
        "tg": "2571-8",
        "fibrinogen": "3255-7",
        "haptoglobin": "4542-7",
        "spo2": "59408-5",
        "fio2": "3150-0",
        "pao2": "2703-7",
        "rr": "9279-1",
        "temp": "8310-5",
        "weight": "29463-7",
        "height": "8302-2",
    }
    for code, loinc in stars.items():
        assert CAT.get(code).preferred_loinc == loinc, code


def test_non_convertible_quantities_accept_identity_only() -> None:
    for code in ("kl6", "sil2r_units"):
        entry = CAT.get(code)
        assert not entry.convertible
        assert entry.canonical_unit == "[arb'U]/mL"
        assert {u.factor for u in entry.units} == {1}


@pytest.mark.parametrize(("code", "index"), RANGES)
def test_reference_range_lies_inside_the_plausible_range(code: str, index: int) -> None:
    entry = CAT.get(code)
    ref = entry.reference_ranges[index]
    for bound in (ref.low, ref.high):
        if bound is None:
            continue
        canonical = convert(code, bound, ref.unit, entry.canonical_unit)
        assert entry.plausible.low <= canonical <= entry.plausible.high, (code, ref.text)


def test_seed_crp_range_is_kept_as_printed_with_a_flag() -> None:
    seed = [r for r in CAT.get("crp").reference_ranges if r.source.key == "SEED-S"]
    assert len(seed) == 1
    assert (seed[0].low, seed[0].high, seed[0].unit) == (0, 5, "mg/dL")
    assert seed[0].flag is not None and "10 times the usual upper limit" in seed[0].flag
    assert seed[0].source.quote == "C-reactive protein median/range, normal value 0–5 mg/dL"


def test_kl6_paediatric_upper_limit_is_250_for_age_0_to_16() -> None:
    paed = [r for r in CAT.get("kl6").reference_ranges if r.population == "paediatric"]
    assert [(r.high, r.age_min_years, r.age_max_years, r.source.key) for r in paed] == [
        (250, 0, 16, "IMAI02")
    ]


def test_plausible_ranges_are_marked_as_project_judgement_unless_sourced() -> None:
    for entry in CAT:
        status = entry.plausible.source.status
        assert status is VerificationStatus.project_judgement or entry.code == "pct", entry.code


def test_every_fact_cites_a_listed_source_with_a_status() -> None:
    data = yaml.safe_load(knowledge_path("labs.yaml").read_text(encoding="utf-8"))
    keys = set(data["sources"])
    labs_md_tags = {
        "SEED-S",
        "SEED-T",
        "NLM-FS",
        "EMR",
        "MIRACUM",
        "PACIO",
        "FS-DDU",
        "FS-IL6",
        "FS-ANC",
        "FS-OMOP",
        "FS-KL6",
        "FHIR-VS",
        "ARUP-DD",
        "MAYO-DD",
        "SJH-DD",
        "UMICH-DD",
        "DAVIS-DD",
        "ARUP-IL2R",
        "CMN-IL2R",
        "SCH-IL2R",
        "LC-PCT",
        "BOZ-PCT",
        "RICE-PCT",
        "DIASYS",
        "HLH2004",
        "JORDAN11",
        "JITC-HLH",
        "AAP-HLH",
        "IMAI02",
        "HISCL",
        "HORIMASU14",
        "SCHRAM15",
        "FAUTER22",
        "HB-CONV",
        "IQTIG",
        "PMC-HB",
    }
    assert labs_md_tags <= keys


def test_synonyms_are_written_in_the_cleaned_form_they_are_matched_in() -> None:
    for local in CAT.synonyms:
        assert clean_unit_text(local).text == local, local


def test_local_spellings_map_to_ucum() -> None:
    expected = {
        "K/uL": "10*3/uL",
        "x10E3/uL": "10*3/uL",
        "thou/uL": "10*3/uL",
        "G/L": "10*9/L",
        "cells/uL": "/uL",
        "mcg/mL": "ug/mL",
        "IU/L": "[IU]/L",
        "mmHg": "mm[Hg]",
        "degC": "Cel",
        "x10^9/L": "10*9/L",
        "10^9/L": "10*9/L",
        "10^3/uL": "10*3/uL",
    }
    for local, ucum in expected.items():
        assert CAT.synonyms[local] == ucum


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(knowledge_path("labs.yaml").read_text(encoding="utf-8"))
    assert callable(mutate)
    mutate(data)
    path = tmp_path / "labs.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_factor_type_names_file_entry_and_field(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][6]["units"][2]["factor"] = "sixty"

    path = _write(tmp_path, bad)
    with pytest.raises(KnowledgeFileError) as info:
        load_catalogue(path)
    assert str(info.value).startswith(f"{path}: entries[6] (ldh).units[2].factor: Input should be")


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][0]["plausible"]["hgih"] = 5

    with pytest.raises(KnowledgeFileError, match=r"entries\[0\] \(ferritin\)\.plausible\.hgih"):
        load_catalogue(_write(tmp_path, bad))


def test_source_key_missing_from_sources_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        del data["sources"]["IMAI02"]

    with pytest.raises(KnowledgeFileError, match=r"source keys used but not listed.*IMAI02"):
        load_catalogue(_write(tmp_path, bad))


def test_canonical_unit_must_be_accepted_with_factor_one(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][4]["canonical_unit"] = "mg/dL"

    with pytest.raises(KnowledgeFileError, match="canonical unit 'mg/dL' must be accepted"):
        load_catalogue(_write(tmp_path, bad))


def test_printed_factor_that_disagrees_with_ucum_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][4]["units"][1]["factor"] = 100  # crp mg/dL -> mg/L is 10, not 100

    cat = load_catalogue(_write(tmp_path, bad))
    with pytest.raises(
        KnowledgeFileError, match=r"printed factor 100\.0 .* disagrees with UCUM.s 10"
    ):
        units.normalize("crp", 5, "mg/dL", catalogue=cat)


def test_same_loinc_on_two_entries_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][1]["loinc"][0]["code"] = "2276-4"

    with pytest.raises(KnowledgeFileError, match="LOINC 2276-4 on both ferritin and ddimer_feu"):
        load_catalogue(_write(tmp_path, bad))


def test_non_convertible_entry_with_a_real_factor_is_refused(tmp_path: Path) -> None:
    def bad(data: dict) -> None:  # type: ignore[type-arg]
        data["entries"][8]["units"][1]["factor"] = 1000

    with pytest.raises(KnowledgeFileError, match="non-convertible quantity accepts only identity"):
        load_catalogue(_write(tmp_path, bad))


def test_missing_file_is_a_knowledge_file_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeFileError, match="cannot be read"):
        load_catalogue(tmp_path / "absent.yaml")
