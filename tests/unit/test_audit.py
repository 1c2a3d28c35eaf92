"""The lock audit (.ci/audit.py) reads the index's answers the way it should."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", ROOT / ".ci" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def document(**overrides: Any) -> dict[str, Any]:
    return {"releases": {"1.2.0": [{"yanked": False}]}, "vulnerabilities": [], **overrides}


def test_a_clean_pin_has_no_findings() -> None:
    assert audit().findings("pkg", "1.2.0", document()) == []


def test_a_yanked_or_missing_pin_is_a_finding() -> None:
    yanked = document(releases={"1.2.0": [{"yanked": True, "yanked_reason": "CVE-1"}]})
    assert audit().findings("pkg", "1.2.0", yanked) == ["pkg==1.2.0: yanked (CVE-1)"]
    assert audit().findings("pkg", "9.9.9", document()) == ["pkg==9.9.9: not on the index"]


def test_a_vulnerability_counts_unless_fixed_at_or_below_the_pin() -> None:
    advisory = {"id": "PYSEC-1", "aliases": ["CVE-2"], "fixed_in": ["1.3.0"], "withdrawn": None}
    affected = audit().findings("pkg", "1.2.0", document(vulnerabilities=[advisory]))
    assert affected == ["pkg==1.2.0: PYSEC-1, CVE-2 (fixed in 1.3.0)"]
    fixed = {**advisory, "fixed_in": ["1.1.0"]}
    assert audit().findings("pkg", "1.2.0", document(vulnerabilities=[fixed])) == []
    withdrawn = {**advisory, "withdrawn": "2026-01-01"}
    assert audit().findings("pkg", "1.2.0", document(vulnerabilities=[withdrawn])) == []


def test_every_pin_of_the_lock_is_read() -> None:
    pins = dict(audit().pins(ROOT / "deploy" / "lock" / "test.lock"))
    assert {"aiohttp", "sqlalchemy", "hypothesis", "hatchling"} <= {p.lower() for p in pins}
