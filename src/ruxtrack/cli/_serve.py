"""``ruxtrack serve``: the web app (docs/web.md) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from ruxtrack.cli._errors import cli_errors, err_console
from ruxtrack.cli._options import store_target

__all__ = ["register", "serve_command"]

console = Console(highlight=False, soft_wrap=True)


def load_demo(store: object) -> str | None:
    """Load the demo datasets when not there yet; create ``admin`` with a one-time password
    (returned) unless an admin account exists."""
    from ruxtrack.demo import demo_datasets
    from ruxtrack.store import Store
    from ruxtrack.web import _accounts as accounts

    assert isinstance(store, Store)
    have = set(store.patient_ids())
    for _name, folder in demo_datasets().items():
        store.import_folder(folder)  # idempotent: unchanged patients are left alone
    if not have:
        console.print(f"loaded the demo datasets into {store.url}", markup=False)
    if any(u.name == "admin" for u, _ in accounts.list_users(store)):
        return None
    password = accounts.generate_password()
    accounts.create_user(store, "admin", "admin", password, actor="serve --demo", client="cli")
    return password


def serve_command(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="SQLAlchemy URL of the store (default: the embedded SQLite store).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Load the demo data when not there yet; print a one-time admin password."
        ),
    ] = False,
    idle_minutes: Annotated[
        int,
        typer.Option(
            "--idle-timeout", min=1, max=720, help="Minutes without use that end a session."
        ),
    ] = 15,
    ssl_certfile: Annotated[
        str | None, typer.Option("--ssl-certfile", help="Serve over TLS with this certificate.")
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option("--ssl-keyfile", help="Key of --ssl-certfile.")
    ] = None,
    behind_tls_proxy: Annotated[
        bool,
        typer.Option(
            "--behind-tls-proxy",
            help="A TLS proxy on this host forwards to us: secure cookies, HSTS.",
        ),
    ] = False,
    cds_trust: Annotated[
        str | None,
        typer.Option(
            "--cds-trust",
            help="YAML file: trusted CDS Hooks clients (iss, jku/key set) and SMART issuers "
            "(docs/cds-hooks.md).",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option("--public-url", help="Base URL EHRs call (checked as the JWT aud)."),
    ] = None,
    cds_allow_unsigned: Annotated[
        bool,
        typer.Option(
            "--cds-allow-unsigned",
            help="Accept CDS Hooks calls without a signed JWT. LOCAL DEMONSTRATION ONLY.",
        ),
    ] = False,
) -> None:
    """Serve the web app: patient list, dose card, course chart, criteria, data entry, REST API.

    Listens on 127.0.0.1:8000 by default. With --demo the demo datasets are loaded into the
    store (once) and an "admin" account is created with a one-time password printed here.
    """
    import uvicorn

    from ruxtrack.store import open_store
    from ruxtrack.web import WebSettings, create_app

    with cli_errors():
        store = open_store(store_target(db))
        password = load_demo(store) if demo else None
    tls = bool(ssl_certfile) or behind_tls_proxy
    from ruxtrack.web.cds._mount import configure_from_file
    from ruxtrack.web.cds._routes import UNSIGNED_WARNING

    if cds_allow_unsigned and host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            "error: --cds-allow-unsigned is for local demonstration only: listen on 127.0.0.1",
            markup=False,
        )
        raise typer.Exit(2)
    with cli_errors():
        configure_from_file(cds_trust, allow_unsigned=cds_allow_unsigned, public_url=public_url)
    if cds_allow_unsigned:
        bar = "!" * 78
        err_console.print(f"{bar}\n{UNSIGNED_WARNING}\n{bar}", markup=False)
    settings = WebSettings(idle_timeout_s=idle_minutes * 60, secure_cookies=tls)
    app = create_app(settings=settings, store=store)
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    console.print(f"ruxtrack web on {scheme}://{shown}:{port}/  (store: {store.url})", markup=False)
    if password is not None:
        console.print(f"sign in as admin with the one-time password: {password}", markup=False)
        console.print("(add clinicians and other users on the Users page)", markup=False)
    elif demo:
        console.print(
            'the demo "admin" account exists already; set a new password with '
            "`ruxtrack users password admin`",
            markup=False,
        )
    if host not in ("127.0.0.1", "localhost", "::1") and not tls:
        err_console.print("warning: listening beyond this machine without TLS", markup=False)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            server_header=False,
            proxy_headers=behind_tls_proxy,
            forwarded_allow_ips="127.0.0.1" if behind_tls_proxy else None,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
        )
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the root app."""
    app.command("serve")(serve_command)
