"""Fixtures of the web tests: a demo store, one account per role, clients and a live server.

The argon2 profile is cheap here only (``RUXTRACK_ARGON2_PROFILE=test``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("RUXTRACK_ARGON2_PROFILE", "test")

from litestar import Litestar
from litestar.testing import TestClient

from ruxtrack.store import Store, open_store
from ruxtrack.web import WebSettings, create_app
from ruxtrack.web import _accounts as accounts

ROLES = ("clinician", "data-manager", "researcher", "admin")
PASSWORDS = {r: f"pw-{r}-correct-horse" for r in ROLES}
USERS = {r: f"user-{r}" for r in ROLES}


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with the demo datasets (loaded once per test session)."""
    from ruxtrack.demo import demo_datasets

    path = tmp_path_factory.mktemp("web") / "demo.sqlite"
    with open_store(f"sqlite:///{path}") as store:
        for folder in demo_datasets().values():
            store.import_folder(folder)
    return path


@pytest.fixture(scope="session")
def store(demo_db: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{demo_db}")
    for role in ROLES:
        accounts.create_user(s, USERS[role], role, PASSWORDS[role])
    yield s
    s.close()


@pytest.fixture(scope="session")
def tokens(store: Store) -> dict[str, str]:
    """One API token per role."""
    return {r: accounts.issue_token(store, USERS[r]) for r in ROLES}


@pytest.fixture
def app(store: Store) -> Litestar:
    return create_app(store=store, settings=WebSettings())


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m is not None, "no CSRF field in the page"
    return m.group(1)


def sign_in(c: TestClient[Any], role: str, password: str | None = None) -> Any:
    """Sign in through the form; returns the response of the POST."""
    page = c.get("/login")
    return c.post(
        "/login",
        data={
            "username": USERS[role],
            "password": PASSWORDS[role] if password is None else password,
            "_csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(store: Store) -> Iterator[str]:
    """The app on uvicorn on a loopback port (one per session)."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(
        create_app(store=store), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
