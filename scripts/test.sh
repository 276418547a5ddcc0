#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine and run every test:
# Debian packages (PostgreSQL server, Chromium, a Java runtime for Spark, pdflatex), a virtualenv with all
# extras, a running PostgreSQL cluster for the store tests, then ruff, mypy and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
# pdflatex + booktabs/caption: the report's LaTeX tables are compiled in tests/outputs
command -v pdflatex >/dev/null 2>&1 || need+=(texlive-latex-base texlive-latex-recommended)
kpsewhich booktabs.sty >/dev/null 2>&1 || need+=(texlive-latex-recommended)
if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing ruxtrack with all extras"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,postgres,spark,redcap]"

echo "== starting PostgreSQL for the store tests"
RUXTRACK_TEST_PG_URL="$(bash .ci/postgres.sh)"
export RUXTRACK_TEST_PG_URL

echo "== ruff"
.venv/bin/ruff check src tests benchmarks
echo "== mypy (strict, core)"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
