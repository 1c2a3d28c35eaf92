#!/usr/bin/env bash
# Refresh the lock file CI and the README's test command install from: every package
# pinned, with the sha256 of each of its files on the index. Run after changing the
# dependencies in pyproject.toml, and to take in fixes; review the diff, then commit it.
#   bash deploy/lock/refresh.sh [--upgrade | --upgrade-package NAME]
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q pip-tools
"$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
  --extra test --no-emit-index-url --no-emit-find-links \
  --output-file deploy/lock/test.lock "$@" pyproject.toml deploy/lock/build.in
echo "deploy/lock/test.lock refreshed; now run: python3 .ci/audit.py deploy/lock/test.lock"
