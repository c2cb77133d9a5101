"""GraphiQL's browser files, pinned in assets.lock.json and kept outside the repository.

`fetch` takes each package's tarball from npm's own cache or the npm registry that npm is
configured with (or, for operators without internet, only from a mirror's URL or a
directory of tarballs), refuses it unless its sha512 is the lock's, and keeps only the
files the lock lists, each checked against its own sha384, in a cache directory
(`name@version/path`). Nothing here needs Node.js: npm, when installed, only says which
registry it uses. The server serves the files only once they all match the lock (`Assets`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path, PurePosixPath
from typing import Any

from app.settings import Settings

LOCK_PATH = Path(__file__).with_name("assets.lock.json")
FETCH_COMMAND = "netzone fetch-graphiql-assets"
DOWNLOAD_TIMEOUT_SECONDS = 30.0
MAX_TARBALL_BYTES = 64 * 1024 * 1024


class FetchError(Exception):
    """A package could not be had as the lock pins it; the message says what was tried."""


@dataclass(frozen=True)
class AssetFile:
    package: str
    version: str
    path: str
    integrity: str  # sha384-<base64>, also the page's subresource integrity

    @property
    def key(self) -> str:
        """Its place in the cache directory and under /graphiql/assets/: name@version/path."""
        return f"{self.package}@{self.version}/{self.path}"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    tarball: str  # its path on a registry: name/-/file.tgz
    integrity: str  # sha512-<base64>, as npm records it
    files: tuple[AssetFile, ...]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def tarball_names(self) -> list[str]:
        """What a directory of tarballs may call it: `npm pack`'s name
        (graphiql-plugin-explorer-3.2.6.tgz) or the registry's (plugin-explorer-3.2.6.tgz)."""
        packed = f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"
        return list(dict.fromkeys([packed, self.tarball.rsplit("/", 1)[-1]]))


@dataclass(frozen=True)
class Lock:
    packages: tuple[Package, ...]

    @property
    def files(self) -> tuple[AssetFile, ...]:
        return tuple(file for package in self.packages for file in package.files)


def _digest(integrity: str, algorithm: str) -> bytes:
    prefix = f"{algorithm}-"
    if not integrity.startswith(prefix):
        raise ValueError(f"{integrity[:20]!r} is not a {algorithm} integrity")
    try:
        digest = base64.b64decode(integrity[len(prefix) :], validate=True)
    except binascii.Error:
        raise ValueError(f"{integrity[:20]!r} is not valid base64") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise ValueError(f"{integrity[:20]!r} has the wrong length for {algorithm}")
    return digest


def _safe_path(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise ValueError(f"{path!r} is not a plain relative path")
    return path


def parse_lock(text: str) -> Lock:
    """The lock, checked: sha512 tarballs, sha384 files, plain relative paths."""
    raw: dict[str, Any] = json.loads(text)
    packages = []
    for entry in raw["packages"]:
        name, version = str(entry["name"]), str(entry["version"])
        _digest(entry["integrity"], "sha512")
        files = []
        for file in entry["files"]:
            _digest(file["integrity"], "sha384")
            files.append(AssetFile(name, version, _safe_path(file["path"]), file["integrity"]))
        _safe_path(f"{name}@{version}")
        tarball = _safe_path(str(entry["tarball"]))
        packages.append(Package(name, version, tarball, entry["integrity"], tuple(files)))
    return Lock(tuple(packages))


@lru_cache(maxsize=1)
def load_lock(path: Path = LOCK_PATH) -> Lock:
    return parse_lock(path.read_text(encoding="utf-8"))


def assets_dir(settings: Settings) -> Path:
    """Where the files are kept: NETZONE_GRAPHIQL_ASSETS_DIR, else ~/.cache/netzone/graphiql."""
    if settings.graphiql_assets_dir:
        return Path(settings.graphiql_assets_dir).expanduser()
    return Path.home() / ".cache" / "netzone" / "graphiql"


def npm_cache_dir() -> Path:
    """npm's default cache (`npm config get cache`), read without running npm."""
    return Path.home() / ".npm"


def npm_registry() -> str | None:
    """The registry npm is configured with (its .npmrc files, its environment), if npm is
    installed; None otherwise."""
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        done = subprocess.run(
            [npm, "config", "get", "registry"],
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    registry = done.stdout.strip()
    return registry if done.returncode == 0 and "://" in registry else None


def matches(integrity: str, data: bytes) -> bool:
    algorithm = integrity.split("-", 1)[0]
    return hmac.compare_digest(hashlib.new(algorithm, data).digest(), _digest(integrity, algorithm))


def problems(files: tuple[AssetFile, ...], directory: Path) -> list[str]:
    """What keeps these files from being served: missing, unreadable or not the lock's."""
    found = []
    for file in files:
        try:
            data = (directory / file.key).read_bytes()
        except FileNotFoundError:
            found.append(f"{file.key} is missing")
            continue
        except OSError as error:
            found.append(f"{file.key} cannot be read ({error.strerror})")
            continue
        if not matches(file.integrity, data):
            found.append(f"{file.key} does not match the lock")
    return found


# --- Where a tarball comes from ---------------------------------------------------------

Loader = Callable[[], bytes]


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_TARBALL_BYTES:
        raise ValueError(f"larger than {MAX_TARBALL_BYTES} bytes")
    return path.read_bytes()


def _download(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "netzone"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data: bytes = response.read(MAX_TARBALL_BYTES + 1)
    if len(data) > MAX_TARBALL_BYTES:
        raise ValueError(f"larger than {MAX_TARBALL_BYTES} bytes")
    return data


def _in_npm_cache(cache: Path, package: Package) -> Path:
    """npm's cache keeps tarballs by content (cacache): content-v2/sha512/ab/cd/<rest>."""
    root = cache if (cache / "content-v2").is_dir() else cache / "_cacache"
    hexed = _digest(package.integrity, "sha512").hex()
    return root / "content-v2" / "sha512" / hexed[:2] / hexed[2:4] / hexed[4:]


def _is_npm_cache(directory: Path) -> bool:
    return (directory / "content-v2").is_dir() or (directory / "_cacache").is_dir()


def on_registry(registry: str, tarball: str) -> str:
    """The tarball's address on a registry or a mirror of it (the same paths)."""
    return f"{registry.rstrip('/')}/{tarball}"


def _no_registry() -> bytes:
    raise ValueError(
        "npm is not installed to say which registry to use: give it with --from URL "
        "(or NETZONE_GRAPHIQL_ASSETS_FROM)"
    )


def sources(
    package: Package,
    source: str | None,
    npm_cache: Path,
    timeout: float,
    registry: Callable[[], str | None] = npm_registry,
) -> list[tuple[str, Loader]]:
    """Where to look, in order. Without a source: npm's cache, then npm's registry. With
    one, only there: a registry's or mirror's URL, an npm cache or a directory of tarballs."""
    if not source:
        in_cache = _in_npm_cache(npm_cache, package)
        cached: tuple[str, Loader] = (f"npm's cache ({npm_cache})", partial(_read, in_cache))
        if in_cache.is_file():
            return [cached]
        base = registry()
        if base is None:
            return [cached, ("npm's registry", _no_registry)]
        url = on_registry(base, package.tarball)
        return [cached, (url, partial(_download, url, timeout))]
    if "://" in source:
        url = on_registry(source, package.tarball)
        return [(url, partial(_download, url, timeout))]
    directory = Path(source).expanduser()
    if _is_npm_cache(directory):
        return [(f"npm's cache ({directory})", partial(_read, _in_npm_cache(directory, package)))]
    return [
        (str(directory / name), partial(_read, directory / name))
        for name in package.tarball_names()
    ]


def obtain(package: Package, candidates: list[tuple[str, Loader]]) -> tuple[bytes, str]:
    """The first tarball whose sha512 is the lock's, and where it came from."""
    tried = []
    for where, load in candidates:
        try:
            data = load()
        except FileNotFoundError:
            tried.append(f"{where}: not there")
            continue
        except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
            tried.append(f"{where}: {getattr(error, 'reason', None) or error}")
            continue
        if not matches(package.integrity, data):
            tried.append(f"{where}: refused, its sha512 is not the lock's")
            continue
        return data, where
    raise FetchError(f"{package.label}: no tarball matching the lock ({'; '.join(tried)})")


# --- Keeping the files ------------------------------------------------------------------


def extract(package: Package, tarball: bytes, directory: Path) -> None:
    """Keep only the lock's files of a verified tarball, each checked against its sha384
    (npm tarballs hold one top folder, usually `package/`). Nothing else is written."""
    wanted = {file.path: file for file in package.files}
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive:
            inner = "/".join(PurePosixPath(member.name).parts[1:])
            if inner in wanted and inner not in found and member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    found[inner] = handle.read()
    for path, file in wanted.items():
        if path not in found:
            raise FetchError(f"{package.label}: the tarball has no {path}")
        if not matches(file.integrity, found[path]):
            raise FetchError(f"{package.label}: {path} does not match the lock")
    for path, file in wanted.items():
        _write(directory / file.key, found[path])


def _write(target: Path, data: bytes) -> None:
    """Atomically, readable by all (a service user reads what root fetched)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".fetching-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def fetch(
    lock: Lock,
    directory: Path,
    *,
    source: str | None = None,
    npm_cache: Path | None = None,
    registry: Callable[[], str | None] = npm_registry,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
    report: Callable[[str], None] = lambda _: None,
) -> None:
    """Bring every package of the lock into `directory`; one line per package to `report`.
    Packages already there and matching are left alone; npm is asked for its registry
    only when a tarball is not in its cache. Raises FetchError naming every package that
    could not be had (the others are kept)."""
    failures = []
    registry = lru_cache(maxsize=1)(registry)
    for package in lock.packages:
        if not problems(package.files, directory):
            report(f"{package.label}: already there")
            continue
        try:
            cache = npm_cache or npm_cache_dir()
            candidates = sources(package, source, cache, timeout, registry)
            data, where = obtain(package, candidates)
            extract(package, data, directory)
        except FetchError as error:
            failures.append(str(error))
            continue
        report(f"{package.label}: from {where}, sha512 checked")
    if failures:
        raise FetchError("\n".join(failures))


# --- Serving ----------------------------------------------------------------------------


class Assets:
    """The lock's files in one directory: checked once they are all there, then served."""

    def __init__(self, lock: Lock, directory: Path) -> None:
        self.lock = lock
        self.directory = directory
        self._by_key = {file.key: file for file in lock.files}
        self._ready = False

    def ready(self) -> bool:
        if not self._ready:
            self._ready = not problems(self.lock.files, self.directory)
        return self._ready

    def problems(self) -> list[str]:
        return problems(self.lock.files, self.directory)

    def path(self, key: str) -> Path | None:
        """The file behind /graphiql/assets/<key>, only for a key the lock lists."""
        if key not in self._by_key or not self.ready():
            return None
        path = self.directory / key
        return path if path.is_file() else None

    def of_kind(self, suffix: str) -> list[AssetFile]:
        """Scripts (.js) or stylesheets (.css), in the lock's order (the load order)."""
        return [file for file in self.lock.files if file.path.endswith(suffix)]


@lru_cache(maxsize=8)
def assets_in(directory: Path) -> Assets:
    """One Assets per directory and process (so each is hashed once)."""
    return Assets(load_lock(), directory)
