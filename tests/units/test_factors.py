"""Every accepted unit of every quantity converts with the expected factor.

Two independent checks per unit: ucumvert's own computation (a fresh registry, within 1e-9
relative) and the factor printed in shared/reference/labs.md §1 (transcribed below, within its
printed precision). The table also pins the allow-list: a unit added to or dropped from the
catalogue without updating labs.md fails here.
"""

from __future__ import annotations

import math

import pytest
from ucumvert import PintUcumRegistry

from ruxtrack.units import conversion, convert, load_catalogue, normalize

# (code, accepted UCUM unit) -> (factor printed in labs.md §1, relative precision of the print,
# offset). Units written with "(=)" in labs.md have factor 1.
LABS_MD: dict[tuple[str, str], tuple[float, float, float]] = {
    ("ferritin", "ug/L"): (1, 0, 0),
    ("ferritin", "ng/mL"): (1, 0, 0),
    ("ferritin", "mg/L"): (1000, 0, 0),
    ("ddimer_feu", "mg/L"): (1, 0, 0),
    ("ddimer_feu", "ug/mL"): (1, 0, 0),
    ("ddimer_feu", "ng/mL"): (0.001, 0, 0),
    ("ddimer_feu", "ug/L"): (0.001, 0, 0),
    ("ddimer_ddu", "ug/L"): (1, 0, 0),
    ("ddimer_ddu", "ng/mL"): (1, 0, 0),
    ("ddimer_ddu", "ug/mL"): (1000, 0, 0),
    ("ddimer_ddu", "mg/L"): (1000, 0, 0),
    ("ddimer_unspecified", "ug/L"): (1, 0, 0),
    ("ddimer_unspecified", "ng/mL"): (1, 0, 0),
    ("ddimer_unspecified", "ug/mL"): (1000, 0, 0),
    ("ddimer_unspecified", "mg/L"): (1000, 0, 0),
    ("ddimer_unspecified", "U/L"): (1, 0, 0),  # §2.2: a mislabel of ug/L
    ("crp", "mg/L"): (1, 0, 0),
    ("crp", "mg/dL"): (10, 0, 0),
    ("crp", "ug/mL"): (1, 0, 0),
    ("crp", "g/L"): (1000, 0, 0),
    ("crp_hs", "mg/L"): (1, 0, 0),
    ("crp_hs", "mg/dL"): (10, 0, 0),
    ("crp_hs", "ug/mL"): (1, 0, 0),
    ("crp_hs", "g/L"): (1000, 0, 0),
    ("il6", "pg/mL"): (1, 0, 0),
    ("il6", "ng/L"): (1, 0, 0),
    ("il6", "ng/mL"): (1000, 0, 0),
    ("kl6", "[arb'U]/mL"): (1, 0, 0),
    ("kl6", "U/mL"): (1, 0, 0),
    ("spd", "ng/mL"): (1, 0, 0),
    ("spd", "ug/L"): (1, 0, 0),
    ("sil2r_units", "[arb'U]/mL"): (1, 0, 0),
    ("sil2r_units", "U/mL"): (1, 0, 0),
    ("sil2r_mass", "pg/mL"): (1, 0, 0),
    ("sil2r_mass", "ng/L"): (1, 0, 0),
    ("sil2r_mass", "ng/mL"): (1000, 0, 0),
    ("pct", "ng/mL"): (1, 0, 0),
    ("pct", "ug/L"): (1, 0, 0),
    ("pct", "pg/mL"): (0.001, 0, 0),
    ("anc_pct", "%"): (1, 0, 0),
    ("lymph_pct", "%"): (1, 0, 0),
    ("hb", "g/dL"): (10, 0, 0),
    ("hb", "g/L"): (1, 0, 0),
    ("hb", "mg/mL"): (1, 0, 0),
    ("hb", "mmol/L"): (16.114, 1e-4, 0),  # monomer, printed ×16.114
    ("creat", "mg/dL"): (88.4, 1e-3, 0),
    ("creat", "umol/L"): (1, 0, 0),
    ("creat", "mmol/L"): (1000, 0, 0),
    ("bili_total", "mg/dL"): (17.1, 1e-3, 0),
    ("bili_total", "umol/L"): (1, 0, 0),
    ("tg", "mg/dL"): (0.01129, 1e-3, 0),
    ("tg", "mmol/L"): (1, 0, 0),
    ("tg", "g/L"): (1.129, 1e-3, 0),
    ("fibrinogen", "mg/dL"): (0.01, 0, 0),
    ("fibrinogen", "g/L"): (1, 0, 0),
    ("fibrinogen", "mg/mL"): (1, 0, 0),
    ("haptoglobin", "mg/dL"): (0.01, 0, 0),
    ("haptoglobin", "g/L"): (1, 0, 0),
    ("spo2", "%"): (1, 0, 0),
    ("spo2", "1"): (100, 0, 0),
    ("fio2", "%"): (1, 0, 0),
    ("fio2", "1"): (100, 0, 0),
    ("pao2", "mm[Hg]"): (1, 0, 0),
    ("pao2", "kPa"): (7.50062, 1e-6, 0),
    ("rr", "/min"): (1, 0, 0),
    ("rr", "{breaths}/min"): (1, 0, 0),
    ("temp", "Cel"): (1, 0, 0),
    ("temp", "[degF]"): (5 / 9, 0, -32 * 5 / 9),
    ("temp", "K"): (1, 0, -273.15),
    ("weight", "kg"): (1, 0, 0),
    ("weight", "[lb_av]"): (0.45359237, 0, 0),
    ("weight", "g"): (0.001, 0, 0),
    ("height", "cm"): (1, 0, 0),
    ("height", "[in_i]"): (2.54, 0, 0),
    ("height", "m"): (100, 0, 0),
    # mean arterial pressure and the ratios are not in labs.md's table; their units follow
    # §1d (mm[Hg], kPa ×7.50062) and the seed note (ratios are dimensionless).
    ("map", "mm[Hg]"): (1, 0, 0),
    ("map", "kPa"): (7.50062, 1e-6, 0),
    ("sf_ratio", "1"): (1, 0, 0),
    ("sf_ratio", "mm[Hg]"): (1, 0, 0),
    ("pf_ratio", "1"): (1, 0, 0),
    ("pf_ratio", "mm[Hg]"): (1, 0, 0),
    ("pf_ratio", "kPa"): (7.50062, 1e-6, 0),
}
for _code in ("ldh", "ast", "alt"):
    LABS_MD[(_code, "U/L")] = (1, 0, 0)
    LABS_MD[(_code, "[IU]/L")] = (1, 0, 0)
    LABS_MD[(_code, "ukat/L")] = (60, 0, 0)
for _code in ("wbc", "anc", "lymph", "plt"):
    for _unit in ("10*9/L", "10*3/uL", "10*3/mm3", "10*6/mL"):
        LABS_MD[(_code, _unit)] = (1, 0, 0)
    LABS_MD[(_code, "/uL")] = (0.001, 0, 0)
    LABS_MD[(_code, "/mm3")] = (0.001, 0, 0)

CATALOGUE = load_catalogue()
PAIRS = [(e.code, u.unit) for e in CATALOGUE for u in e.units]
COMPUTED = [(e.code, u.unit) for e in CATALOGUE for u in e.units if not u.convention]


@pytest.fixture(scope="module")
def ucum() -> PintUcumRegistry:
    return PintUcumRegistry()


def test_allow_lists_match_labs_md_exactly() -> None:
    assert sorted(PAIRS) == sorted(LABS_MD)


@pytest.mark.parametrize(("code", "unit"), PAIRS)
def test_factor_matches_labs_md(code: str, unit: str) -> None:
    factor, precision, offset = LABS_MD[(code, unit)]
    conv = conversion(code, unit)
    assert conv.factor == pytest.approx(factor, rel=max(precision, 1e-12))
    assert conv.offset == pytest.approx(offset, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("code", "unit"), COMPUTED)
def test_factor_matches_ucumvert_within_1e_9(code: str, unit: str, ucum: PintUcumRegistry) -> None:
    entry = CATALOGUE.get(code)
    accepted = entry.accepted(unit)
    assert accepted is not None
    target = accepted.compute_to or entry.canonical_unit
    src, dst = ucum.from_ucum(unit), ucum.from_ucum(target)
    kwargs = {}
    contexts: tuple[str, ...] = ()
    if accepted.molar_mass is not None:
        contexts = ("chemistry",)
        kwargs["mw"] = accepted.molar_mass * ucum.from_ucum("g/mol")
    reg = src._REGISTRY

    def expected(x: float) -> float:
        q = reg.Quantity(x * src.magnitude, src.units).to(dst.units, *contexts, **kwargs)
        return float(q.magnitude / dst.magnitude)

    conv = conversion(code, unit)
    for x in (0.0, 1.0, 37.5, 1234.5):
        assert conv.apply(x) == pytest.approx(expected(x), rel=1e-9, abs=1e-9)


def test_convention_units_are_ones_ucum_cannot_compute(ucum: PintUcumRegistry) -> None:
    # [IU] and [arb'U] are plain counts to ucumvert, U is µmol/min: none of these identities
    # can come from UCUM, which is why the catalogue marks them as conventions (labs.md §3).
    conventions = {(e.code, u.unit) for e in CATALOGUE for u in e.units if u.convention}
    assert ("ldh", "[IU]/L") in conventions
    assert ("kl6", "U/mL") in conventions
    assert ("ddimer_unspecified", "U/L") in conventions
    iu = ucum.from_ucum("[IU]/L")
    assert iu.dimensionality != ucum.from_ucum("U/L").dimensionality
    kl6 = ucum.from_ucum("U/mL")
    assert kl6.dimensionality != ucum.from_ucum("[arb'U]/mL").dimensionality


def test_crp_mg_dl_and_mg_l_convert_both_ways() -> None:
    assert normalize("crp", 5, "mg/dL").value == 50
    assert convert("crp", 50, "mg/L", "mg/dL") == 5


def test_platelets_per_ul_thousands_per_ul_and_per_litre_agree() -> None:
    assert normalize("plt", 184000, "/uL").value == pytest.approx(184)
    assert normalize("plt", 184, "10*3/uL").value == 184
    assert normalize("plt", 184, "10*9/L").value == 184
    assert convert("plt", 184, "10*9/L", "/uL") == pytest.approx(184000)
    assert convert("plt", 184, "10*3/uL", "10*9/L") == 184


def test_triglycerides_mmol_l_and_mg_dl_use_triolein_molar_mass() -> None:
    # 885.7 g/mol: 100 mg/dL = 1000 mg/L / 885.7 g/mol = 1.12905 mmol/L
    assert normalize("tg", 100, "mg/dL").value == pytest.approx(1000 / 885.7, rel=1e-12)
    assert normalize("tg", 5180, "mg/dL").value == pytest.approx(58.4848, rel=1e-5)  # Tomomasa
    assert convert("tg", 3.0, "mmol/L", "mg/dL") == pytest.approx(265.71, rel=1e-4)  # HLH-2004


def test_haemoglobin_g_dl_g_l_and_monomer_mmol_l() -> None:
    assert normalize("hb", 12, "g/dL").value == 120
    assert normalize("hb", 120, "g/L").value == 120
    # monomer basis: g/dL × 0.6206 = mmol/L (IQTIG), i.e. 12 g/dL = 7.4467 mmol/L
    assert convert("hb", 12, "g/dL", "mmol/L") == pytest.approx(12 * 0.6206, rel=1e-4)
    assert normalize("hb", 7.4467, "mmol/L").value == pytest.approx(120, rel=1e-4)


def test_creatinine_mg_dl_and_umol_l() -> None:
    assert normalize("creat", 1, "mg/dL").value == pytest.approx(88.4017, rel=1e-6)
    assert convert("creat", 88.4, "umol/L", "mg/dL") == pytest.approx(1.0, rel=1e-4)
    assert normalize("creat", 0.0884, "mmol/L").value == pytest.approx(88.4)


def test_bilirubin_umol_l_displays_in_mg_dl() -> None:
    assert convert("bili_total", 17.104, "umol/L", "mg/dL") == pytest.approx(1.0, rel=1e-4)


def test_temperature_uses_an_offset_not_a_factor() -> None:
    assert normalize("temp", 101.3, "[degF]").value == pytest.approx(38.5)
    assert normalize("temp", 311.65, "K").value == pytest.approx(38.5)
    assert convert("temp", 38.5, "Cel", "[degF]") == pytest.approx(101.3)


def test_enzymes_in_microkatal_per_litre_are_times_60() -> None:
    assert normalize("ldh", 4, "ukat/L").value == pytest.approx(240)
    assert normalize("alt", 1, "µkat/L").value == pytest.approx(60)


def test_feu_and_ddu_quantities_are_never_converted_into_each_other() -> None:
    from ruxtrack.errors import UnitError

    with pytest.raises(UnitError, match="never converted"):
        convert("ddimer_feu", 0.5, "mg/L", "ng/mL DDU")
    with pytest.raises(UnitError, match="never converted"):
        normalize("ddimer_feu", 250, "ng/mL{DDU}")
    # within one basis, units do convert
    assert convert("ddimer_feu", 0.5, "mg/L", "ng/mL") == pytest.approx(500)
    assert math.isclose(normalize("ddimer_ddu", 0.25, "ug/mL DDU").value, 250)
