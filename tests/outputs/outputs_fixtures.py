"""Shared helpers of the outputs tests (imported by name: this basename is unique in tests/)."""

from __future__ import annotations

from pathlib import Path

from ruxtrack.demo import demo_datasets

SARMIENTO_DEMO: Path = demo_datasets()["sarmiento-2021-synthetic"]
TOMOMASA_DEMO: Path = demo_datasets()["tomomasa-2021"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
