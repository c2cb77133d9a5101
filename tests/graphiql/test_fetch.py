"""Fetching GraphiQL's files: only tarballs whose sha512 is the lock's, only the files the
lock lists (each checked again), from npm's cache, a mirror or a directory of tarballs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from app.cli.api import ensure_graphiql_files
from app.graphiql.assets import (
    LOCK_PATH,
    FetchError,
    Lock,
    fetch,
    load_lock,
    on_registry,
    parse_lock,
    problems,
)
from app.settings import Settings
from tests.reliability.live_server import netzone_command

SCRIPT = b"window.Thing = {};\n"
STYLE = b".thing { color: red; }\n"


def _integrity(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def _tarball(files: dict[str, bytes], top: str = "package") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _lock(
    tarball: bytes, name: str = "@scope/thing", file_hashes: dict[str, bytes] | None = None
) -> Lock:
    kept = file_hashes or {"dist/thing.js": SCRIPT, "dist/thing.css": STYLE}
    base = name.rsplit("/", 1)[-1]
    return parse_lock(
        json.dumps(
            {
                "packages": [
                    {
                        "name": name,
                        "version": "1.2.3",
                        "tarball": f"{name}/-/{base}-1.2.3.tgz",
                        "integrity": _integrity("sha512", tarball),
                        "files": [
                            {"path": path, "integrity": _integrity("sha384", data)}
                            for path, data in kept.items()
                        ],
                    }
                ]
            }
        )
    )


GOOD = _tarball(
    {
        "package.json": b"{}",
        "dist/thing.js": SCRIPT,
        "dist/thing.css": STYLE,
        "dist/other.js": b"not wanted",
    }
)


def test_a_directory_of_tarballs_gives_only_the_locked_files(tmp_path: Path) -> None:
    source, target = tmp_path / "tarballs", tmp_path / "assets"
    source.mkdir()
    (source / "scope-thing-1.2.3.tgz").write_bytes(GOOD)  # as `npm pack` names it
    said: list[str] = []
    fetch(_lock(GOOD), target, source=str(source), report=said.append)
    kept = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert kept == ["@scope/thing@1.2.3/dist/thing.css", "@scope/thing@1.2.3/dist/thing.js"]
    assert (target / "@scope/thing@1.2.3/dist/thing.js").read_bytes() == SCRIPT
    assert said == [f"@scope/thing@1.2.3: from {source / 'scope-thing-1.2.3.tgz'}, sha512 checked"]
    # Again: nothing to do, and no source needed.
    again: list[str] = []
    fetch(_lock(GOOD), target, source=str(tmp_path / "gone"), report=again.append)
    assert again == ["@scope/thing@1.2.3: already there"]


def test_the_registrys_file_name_is_found_too(tmp_path: Path) -> None:
    (tmp_path / "thing-1.2.3.tgz").write_bytes(GOOD)
    fetch(_lock(GOOD), tmp_path / "assets", source=str(tmp_path))
    assert problems(_lock(GOOD).files, tmp_path / "assets") == []


def test_a_tarball_that_is_not_the_locks_is_refused(tmp_path: Path) -> None:
    tampered = _tarball({"dist/thing.js": b"steal(document.cookie)", "dist/thing.css": STYLE})
    (tmp_path / "scope-thing-1.2.3.tgz").write_bytes(tampered)
    with pytest.raises(FetchError, match="refused, its sha512 is not the lock's"):
        fetch(_lock(GOOD), tmp_path / "assets", source=str(tmp_path))
    assert not (tmp_path / "assets").exists()


def test_a_file_that_is_not_the_locks_is_refused_though_its_tarball_is(tmp_path: Path) -> None:
    (tmp_path / "scope-thing-1.2.3.tgz").write_bytes(GOOD)
    lock = _lock(GOOD, file_hashes={"dist/thing.js": b"something else", "dist/thing.css": STYLE})
    with pytest.raises(FetchError, match="dist/thing.js does not match the lock"):
        fetch(lock, tmp_path / "assets", source=str(tmp_path))
    assert not (tmp_path / "assets").exists()


def test_a_file_missing_from_the_tarball_is_said(tmp_path: Path) -> None:
    (tmp_path / "scope-thing-1.2.3.tgz").write_bytes(GOOD)
    lock = _lock(GOOD, file_hashes={"dist/absent.js": SCRIPT})
    with pytest.raises(FetchError, match="the tarball has no dist/absent.js"):
        fetch(lock, tmp_path / "assets", source=str(tmp_path))


def test_npm_s_cache_is_read_by_content_without_npm(tmp_path: Path) -> None:
    """npm keeps tarballs by their sha512 (cacache); the lock's integrity finds them."""
    cache = tmp_path / "npm"
    hexed = hashlib.sha512(GOOD).hexdigest()
    stored = cache / "_cacache" / "content-v2" / "sha512" / hexed[:2] / hexed[2:4] / hexed[4:]
    stored.parent.mkdir(parents=True)
    stored.write_bytes(GOOD)
    said: list[str] = []
    fetch(_lock(GOOD), tmp_path / "a", npm_cache=cache, report=said.append)  # before the registry
    assert said == [f"@scope/thing@1.2.3: from npm's cache ({cache}), sha512 checked"]
    fetch(_lock(GOOD), tmp_path / "b", source=str(cache / "_cacache"))  # or named with --from
    fetch(_lock(GOOD), tmp_path / "c", source="", npm_cache=cache)  # an empty setting: none
    assert problems(_lock(GOOD).files, tmp_path / "b") == []
    assert problems(_lock(GOOD).files, tmp_path / "c") == []


def test_a_mirror_is_asked_for_the_registrys_paths(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "@scope/thing/-").mkdir(parents=True)
    (mirror / "@scope/thing/-/thing-1.2.3.tgz").write_bytes(GOOD)
    lock = _lock(GOOD)
    assert on_registry("https://npm.example.org/", lock.packages[0].tarball) == (
        "https://npm.example.org/@scope/thing/-/thing-1.2.3.tgz"
    )
    said: list[str] = []
    fetch(lock, tmp_path / "assets", source=mirror.as_uri(), report=said.append)
    assert said == [
        f"@scope/thing@1.2.3: from {mirror.as_uri()}/@scope/thing/-/thing-1.2.3.tgz, sha512 checked"
    ]


def test_without_a_source_npms_registry_is_asked_after_its_cache(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    (registry / "@scope/thing/-").mkdir(parents=True)
    (registry / "@scope/thing/-/thing-1.2.3.tgz").write_bytes(GOOD)
    said: list[str] = []
    fetch(
        _lock(GOOD),
        tmp_path / "assets",
        npm_cache=tmp_path / "empty-cache",
        registry=registry.as_uri,
        report=said.append,
    )
    assert said == [
        f"@scope/thing@1.2.3: from {registry.as_uri()}/@scope/thing/-/thing-1.2.3.tgz, sha512 checked"
    ]


def test_without_npm_the_registry_must_be_given(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as refused:
        fetch(_lock(GOOD), tmp_path / "assets", npm_cache=tmp_path / "cache", registry=lambda: None)
    assert str(refused.value) == (
        f"@scope/thing@1.2.3: no tarball matching the lock (npm's cache ({tmp_path / 'cache'}): "
        "not there; npm's registry: npm is not installed to say which registry to use: give it "
        "with --from URL (or NETZONE_GRAPHIQL_ASSETS_FROM))"
    )


def test_everything_tried_is_said_when_nothing_is_found(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as refused:
        fetch(_lock(GOOD), tmp_path / "assets", source=str(tmp_path))
    assert str(refused.value) == (
        f"@scope/thing@1.2.3: no tarball matching the lock ({tmp_path}/scope-thing-1.2.3.tgz: "
        f"not there; {tmp_path}/thing-1.2.3.tgz: not there)"
    )


def test_the_committed_lock_pins_tarballs_by_sha512_and_names_no_host() -> None:
    lock = load_lock(LOCK_PATH)
    assert [p.name for p in lock.packages] == [
        "react",
        "react-dom",
        "graphiql",
        "@graphiql/plugin-explorer",
    ]
    for package in lock.packages:
        assert package.tarball.startswith(f"{package.name}/-/")  # a path on any registry
        assert package.tarball.endswith(f"-{package.version}.tgz")
        assert package.integrity.startswith("sha512-")
    kinds = [Path(f.path).suffix for f in lock.files]
    assert kinds.count(".js") == 4
    assert kinds.count(".css") == 2


@pytest.mark.parametrize(
    "change",
    [
        {"integrity": "sha1-AAAA"},
        {"files": [{"path": "../../etc/passwd", "integrity": _integrity("sha384", b"")}]},
        {"files": [{"path": "/etc/passwd", "integrity": _integrity("sha384", b"")}]},
        {"files": [{"path": "dist/x.js", "integrity": _integrity("sha256", b"")}]},
        {"tarball": "../thing-1.0.0.tgz"},
    ],
)
def test_a_lock_with_weak_hashes_or_odd_paths_is_refused(change: dict[str, object]) -> None:
    entry = {"name": "thing", "version": "1.0.0", "tarball": "thing/-/thing-1.0.0.tgz"}
    entry |= {"integrity": _integrity("sha512", b""), "files": []} | change
    with pytest.raises(ValueError, match="integrity|relative path"):
        parse_lock(json.dumps({"packages": [entry]}))


def test_the_command_says_what_to_do_without_internet(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        netzone_command(
            "fetch-graphiql-assets", "--from", str(empty), "--dir", str(tmp_path / "a")
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (
        f"Error: react@18.3.1: no tarball matching the lock ({empty}/react-18.3.1.tgz: not there)"
        in done.stderr
    )
    assert "--from DIR" in done.stderr
    assert not (tmp_path / "a").exists()


def test_the_command_leaves_files_that_are_there(graphiql_assets: Path) -> None:
    done = subprocess.run(
        netzone_command("fetch-graphiql-assets", "--dir", str(graphiql_assets)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "react@18.3.1: already there",
        "react-dom@18.3.1: already there",
        "graphiql@3.9.0: already there",
        "@graphiql/plugin-explorer@3.2.6: already there",
        f"GraphiQL's files are in {graphiql_assets}.",
    ]


def test_serve_in_development_fetches_once_and_goes_on_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve` (the quick start) fetches missing files; when it cannot, it says so in a
    line and serves the API anyway."""
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(
        environment="development",
        graphiql_assets_dir=str(tmp_path / "assets"),
        graphiql_assets_from=str(empty),
    )
    ensure_graphiql_files(settings)
    said = capsys.readouterr().out.splitlines()
    assert (
        said[0]
        == f"Fetching GraphiQL's files once, into {tmp_path / 'assets'} (netzone fetch-graphiql-assets)."
    )
    assert said[1].startswith("GraphiQL's files could not be fetched (react@18.3.1: no tarball")
    assert said[1].endswith("/graphql says how to install them; the API works without them.")
    production = settings.model_copy(update={"environment": "test"})
    ensure_graphiql_files(production)
    assert capsys.readouterr().out == (
        "GraphiQL's files are not installed: run `netzone fetch-graphiql-assets`.\n"
    )
