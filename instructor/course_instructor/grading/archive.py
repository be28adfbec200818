"""Read a class export (a zip from an LMS) entry by entry, bounded, and never all-or-nothing.

:func:`entries` yields every member the caller wants as an :class:`Entry`: its bytes, or why it
could not be read. One bad member (a wrong CRC, an unsafe ``../`` or absolute path, a symbolic
link, a member over the size or compression-ratio limit) costs only that member; the others are
read. A zip whose central directory is damaged (a truncated download) is read from the members'
local headers instead, so every member before the damage is still recovered. Nothing is ever
decompressed past :class:`ZipLimits` (a zip bomb stops at the limit, in memory and on disk).
"""
from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

_LOCAL = b"PK\x03\x04"
_LOCAL_FMT = "<4sHHHHHLLLHH"  # signature, version, flags, method, time, date, crc, sizes, name and extra lengths


@dataclass(frozen=True)
class ZipLimits:
    """What one class export may unpack to."""

    total_bytes: int = 2 * 1024**3  # all members together
    member_bytes: int = 128 * 1024**2  # one member
    members: int = 20_000
    ratio: float = 200.0  # uncompressed / compressed, checked for members above 1 MiB
    archive_bytes: int = 2 * 1024**3  # the zip itself, when it has to be salvaged from local headers


@dataclass
class Entry:
    name: str  # the member's path inside the zip
    data: bytes | None = None  # None when it could not be read
    problem: str = ""  # why it could not be read


def unsafe_name(name: str) -> str:
    """Why a member path must not be extracted ("" if it is safe)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return "an absolute path"
    if ".." in path.parts:
        return "a path outside the export (..)"
    return ""


def entries(path: Path, wanted: Callable[[str], bool], limits: ZipLimits = ZipLimits()) -> Iterator[Entry]:
    """The members of the zip at ``path`` whose name ``wanted`` accepts (directories excluded).

    Raises ``ValueError`` only if nothing at all can be read from the file.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        yield from _salvage(Path(path), wanted, limits, f"{type(err).__name__}: {err}")
        return
    budget = [limits.total_bytes]
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir() and wanted(i.filename)]
        for n, info in enumerate(infos):
            if n >= limits.members:
                yield Entry(info.filename, problem=f"more than {limits.members} files in the export: not read")
                continue
            why = unsafe_name(info.filename) or _member_problem(info, limits, budget[0])
            if why:
                yield Entry(info.filename, problem=why)
                continue
            try:
                with zf.open(info) as src:
                    data = src.read(min(limits.member_bytes, budget[0]) + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as err:
                yield Entry(info.filename, problem=f"unreadable ({type(err).__name__}: {str(err)[:80]})")
                continue
            if len(data) > min(limits.member_bytes, budget[0]):
                yield Entry(info.filename, problem="unpacks to more than its stated size or the export's size limit")
                continue
            budget[0] -= len(data)
            yield Entry(info.filename, data)


def _member_problem(info: zipfile.ZipInfo, limits: ZipLimits, budget: int) -> str:
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.file_size > 1024**2 and info.file_size > limits.ratio * max(info.compress_size, 1):
        return f"compressed more than {limits.ratio:g}:1 (a zip bomb?)"
    if info.file_size > limits.member_bytes:
        return f"larger than {limits.member_bytes // 1024**2} MiB unpacked"
    if info.file_size > budget:
        return f"the export unpacks to more than {limits.total_bytes // 1024**2} MiB"
    return ""


def _salvage(path: Path, wanted: Callable[[str], bool], limits: ZipLimits, why: str) -> Iterator[Entry]:
    """Members read from their local headers when the zip's directory is unreadable."""
    if not path.is_file() or path.stat().st_size > limits.archive_bytes:
        raise ValueError(f"{path.name} is not a readable zip ({why})")
    data = path.read_bytes()
    pos, found, budget = data.find(_LOCAL), 0, limits.total_bytes
    while pos != -1 and len(data) - pos >= 30:
        _, _, flags, method, _, _, crc, csize, size, nlen, xlen = struct.unpack(_LOCAL_FMT, data[pos:pos + 30])
        name = data[pos + 30:pos + 30 + nlen].decode("utf-8" if flags & 0x800 else "cp437", "replace")
        start = pos + 30 + nlen + xlen
        pos = data.find(_LOCAL, pos + 4)
        if name.endswith("/") or not wanted(name):
            continue
        found += 1
        if found > limits.members:
            yield Entry(name, problem=f"more than {limits.members} files in the export: not read")
            continue
        if unsafe_name(name):
            yield Entry(name, problem=unsafe_name(name))
            continue
        cap = min(limits.member_bytes, budget)
        try:
            if method == 0 and not flags & 8:
                body, tail = data[start:start + csize], b""
                if len(body) < csize:
                    raise ValueError("cut off")
            elif method == 8:
                inflater = zlib.decompressobj(-15)
                body = inflater.decompress(data[start:], cap + 1)
                if len(body) > cap:
                    raise ValueError("over the size limit")
                if not inflater.eof:
                    raise ValueError("cut off")
                tail = inflater.unused_data
            else:
                raise ValueError(f"compression method {method} without a readable directory")
            if flags & 8:  # sizes and CRC follow the data (optionally after a signature)
                tail = tail[4:] if tail[:4] == b"PK\x07\x08" else tail
                crc = struct.unpack("<L", tail[:4])[0] if len(tail) >= 4 else None
            if crc is not None and zlib.crc32(body) != crc:
                raise ValueError("bad CRC")
        except (ValueError, zlib.error, struct.error) as err:
            yield Entry(name, problem=f"unreadable ({err}; the zip is damaged)")
            continue
        budget -= len(body)
        yield Entry(name, body)
    if not found:
        raise ValueError(f"{path.name} is not a readable zip ({why})")
