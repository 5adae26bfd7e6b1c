"""The lock files (requirements/*.lock, made by scripts/lock) pin every dependency pyproject
declares at a version inside its range, each with hashes, and the image and CI install the
same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """Package → (version, hashes) of ``requirements/<name>.lock``."""
    found: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in (ROOT / "requirements" / f"{name}.lock").read_text().splitlines():
        m = _ENTRY.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            assert current not in found, f"{current} locked twice"
            found[current] = (m.group(2).rstrip(" \\"), [])
        elif line.strip().startswith("--hash=sha256:"):
            found[current][1].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"unexpected line in {name}.lock: {line!r}")
    return found


def _unlocked(declared: list[str], lock: dict[str, tuple[str, list[str]]]) -> list[str]:
    wrong = []
    for text in declared:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"python_version": "3.11"}):
            continue
        name = canonicalize_name(req.name)
        if name not in lock:
            wrong.append(f"{req.name}: not locked")
        elif not req.specifier.contains(lock[name][0], prereleases=True):
            wrong.append(f"{req.name}: {lock[name][0]} outside {req.specifier}")
    return wrong


def test_the_image_lock_covers_every_dependency_within_its_range() -> None:
    assert _unlocked(PROJECT["dependencies"], _lock("propylon")) == []


def test_the_test_lock_covers_the_dependencies_and_the_test_extra() -> None:
    declared = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]
    assert _unlocked(declared, _lock("test")) == []


def test_every_locked_version_is_exact_and_hashed() -> None:
    for name in ("propylon", "test"):
        for package, (version, hashes) in _lock(name).items():
            assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), (name, package, version)
            assert hashes, f"{package} has no hash in {name}.lock"
            assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), package


def test_the_image_and_ci_install_the_same_versions() -> None:
    image, ci = _lock("propylon"), _lock("test")
    assert {p: v for p, (v, _) in image.items() if ci.get(p, ("",))[0] != v} == {}
    assert "propylon" not in ci and "propylon" not in image


def test_ci_and_the_image_install_from_the_locks_with_hashes() -> None:
    script = (ROOT / "scripts" / "test").read_text()
    assert "--require-hashes --no-deps \\\n  -r requirements/test.lock" in script
    # the build backend from its lock too, never an isolated build fetching an unpinned one
    assert "--require-hashes --no-deps \\\n  -r requirements/build.lock" in script
    assert "--no-deps --no-build-isolation -e ." in script
    assert "[test]" not in script  # the ranges are for people installing the package
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r /tmp/propylon.lock" in dockerfile
    assert "--require-hashes --no-deps -r /tmp/build.lock" in dockerfile
    assert "--no-build-isolation" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile
