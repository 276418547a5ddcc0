"""No FHIR input ends in a traceback: random edits of a valid Bundle and random bytes give a
SourceResult (timelines, or located problems), never an exception."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fhir_helpers import COVID_DAY3, load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.sources import SourceResult
from ruxtrack.sources.fhir import read_fhir, timelines_from_fhir

_FULL = load(COVID_DAY3)
#: a small Bundle (patient, a lab, an order, an administration, a condition) keeps each
#: example fast enough for 1000 of them
BASE = {
    **_FULL,
    "entry": [
        e for e in _FULL["entry"]
        if e["resource"]["id"] in ("covid-day3", "plt-d3", "rux-order", "rux-d1-am", "covid19")
    ],
}  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["Patient/covid-day3", "2021-03-03", "2021-03-03T06:00:00Z", "mg", "BID",
                     "http://loinc.org", "777-3", "final", "10*9/L", "", "Observation"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)[1:]


@st.composite
def edited_bundles(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_bundles())
def test_edited_bundles_never_raise(doc: Any) -> None:
    result = timelines_from_fhir([doc], unmapped="problem")
    assert isinstance(result, SourceResult)
    assert bool(result.timelines) != bool(result.problems)
    for p in result.problems:
        assert p.reason


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_never_raise(tmp_path_factory: Any, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "input.json"
    path.write_bytes(raw)
    result = read_fhir(path)
    assert result.timelines == [] and result.problems


def test_the_unedited_base_imports() -> None:
    result = timelines_from_fhir([BASE], unmapped="problem")
    assert result.problems == [], [str(p) for p in result.problems]
    json.dumps(BASE)
