"""Every way a value or unit is refused, with the message a clinician reads."""

from __future__ import annotations

import pytest

from ruxtrack.errors import ImplausibleValueError, RuxtrackError, UnitError
from ruxtrack.units import UnknownLabCodeError, conversion, convert, normalize


def _message(code: str, value: float, unit: str | None) -> str:
    with pytest.raises(RuxtrackError) as info:
        normalize(code, value, unit)
    return str(info.value)


def test_platelets_184_per_ul_names_thousands_per_ul() -> None:
    with pytest.raises(ImplausibleValueError) as info:
        normalize("plt", 184, "/uL")
    assert str(info.value) == (
        'plt: unit "/uL": 184 /uL is 0.184 ×10⁹/L, below the plausible range 1–2000 ×10⁹/L '
        "for values given in /uL (a range chosen to catch unit errors); did you mean "
        "184 10*3/uL (= 184 ×10⁹/L)?"
    )
    assert info.value.probable_unit == "10*3/uL"


def test_platelet_count_of_zero_per_ul_is_accepted() -> None:
    assert normalize("plt", 0, "/uL").value == 0


def test_crp_120_mg_dl_is_implausible_and_suggests_mg_l() -> None:
    with pytest.raises(ImplausibleValueError) as info:
        normalize("crp", 120, "mg/dL")
    assert "120 mg/dL is 1200 mg/L, above the plausible range 0–800 mg/L" in str(info.value)
    assert str(info.value).endswith("did you mean 120 mg/L?")
    assert info.value.probable_unit == "mg/L"


def test_wbc_labelled_cells_per_ul_but_in_thousands_is_rejected() -> None:
    # Sarmiento 2021 Table 1 prints "cells/µL 8" for a WBC of 8 ×10³/µL (labs.md §2.4)
    with pytest.raises(ImplausibleValueError) as info:
        normalize("wbc", 8, "cells/µL")
    assert "8 cells/µL is 0.008 ×10⁹/L, below the plausible range 0.05–1000" in str(info.value)
    assert info.value.probable_unit == "10*3/uL"


def test_haemoglobin_in_g_l_that_looks_like_g_dl_or_mmol_l_names_both() -> None:
    msg = _message("hb", 7.4, "g/L")
    assert msg.endswith("did you mean 7.4 g/dL (= 74 g/L) or 7.4 mmol/L (= 119.247 g/L)?")


def test_haemoglobin_tetramer_mmol_l_slip_is_rejected() -> None:
    # 12 g/dL is 1.86 mmol/L on the tetramer basis; read as monomer it is 30 g/L: plausible,
    # but 0.5 mmol/L (a tetramer value of 3.2 g/dL) is 8 g/L: below 10 g/L.
    msg = _message("hb", 0.5, "mmol/L")
    assert "0.5 mmol/L is 8.05725 g/L, below the plausible range 10–250 g/L" in msg


def test_ferritin_typo_mg_l_suggests_ug_l() -> None:
    msg = _message("ferritin", 17509, "mg/L")
    assert "17509 mg/L is 17509000 µg/L, above the plausible range 0–500000 µg/L" in msg
    assert msg.endswith("did you mean 17509 ug/L?")


def test_value_with_no_plausible_alternative_says_check_the_value() -> None:
    msg = _message("temp", 60, "Cel")
    assert "60 Cel, above the plausible range 25–45 °C" in msg
    assert (
        "check the value and its unit (accepted units for Body temperature: Cel, [degF], K)" in msg
    )


def test_negative_value_is_implausible() -> None:
    assert "below the plausible range 0–800 mg/L" in _message("crp", -1, "mg/L")


def test_non_finite_value_is_refused() -> None:
    assert (
        _message("crp", float("nan"), "mg/L")
        == 'crp: unit "mg/L": value nan is not a finite number'
    )


def test_unknown_unit() -> None:
    assert _message("crp", 5, "furlong") == (
        'crp: unit "furlong": value 5: unknown unit: neither valid UCUM nor a known local '
        "spelling; accepted units for C-reactive protein: mg/L, mg/dL, ug/mL, g/L"
    )


def test_valid_ucum_of_the_right_kind_but_not_allow_listed() -> None:
    assert _message("crp", 5, "ng/dL") == (
        'crp: unit "ng/dL": value 5: valid UCUM of the right kind, but not on the allow-list '
        "for C-reactive protein (the catalogue converts only listed units); accepted units for "
        "C-reactive protein: mg/L, mg/dL, ug/mL, g/L"
    )


def test_unit_of_another_kind() -> None:
    msg = _message("crp", 5, "mmol/L")
    assert (
        "not a unit of C-reactive protein: mmol/L has dimension [substance] / [length] ** 3" in msg
    )


def test_k_alone_is_kelvin_not_thousands_for_platelets() -> None:
    assert "K has dimension [temperature]" in _message("plt", 184, "K")


def test_ambiguous_spelling_is_refused() -> None:
    assert _message("rr", 20, "bpm") == (
        'rr: unit "bpm": value 20: ambiguous unit: "bpm" is used for beats and for breaths per '
        "minute; write /min for a respiratory rate; accepted units for Respiratory rate: /min, "
        "{breaths}/min"
    )
    assert "a power of ten without a volume" in _message("plt", 184, "x10^3")


def test_missing_unit_is_refused_where_the_quantity_needs_one() -> None:
    assert _message("crp", 5, None) == (
        "crp: unit (none): value 5: a unit is required for C-reactive protein; accepted units "
        "for C-reactive protein: mg/L, mg/dL, ug/mL, g/L"
    )
    assert _message("crp", 5, "  ").startswith("crp: unit (none): value 5: a unit is required")


def test_feu_given_where_ddu_is_expected() -> None:
    assert _message("ddimer_ddu", 0.8, "mg/L FEU") == (
        'ddimer_ddu: unit "mg/L FEU": value 0.8: the value is reported in fibrinogen-equivalent '
        "units (FEU), but ddimer_ddu holds D-dimer units (DDU); FEU and DDU are never converted "
        "into each other (no fixed factor across assays, labs.md §2.2). Record it as ddimer_feu."
    )


def test_ddu_given_where_feu_is_expected_in_every_annotation_style() -> None:
    for unit in ("ng/mL DDU", "ng/mL{DDU}", "ng/mL (DDU)", "ng/mL ddu", "ug{DDU}/L"):
        msg = _message("ddimer_feu", 250, unit)
        assert "reported in D-dimer units (DDU), but ddimer_feu holds fibrinogen-equivalent" in msg
        assert msg.endswith("Record it as ddimer_feu.") is False
        assert msg.endswith("Record it as ddimer_ddu.")


def test_stated_basis_on_an_unspecified_d_dimer_points_to_the_right_code() -> None:
    msg = _message("ddimer_unspecified", 0.8, "ug/mL{FEU}")
    assert "but ddimer_unspecified holds D-dimer with no stated basis" in msg
    assert msg.endswith("Record it as ddimer_feu.")


def test_loinc_code_and_printed_basis_that_disagree_are_rejected() -> None:
    # public demo data pair 48066-5 (DDU) with "mg/L FEU" (labs.md §2.2, [FS-DDU])
    msg = _message("48066-5", 0.5, "mg/L FEU")
    assert msg.startswith('ddimer_ddu (given as 48066-5): unit "mg/L FEU"')
    assert "Record it as ddimer_feu." in msg


def test_feu_and_ddu_together_are_ambiguous() -> None:
    assert "ambiguous unit: it names both FEU and DDU" in _message("ddimer_feu", 1, "mg/L FEU DDU")


def test_basis_annotation_on_a_non_d_dimer_quantity() -> None:
    assert _message("crp", 1, "mg/L{FEU}") == (
        'crp: unit "mg/L{FEU}": value 1: the FEU annotation applies only to D-dimer; '
        "C-reactive protein has no FEU/DDU basis"
    )


def test_d_dimer_u_per_l_without_basis_goes_to_unspecified() -> None:
    msg = _message("ddimer_feu", 1089, "U/L")
    assert "'U/L' states no FEU/DDU basis" in msg
    assert "Record it as ddimer_unspecified." in msg
    n = normalize("ddimer_unspecified", 1089, "U/L")
    assert n.value == 1089 and n.unit == "ug/L"
    assert n.flags == (
        "D-dimer reported in 'U/L': not an enzyme unit; read as µg/L with no FEU/DDU basis "
        "(labs.md §2.2)",
    )


def test_d_dimer_mg_per_ml_typo_is_refused() -> None:
    assert "published typo for mg/L" in _message("ddimer_feu", 0.5, "mg/mL FEU")


def test_conversion_between_arbitrary_units_is_refused() -> None:
    msg = _message("kl6", 500, "U/L")
    assert "conversion between arbitrary units (or to any other unit) is not defined" in msg
    assert msg.endswith(
        "accepted units for KL-6 (Krebs von den Lungen-6, MUC1 glycoprotein): [arb'U]/mL, U/mL"
    )
    assert "not defined" in _message("kl6", 500, "[arb'U]/L")


def test_sil2r_units_and_mass_are_kept_apart() -> None:
    assert "Record it as sil2r_mass." in _message("sil2r_units", 800, "pg/mL")
    assert "Record it as sil2r_units." in _message("sil2r_mass", 2400, "U/mL")


def test_percent_differential_is_never_stored_as_an_absolute_count() -> None:
    msg = _message("anc", 45, "%")
    assert "a neutrophil percentage is not an absolute count; derive anc = wbc × % / 100" in msg
    assert "Record it as anc_pct." in msg
    assert "Record it as lymph_pct." in _message("lymph", 20, "%")


def test_fio2_fraction_is_read_as_percent() -> None:
    assert normalize("fio2", 0.4, "1").value == 40
    n = normalize("fio2", 0.4, None)
    assert n.value == 40 and n.flags[0].startswith("FiO2 given without a unit and ≤ 1")
    assert normalize("fio2", 1.0, None).value == 100
    assert normalize("fio2", 40, None).value == 40


def test_fio2_between_1_and_21_is_refused_as_a_possible_flow() -> None:
    expected = (
        "lies between 1 and 21: neither a fraction nor a percentage of inspired O2; it may be "
        "an oxygen flow in L/min (LOINC 3151-8), which is not FiO2"
    )
    assert _message("fio2", 15, None) == f"fio2: unit (none): value 15 (no unit) {expected}"
    assert _message("fio2", 4, "%") == f'fio2: unit "%": value 4 % {expected}'


def test_fio2_fraction_labelled_percent_suggests_the_fraction() -> None:
    assert _message("fio2", 0.4, "%").endswith(
        "did you mean 0.4 (a fraction, UCUM unit 1) (= 40 %)?"
    )


def test_oxygen_flow_unit_is_not_fio2() -> None:
    assert "an oxygen flow (LOINC 3151-8" in _message("fio2", 4, "L/min")


def test_coulomb_and_farad_are_not_temperatures() -> None:
    assert "'C' is the coulomb in UCUM" in _message("temp", 38, "C")
    assert "'F' is the farad in UCUM" in _message("temp", 100, "F")


def test_published_per_ml_typo_for_platelets() -> None:
    assert "published typo for /uL" in _message("plt", 100, "x10^3/mL")


def test_unknown_code_names_close_matches() -> None:
    with pytest.raises(UnknownLabCodeError) as info:
        normalize("platelets", 100, "10*9/L")
    assert str(info.value) == (
        '"platelets" is neither a lab catalogue code nor a LOINC code in the catalogue; '
        "did you mean plt?"
    )  # close matches come from codes and the quantities' names (issue 11)
    with pytest.raises(UnknownLabCodeError, match="did you mean ferritin"):
        normalize("feritin", 100, "ug/L")


def test_conversion_without_unit_depends_on_value_for_fio2() -> None:
    with pytest.raises(UnitError, match="read by value"):
        conversion("fio2", None)


def test_convert_refuses_a_unit_not_accepted_for_the_quantity() -> None:
    with pytest.raises(UnitError, match="not a unit of Platelets"):
        convert("plt", 184, "10*9/L", "g/L")


def test_letter_case_variants_resolve_when_unambiguous() -> None:
    assert normalize("creat", 1, "MG/DL").unit == "umol/L"
    assert normalize("hb", 120, "g/l").value == 120
    assert normalize("ldh", 240, "U/l").value == 240  # UCUM's l and L are the same litre
    assert normalize("creat", 80, "µmol/l").value == 80
    assert normalize("plt", 184, "G/L").value == 184  # giga per litre (local spelling)


def test_grams_per_litre_is_never_read_as_giga_per_litre() -> None:
    # UCUM is case-sensitive: g/L is grams, G/L (a local spelling) is 10*9/L
    for unit in ("g/L", "g/l"):
        assert "not a unit of Platelets: g/L has dimension [mass]" in _message("plt", 184, unit)
