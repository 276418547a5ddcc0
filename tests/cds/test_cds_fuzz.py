"""Malformed hook calls never crash the service: 400 with a reason (or 412/200), never 500."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from cds_helpers import DAY3, order_select, rux_draft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruxtrack.cds import CdsEngine, CdsError, CdsSettings, check_response

ENGINE = CdsEngine(CdsSettings(clock=lambda: DAY3))
BASE_BODY = order_select(rux_draft())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE_BODY)


def _answer(body: Any) -> tuple[int, Any]:
    try:
        return 200, asyncio.run(ENGINE.call("ruxolitinib-order-check", body))
    except CdsError as exc:
        assert exc.reason  # every refusal says why
        return exc.status, None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_element_replaced_by_any_json_is_refused_cleanly(
    path: tuple[Any, ...], value: Any
) -> None:
    body = copy.deepcopy(BASE_BODY)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    status, response = _answer(body)
    assert status in (200, 400, 412)
    if status == 200:
        assert check_response(response) == []


@settings(max_examples=60, deadline=None)
@given(body=json_values)
def test_any_json_document_is_refused_cleanly(body: Any) -> None:
    status, _ = _answer(body)
    assert status == 400
