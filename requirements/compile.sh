#!/usr/bin/env bash
# Regenerates the lock files in this folder from pyproject.toml, with uv (`pip install uv`):
#
#   requirements/compile.sh                      keep the locked versions, add what is new
#   requirements/compile.sh --upgrade            move everything to the newest allowed versions
#   requirements/compile.sh --upgrade-package X  move only X (and what it needs)
#
# runtime.lock  the application's dependencies (the Docker image installs exactly these)
# test.lock     the same, plus the `test` extra (.ci/run installs exactly these)
# build.lock    the build backend (setuptools), for installing netzone itself without
#               reaching for an unpinned one
#
# Every file is pinned with the hashes of all its wheels and sdists, for Python 3.11 on any
# platform (--universal). test.lock is constrained by runtime.lock, so the two never
# disagree on a version. tests/test_locks.py fails when pyproject.toml names a package
# that a lock does not pin: run this script after changing the dependencies there.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v uv >/dev/null || { echo "uv is needed: pip install uv" >&2; exit 1; }

common=(--universal --python-version 3.11 --generate-hashes --quiet
        --custom-compile-command "requirements/compile.sh" "$@")

uv pip compile pyproject.toml "${common[@]}" \
    -o requirements/runtime.lock
uv pip compile pyproject.toml --extra test -c requirements/runtime.lock "${common[@]}" \
    -o requirements/test.lock
# The build backend pyproject.toml's [build-system] asks for.
python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
    | uv pip compile - "${common[@]}" -o requirements/build.lock
