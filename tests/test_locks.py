"""Drift checks for reproducible builds: the lock files in requirements/ pin everything
pyproject.toml asks for, and the Dockerfile installs from them on pinned base images.

After changing the dependencies in pyproject.toml, run `requirements/compile.sh`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
REGENERATE = "regenerate the locks with requirements/compile.sh"


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _requirements(section: str) -> list[Requirement]:
    data = _pyproject()
    if section == "build":
        texts = data["build-system"]["requires"]
    elif section == "runtime":
        texts = data["project"]["dependencies"]
    else:
        texts = data["project"]["optional-dependencies"][section]
    return [Requirement(text) for text in texts]


def _lock(name: str) -> dict[str, tuple[Version, int]]:
    """The pins of requirements/NAME.lock: canonical name -> (version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    entries: list[str] = []
    for line in (LOCKS / f"{name}.lock").read_text(encoding="utf-8").splitlines():
        code = line.split("#", 1)[0].strip()
        if not code:
            continue
        if line[0].isspace() and entries:
            entries[-1] += " " + code
        else:
            entries.append(code)
    for entry in entries:
        spec, *hashes = entry.replace("\\", " ").split("--hash=")
        requirement = Requirement(spec.strip())
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"{name}.lock: {spec.strip()} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = (Version(pin.version), len(hashes))
    return pins


@pytest.mark.parametrize(
    ("section", "lock"),
    [("runtime", "runtime"), ("runtime", "test"), ("test", "test"), ("build", "build")],
)
def test_every_requirement_of_pyproject_is_pinned_in_the_lock(section: str, lock: str) -> None:
    pins = _lock(lock)
    missing = []
    outside = []
    for requirement in _requirements(section):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            missing.append(requirement.name)
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            outside.append(f"{requirement} (locked: {pins[name][0]})")
    assert not missing, f"requirements/{lock}.lock does not pin {missing}: {REGENERATE}"
    assert not outside, (
        f"requirements/{lock}.lock is outside pyproject.toml: {outside}: {REGENERATE}"
    )


@pytest.mark.parametrize("lock", ["runtime", "test", "build"])
def test_every_pin_carries_hashes(lock: str) -> None:
    unhashed = [name for name, (_, hashes) in _lock(lock).items() if hashes == 0]
    assert not unhashed, f"requirements/{lock}.lock pins {unhashed} without hashes: {REGENERATE}"


def test_the_test_lock_keeps_the_runtime_versions() -> None:
    runtime, test = _lock("runtime"), _lock("test")
    differing = {
        name: (str(version), str(test[name][0]) if name in test else None)
        for name, (version, _) in runtime.items()
        if name not in test or test[name][0] != version
    }
    assert not differing, f"runtime.lock and test.lock disagree (runtime, test): {differing}"


def test_the_image_installs_from_the_lock_on_pinned_base_images() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements/runtime.lock" in dockerfile
    images = re.findall(r"^ARG \w+_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert len(images) == 2, images
    for image in images:
        # An exact version (python:3.11.14-slim-bookworm) or a digest, never a moving tag.
        assert "@sha256:" in image or re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", image), (
            f"the base image {image} is not pinned to an exact version"
        )
