"""Index versions in S3: immutable, content-addressed, one pointer to the current.

    search-index/files/<sha256>           a file of a version (tantivy's segments, meta.json)
    search-index/versions/<n>-<sha256>.json   the manifest of version n: file name -> sha256
    search-index/current.json             {"version": n, "manifest": key, "history": [older manifests]}

A version is published by uploading the files S3 does not have yet (a
segment's content never changes, so most are already there), then its
manifest, then the pointer, written with a conditional PUT: ``If-Match`` the
pointer's ETag as the writer read it (``If-None-Match: *`` for the first).
Two writers racing cannot both win: the loser reads the new version and
applies its changes again on top (chalicelib/search/indexing.py). A reader
never sees a half-written version: the pointer moves last.

A manifest is named by its content too, so a writer that loses a race (or
dies before moving the pointer) never overwrites a published one; what it
uploaded is left unreferenced. Old versions are pruned by the writer that
moves the pointer: the pointer lists the last ``KEEP`` manifests, and the one
that leaves the list is deleted with the files that left the index after it
(a search container loading that old a version meanwhile retries on the
current one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError

from chalicelib.platform.aws import error_code, is_missing
from chalicelib.platform.config import ConfigError, Env
from chalicelib.platform.errors import ShopError
from chalicelib.search.index import SearchIndex

logger = logging.getLogger(__name__)

PREFIX: Final = "search-index/"
CURRENT_KEY: Final = PREFIX + "current.json"
KEEP: Final = 5  # versions kept besides the current one
MAX_LOAD_ATTEMPTS: Final = 3
_PRECONDITION: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def file_key(sha: str) -> str:
    return f"{PREFIX}files/{sha}"


def manifest_key(version: int, body: bytes) -> str:
    return f"{PREFIX}versions/{version:012d}-{hashlib.sha256(body).hexdigest()[:16]}.json"


class IndexNotReady(ShopError):
    """The stage has no search index yet (its first build is under way)."""

    status = 503
    code = "index_not_ready"
    retry_after_s = 30

    def __init__(self) -> None:
        super().__init__("the search index is being built; try again in a minute")


class Raced(Exception):
    """Another writer published a version since this one read the pointer."""


@dataclass(frozen=True)
class Pointer:
    version: int
    manifest: str
    etag: str
    history: tuple[str, ...] = ()  # the manifests of the versions before it, oldest first
    schema: int = 1  # the index schema's version it was written with (index.SCHEMA_VERSION; none said: 1)


def _publishable(directory: Path) -> list[Path]:
    """The index's files: all but tantivy's lock files."""
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.endswith(".lock"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class IndexStore:
    def __init__(self, s3: Any, bucket: str, workdir: Path) -> None:
        self.s3, self.bucket, self.workdir = s3, bucket, workdir
        self.cache = workdir / "files"
        self.cache.mkdir(parents=True, exist_ok=True)

    # -- reading -----------------------------------------------------------------
    def pointer(self, etag: str | None = None) -> Pointer | None:
        """The current version; None when there is none, or (given ``etag``) when it has not moved."""
        extra = {"IfNoneMatch": etag} if etag else {}
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=CURRENT_KEY, **extra)
        except ClientError as exc:
            if is_missing(exc) or error_code(exc) in ("304", "NotModified"):
                return None
            raise
        body = json.loads(response["Body"].read())
        history = tuple(str(key) for key in body.get("history", ()))
        schema = int(body.get("schema", 1))
        return Pointer(int(body["version"]), str(body["manifest"]), str(response["ETag"]), history, schema)

    def manifest(self, pointer: Pointer) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=self.bucket, Key=pointer.manifest)["Body"].read()
        return dict(json.loads(body))

    def download(self, pointer: Pointer) -> Path:
        """The version's files in a folder of their own (each file fetched once per container)."""
        files: dict[str, str] = self.manifest(pointer)["files"]
        target = self.workdir / f"v{pointer.version}"
        partial = self.workdir / f".v{pointer.version}.{os.getpid()}.{threading.get_ident()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name, sha in files.items():
            cached = self.cache / sha
            if not cached.exists():
                body = self.s3.get_object(Bucket=self.bucket, Key=file_key(sha))["Body"].read()
                if hashlib.sha256(body).hexdigest() != sha:
                    raise ValueError(f"search index file {sha} does not match its name")
                temporary = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
                temporary.write_bytes(body)
                temporary.replace(cached)
            shutil.copyfile(cached, partial / name)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        for cached in self.cache.iterdir():  # only this version's files stay in /tmp
            if cached.name not in set(files.values()):
                cached.unlink(missing_ok=True)
        return target

    # -- writing -----------------------------------------------------------------
    def publish(self, directory: Path, previous: Pointer | None, facts: dict[str, Any]) -> Pointer:
        """Publish the index in ``directory`` as the version after ``previous``; Raced if it moved."""
        version = previous.version + 1 if previous else 1
        files: dict[str, str] = {}
        known = set(self.manifest(previous)["files"].values()) if previous else set()
        for path in _publishable(directory):
            sha = _sha256(path)
            files[path.name] = sha
            if sha not in known:
                self.s3.put_object(Bucket=self.bucket, Key=file_key(sha), Body=path.read_bytes())
        manifest = json.dumps({"version": version, "files": files, "created_at": time.time(), **facts}).encode()
        key = manifest_key(version, manifest)
        older = (*previous.history, previous.manifest) if previous else ()
        history, dropped = older[-KEEP:], older[:-KEEP]
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=manifest)
        condition = {"IfMatch": previous.etag} if previous else {"IfNoneMatch": "*"}
        body = json.dumps({"version": version, "manifest": key, "history": list(history), **facts}).encode()
        try:
            written = self.s3.put_object(
                Bucket=self.bucket, Key=CURRENT_KEY, Body=body, ContentType="application/json", **condition
            )
        except ClientError as exc:
            if error_code(exc) in _PRECONDITION:
                raise Raced(f"version {version} was published by another writer") from exc
            raise
        for old in dropped:
            self._prune(old, [*history, key], set(files.values()))
        return Pointer(version, key, str(written["ETag"]), history, int(facts.get("schema", 1)))

    def _prune(self, old: str, kept: list[str], current: set[str]) -> None:
        """Forget manifest ``old`` and its files that no kept version holds
        (the same bytes may come back in a later version: a rebuild)."""
        try:
            gone = self._files_of(old) - current
            for key in kept[:-1]:
                gone -= self._files_of(key)
        except ClientError as exc:
            if is_missing(exc):
                return  # pruned already
            raise
        for sha in gone:
            self.s3.delete_object(Bucket=self.bucket, Key=file_key(sha))
        self.s3.delete_object(Bucket=self.bucket, Key=old)

    def _files_of(self, key: str) -> set[str]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return set(json.loads(body)["files"].values())


class IndexReader:
    """The current index of a search container: loaded on first use, then
    swapped for a newer version when one is published, checked at most every
    ``refresh_s`` with one conditional GET of the pointer (a 304 when nothing
    moved)."""

    def __init__(self, store: IndexStore, refresh_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.refresh_s, self.clock = store, refresh_s, clock
        self._current: tuple[Pointer, SearchIndex] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.loads = 0

    def get(self) -> SearchIndex:
        with self._lock:
            if self._current is None or self.clock() - self._checked >= self.refresh_s:
                try:
                    self._refresh()
                except Exception:
                    if self._current is None:
                        raise
                    # S3 slow or down: the version this container has still answers.
                    logger.warning("could not look for a newer search index; keeping version %d", self.version)
            if self._current is None:
                raise IndexNotReady()
            return self._current[1]

    @property
    def version(self) -> int:
        return self._current[0].version if self._current else 0

    def _refresh(self) -> None:
        self._checked = self.clock()
        known = self._current[0].etag if self._current else None
        for _ in range(MAX_LOAD_ATTEMPTS):
            pointer = self.store.pointer(etag=known)
            if pointer is None:
                return  # not moved (or none yet)
            try:
                self._current = (pointer, self._open(pointer))
                return
            except ClientError as exc:  # pruned while we loaded it: a newer one is current
                if not is_missing(exc):
                    raise
                logger.info(
                    "search index version %d went away while loading; reading the pointer again", pointer.version
                )
        raise IndexNotReady()

    def _open(self, pointer: Pointer) -> SearchIndex:
        import tantivy

        folder = self.store.download(pointer)
        index = SearchIndex(tantivy.Index.open(str(folder)), version=pointer.version, schema_version=pointer.schema)
        previous = self._current[0].version if self._current else None
        if previous is not None and previous != pointer.version:
            shutil.rmtree(self.store.workdir / f"v{previous}", ignore_errors=True)
        self.loads += 1
        logger.info("search index version %d loaded: %d products", pointer.version, index.size)
        return index


@dataclass(frozen=True)
class SearchIndexSettings:
    bucket: str  # SEARCH_INDEX_BUCKET: where the index versions live
    refresh_s: float  # SEARCH_REFRESH_S: how often a search container looks for a newer version
    workdir: str  # SEARCH_INDEX_DIR: where a container keeps its copy (Lambda: under /tmp)


def search_index_settings_from_env(environ: Mapping[str, str] | None = None) -> SearchIndexSettings:
    env = Env(environ)
    refresh = env.get("SEARCH_REFRESH_S", "5")
    try:
        refresh_s = float(refresh)
    except ValueError:
        raise ConfigError(f"SEARCH_REFRESH_S must be a number of seconds, not {refresh!r}") from None
    import tempfile

    return SearchIndexSettings(
        bucket=env.need("SEARCH_INDEX_BUCKET"),
        refresh_s=refresh_s,
        workdir=env.get("SEARCH_INDEX_DIR") or str(Path(tempfile.gettempdir()) / f"petstore-search-{os.getpid()}"),
    )
