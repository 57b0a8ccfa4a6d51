"""Download-and-cache helpers shared by every dataset loader (pooch underneath).

A loader that reads public data takes ``path=None``. With a path, the files are
read from there and nothing is downloaded. Without one, each file is fetched
once from its original address with :func:`fetch`, checked against its known
SHA-256, and kept in the user cache (:func:`cache_dir`); later calls read the
cached copy without touching the network.

How a loader uses it
--------------------
Declare the files as ``{file name: Remote(url, known_hash)}`` and let
:func:`resolve_files` turn ``path`` into local paths::

    FILES = {
        "answers.csv": Remote(
            "https://raw.githubusercontent.com/o/r/<commit>/answers.csv",
            "sha256:<64 hex digits>",
        ),
    }

    def load_something(path=None):
        paths = resolve_files(path, FILES, subdir="something-2024")
        frame = pd.read_csv(paths["answers.csv"])

``path`` may be a folder holding the files under the same names, or (for a
single-file dataset) the file itself.

The cache folder is ``$LLMDRIFT_CACHE`` when that variable is set, else the
platform's user cache folder for ``llmdrift`` (``~/.cache/llmdrift`` on Linux).

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("x\\n1\\n")
>>> files = {"a.csv": Remote("https://example.invalid/a.csv", None)}
>>> resolve_files(folder, files, subdir="example")["a.csv"].name
'a.csv'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Remote", "cache_dir", "fetch", "resolve_files"]

logger = logging.getLogger(__name__)

CACHE_ENV = "LLMDRIFT_CACHE"
"""Environment variable that overrides the cache folder."""


@dataclass(frozen=True)
class Remote:
    """Where a file can be downloaded from, and its expected content hash.

    Parameters
    ----------
    url : str
        Address of the file. Pin it to a commit or release so the bytes cannot
        change under the hash.
    known_hash : str or None
        ``"sha256:<hex>"`` (or a bare SHA-256 hex digest) of the file. ``None``
        skips the check; only use that for files without stable bytes.
    """

    url: str
    known_hash: str | None


def cache_dir(subdir: str | None = None) -> Path:
    """The folder where downloaded datasets are kept (created if absent).

    Parameters
    ----------
    subdir : str, optional
        A folder inside the cache, one per dataset (e.g. ``"chen2023-llmdrift"``).

    Returns
    -------
    pathlib.Path
        ``$LLMDRIFT_CACHE[/subdir]`` if the variable is set, else the user cache
        folder of ``llmdrift`` from :func:`pooch.os_cache`.

    Examples
    --------
    >>> cache_dir("x").name
    'x'
    """
    import pooch

    base = os.environ.get(CACHE_ENV)
    root = Path(base).expanduser() if base else Path(pooch.os_cache("llmdrift"))
    folder = root / subdir if subdir else root
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fetch(
    url: str,
    known_hash: str | None,
    *,
    fname: str | None = None,
    subdir: str | None = None,
    progress: bool = False,
) -> Path:
    """Download ``url`` once into the cache and return the local path.

    The file is re-downloaded only when it is missing from the cache or its
    hash does not match ``known_hash``.

    Parameters
    ----------
    url : str
        Address of the file.
    known_hash : str or None
        Expected ``"sha256:<hex>"`` of the file; pooch raises ``ValueError`` on
        a mismatch (the download is not kept).
    fname : str, optional
        Name of the cached file; defaults to the last part of the URL.
    subdir : str, optional
        Folder inside :func:`cache_dir`.
    progress : bool, default=False
        Show a download progress bar (tqdm).

    Returns
    -------
    pathlib.Path
        The cached file.

    Raises
    ------
    ConnectionError
        When the download fails; the message names the URL and how to give a
        local copy instead.
    """
    import pooch

    folder = cache_dir(subdir)
    name = fname or url.rstrip("/").rsplit("/", 1)[-1]
    logger.debug("fetching %s into %s", url, folder)
    try:
        local = pooch.retrieve(
            url,
            known_hash=known_hash,
            fname=name,
            path=folder,
            progressbar=progress,
        )
    except ValueError:
        raise
    except Exception as exc:  # network errors come in many classes
        raise ConnectionError(
            f"could not download {url} ({type(exc).__name__}: {exc}); "
            "download it yourself and pass the folder that holds it: path=... to "
            "the llmdrift.datasets loader, or the runbook's folder parameter "
            "(data_path in 01, path in 02, chen2023_path in 03)"
        ) from exc
    return Path(local)


def resolve_files(
    path: str | os.PathLike | None,
    files: Mapping[str, Remote],
    *,
    subdir: str,
    progress: bool = False,
) -> dict[str, Path]:
    """Local paths of a dataset's files: from ``path`` if given, else downloaded.

    Parameters
    ----------
    path : str, path-like or None
        A folder holding every file named in ``files`` (or, when ``files`` has
        one entry, that file itself). ``None`` downloads each file with
        :func:`fetch` into ``cache_dir(subdir)``.
    files : mapping of str to Remote
        File name -> where to download it from and its hash.
    subdir : str
        Cache folder of this dataset.
    progress : bool, default=False
        Show download progress bars.

    Returns
    -------
    dict of str to pathlib.Path
        File name -> local path, in the order of ``files``.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist or lacks one of the files; the message
        lists which and what ``path=None`` would do instead.
    """
    if path is None:
        return {
            name: fetch(
                remote.url,
                remote.known_hash,
                fname=name,
                subdir=subdir,
                progress=progress,
            )
            for name, remote in files.items()
        }

    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(
            f"path {str(root)!r} does not exist; give the folder that holds "
            f"{sorted(files)} or path=None to download them"
        )
    if root.is_file():
        if len(files) != 1:
            raise FileNotFoundError(
                f"path {str(root)!r} is a file, but this dataset has "
                f"{len(files)} files {sorted(files)}; give their folder instead"
            )
        return {next(iter(files)): root}
    found = {name: root / name for name in files}
    missing = [name for name, p in found.items() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"folder {str(root)!r} lacks {missing}; it must hold {sorted(files)} "
            "under those names (or pass path=None to download them)"
        )
    return found
