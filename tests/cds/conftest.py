"""Fixtures of the CDS tests; the helpers live in cds_helpers.py (a unique module name: every
test folder has its own conftest, so "from conftest import" is ambiguous in one session)."""

from cds_helpers import audit_log, client, ehr  # noqa: F401
