"""Finding the IDX files of MNIST-style data sets on disk, or downloading them.

Where the four files of a data set ``name`` ("fashion-mnist" or "mnist") are looked
for, in order (the first directory holding all four wins):

1. the explicit ``data_dir`` argument (the files directly inside it);
2. ``$TINYGRAD_LITE_DATA/<name>/``;
3. the per-user cache ``$XDG_CACHE_HOME/tinygrad_lite/<name>/`` (default
   ``~/.cache/tinygrad_lite/<name>/``);
4. system directories: ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package
   ``dataset-fashion-mnist``) for Fashion-MNIST.

Each file may be gzip-compressed (``*.gz``) or raw. When no place has them and
``download`` is on, the ``.gz`` files are fetched from a list of mirrors into the
cache: each is streamed into a temporary file beside its destination, its SHA-256
checked, and only then renamed into place, so an interrupted or tampered download
never leaves a file that looks complete. Otherwise a :class:`DatasetNotFoundError`
lists every place searched and how to obtain the files.
"""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write

ENV_VAR = "TINYGRAD_LITE_DATA"
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteDataset:
    """Where a data set's ``.gz`` files can be downloaded and their SHA-256 digests."""

    title: str
    mirrors: tuple[str, ...]  # base URLs, each followed by the file name
    sha256: dict  # "<file>.gz" -> hex digest
    system_dirs: tuple[str, ...] = ()
    hint: str = ""


REGISTRY: dict[str, RemoteDataset] = {
    "fashion-mnist": RemoteDataset(
        title="Fashion-MNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        sha256={
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        hint="on Debian/Ubuntu: sudo apt install dataset-fashion-mnist",
    ),
    "mnist": RemoteDataset(
        title="MNIST",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        sha256={
            "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
    ),
}


class DatasetNotFoundError(FileNotFoundError):
    """The files of a data set are in none of the searched places and could not be downloaded."""


def cache_dir() -> Path:
    """The per-user cache root: ``$XDG_CACHE_HOME/tinygrad_lite`` or ``~/.cache/tinygrad_lite``."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "tinygrad_lite"


def _remote(name: str) -> RemoteDataset:
    if name not in REGISTRY:
        raise ValueError(f"unknown data set {name!r}; expected one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[Path | None, str]]:
    """The places searched for data set ``name``, in order, as (directory or None, description)."""
    env = os.environ.get(ENV_VAR)
    places = [(Path(data_dir) if data_dir is not None else None, "data_dir argument"),
              (Path(env) / name if env else None, f"${ENV_VAR}/{name}"),
              (cache_dir() / name, "per-user cache")]
    places += [(Path(d), "system directory") for d in _remote(name).system_dirs]
    return places


def _files_in(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """The IDX files found in ``directory`` (``.gz`` preferred over raw) and those missing."""
    found, missing = {}, []
    for base in IDX_FILES:
        for candidate in (directory / f"{base}.gz", directory / base):
            if candidate.is_file():
                found[base] = candidate
                break
        else:
            missing.append(base)
    return found, missing


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Mismatch(ValueError):
    """A download whose SHA-256 is not the expected one (its file is never kept)."""


def _fetch(url: str, dest: Path, sha256: str, opener: Callable, timeout: float) -> None:
    """Stream ``url`` into ``dest`` through the library's atomic writer, which renames the
    file into place only if the whole body arrived and its SHA-256 is ``sha256``."""
    digest = hashlib.sha256()
    with atomic_write(dest) as out, opener(url, timeout=timeout) as response:
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != sha256:  # raised inside: the temporary file is removed
            raise _Mismatch(f"SHA-256 mismatch (got {digest.hexdigest()}, expected {sha256}); file rejected")


def download_file(urls: list[str], dest: str | os.PathLike, sha256: str,
                  opener: Callable | None = None, timeout: float = 60.0) -> Path:
    """Download the first of ``urls`` whose content has SHA-256 ``sha256`` to ``dest``.

    Each try goes through ``tinygrad_lite.files.atomic_write``: into a temporary file
    beside ``dest`` that is renamed into place only after its digest matched; failures
    and mismatches leave nothing behind. ``opener(url, timeout=...)`` returns a readable
    response (default ``urllib.request.urlopen``; tests pass their own). Raises OSError
    listing each URL's failure when none succeeds.
    """
    opener = opener or urllib.request.urlopen
    dest = Path(dest)
    errors = []
    for url in urls:
        try:
            print(f"downloading {url}", file=sys.stderr)
            _fetch(url, dest, sha256, opener, timeout)
        except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
            errors.append(f"{url}: {e}")
            continue
        return dest
    raise OSError(f"could not download {dest.name}:\n  " + "\n  ".join(errors))


def _download_all(name: str, mirrors, opener, timeout) -> dict[str, Path]:
    remote = _remote(name)
    target = cache_dir() / name
    files = {}
    for base in IDX_FILES:
        gz = f"{base}.gz"
        if (target / gz).is_file() and sha256_of(target / gz) == remote.sha256[gz]:
            files[base] = target / gz  # kept from an earlier, partly completed download
            continue
        urls = [m.rstrip("/") + "/" + gz for m in mirrors]
        files[base] = download_file(urls, target / gz, remote.sha256[gz], opener=opener, timeout=timeout)
    return files


def find_dataset(name: str, data_dir: str | os.PathLike | None = None, download: bool = True,
                 mirrors: list[str] | None = None, opener: Callable | None = None,
                 timeout: float = 60.0) -> dict[str, Path]:
    """Paths of the four IDX files of data set ``name``, keyed by base name
    (e.g. ``"train-images-idx3-ubyte"``), found or downloaded as the module describes.

    ``mirrors`` replaces the built-in list of base URLs; ``opener`` the URL opener.
    """
    remote = _remote(name)
    report = []
    for i, (directory, what) in enumerate(search_dirs(name, data_dir), 1):
        if directory is None:
            report.append(f"  {i}. {what}: not given")
            continue
        if not directory.is_dir():
            report.append(f"  {i}. {directory} ({what}): no such directory")
            continue
        found, missing = _files_in(directory)
        if not missing:
            return found
        report.append(f"  {i}. {directory} ({what}): missing {', '.join(missing)}")
    mirrors = list(mirrors) if mirrors is not None else list(remote.mirrors)
    if download:
        try:
            return _download_all(name, mirrors, opener, timeout)
        except OSError as e:
            reason = f"Downloading into the cache failed: {e}"
    else:
        reason = "Downloading is off (download=False)."
    raise DatasetNotFoundError(_not_found_message(name, report, reason, mirrors))


def _not_found_message(name: str, report: list[str], reason: str, mirrors: list[str]) -> str:
    remote = _remote(name)
    gz_names = ", ".join(f + ".gz" for f in IDX_FILES)
    wanted = ", ".join(f + "[.gz]" for f in IDX_FILES)
    lines = [f"{remote.title} files ({wanted}) not found. Searched, in order:", *report, reason,
             "To obtain them:",
             f"  download {gz_names} from one of: {', '.join(mirrors)}",
             f"  into a directory passed as data_dir, or into ${ENV_VAR}/{name}/ or {cache_dir() / name}/"]
    if remote.hint:
        lines.append(f"  or, {remote.hint}")
    return "\n".join(lines)
