"""Audit the lock file against what the package index itself says about each pin.

pip-audit asks PyPI's per-release JSON API or OSV, neither of which the CI machines can
reach; the project-level JSON API of the index can be reached. This asks it, for every
package pinned in the lock:

- is the pinned release on the index at all, and is it yanked (a yank often means a
  security or data-loss problem)?
- does the index list a known vulnerability (PyPI's advisory feed) that the pinned
  version is not fixed against?

Exit 1 on any finding, 2 when the index could not be asked (an audit that did not run
must not pass).
    python3 .ci/audit.py deploy/lock/test.lock
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

INDEX = "https://pypi.org/pypi/{name}/json"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", re.MULTILINE)


def pins(lock: Path) -> list[tuple[str, str]]:
    return PIN.findall(lock.read_text())


def project(name: str) -> dict[str, Any]:
    for attempt in range(3):
        try:
            url = INDEX.format(name=name)  # always https, to the index
            with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310
                document: dict[str, Any] = json.load(answer)
                return document
        except OSError:
            if attempt == 2:
                raise
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def findings(name: str, pinned: str, document: dict[str, Any]) -> list[str]:
    found = []
    files = document.get("releases", {}).get(pinned)
    if not files:
        found.append(f"{name}=={pinned}: not on the index")
    elif all(f.get("yanked") for f in files):
        reason = files[0].get("yanked_reason") or "no reason given"
        found.append(f"{name}=={pinned}: yanked ({reason})")
    version = Version(pinned)
    for vulnerability in document.get("vulnerabilities") or []:
        if vulnerability.get("withdrawn"):
            continue
        fixes = []
        for text in vulnerability.get("fixed_in") or []:
            try:
                fixes.append(Version(text))
            except InvalidVersion:
                continue
        # Listed against the latest release; fixed for us only by a fix at or below our pin
        # on our release line.
        if any(fix <= version and fix.major == version.major for fix in fixes):
            continue
        ids = ", ".join([vulnerability.get("id", "?"), *vulnerability.get("aliases", [])])
        fixed = ", ".join(str(f) for f in fixes) or "no fix yet"
        found.append(f"{name}=={pinned}: {ids} (fixed in {fixed})")
    return found


def main(lock: str) -> int:
    pinned = pins(Path(lock))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            documents = list(pool.map(lambda pin: project(pin[0]), pinned))
    except OSError as exc:
        print(f"audit: cannot reach the index: {exc}", file=sys.stderr)
        return 2
    problems = [
        problem
        for (name, version), document in zip(pinned, documents, strict=True)
        for problem in findings(name, version, document)
    ]
    for problem in problems:
        print(f"audit: {problem}")
    print(f"audit: {len(pinned)} pinned packages, {len(problems)} finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "deploy/lock/test.lock"))
