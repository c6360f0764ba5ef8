"""The packages directory: which installer packages it contains and whether one may be installed.

UpgradeQingCloud and DescribeQingCloudPackages share these checks, so the
problem a listing shows for a package is the message an upgrade with that
package is rejected with. The installed version is the platform's record of
the last successful upgrade, else the version the recipe states it installs.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import BAD_REQUEST, NOT_FOUND, WRONG_STATE, ApiError
from engine.packages import (
    CHECKSUM_SUFFIX,
    PackageName,
    PackageNameError,
    checksum_file_name,
    is_newer,
    is_path,
    parse_checksum_file,
    parse_package_name,
    version_key,
)

if TYPE_CHECKING:
    from engine.engine import Engine

#: Platform data key of the installed product version, set by a successful upgrade.
INSTALLED_VERSION_KEY = "installed_version"

_READ_CHUNK = 1 << 20

# Digests by (path, size, mtime_ns), so that listing the directory again does
# not read every package again.
_digest_cache: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class CheckedPackage:
    """A package UpgradeQingCloud accepts: its name, parts, file and checksum file."""

    name: PackageName
    path: Path
    checksum_path: Path
    digest: str


def installed_version(engine: "Engine") -> str:
    platform = engine.store.get_platform() or {}
    return str(platform.get(INSTALLED_VERSION_KEY) or engine.recipe.product_version)


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file as hexadecimal digits, reading it in chunks."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _digest_cache.get(key)
    if cached is not None:
        return cached

    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            digest.update(chunk)
    _digest_cache[key] = digest.hexdigest()
    return _digest_cache[key]


async def check_package(engine: "Engine", package_name: str) -> CheckedPackage:
    """Return the package if UpgradeQingCloud may install it now; raise ApiError saying why not.

    The checks run in this order: a path (1100), a name that does not parse
    (1100), no such file (2100), a missing or wrong checksum (1100), and a
    version not newer than the installed one (5200).
    """
    directory = engine.layout.packages_dir
    if is_path(package_name):
        raise ApiError(
            BAD_REQUEST,
            f"package_name: '{package_name}' is a path; give the bare file name of a package in {directory}",
        )
    try:
        name = parse_package_name(package_name)
    except PackageNameError as error:
        raise ApiError(BAD_REQUEST, f"package_name: {error}") from None

    path = directory / package_name
    if not path.is_file():
        raise ApiError(
            NOT_FOUND,
            f"package_name: '{package_name}' not found in {directory}; "
            "copy the package and its .sha256 file there (DescribeQingCloudPackages lists the packages)",
        )

    checksum_path = directory / checksum_file_name(package_name)
    digest = await asyncio.to_thread(verify_checksum, path, checksum_path)

    installed = installed_version(engine)
    if not installed:
        raise ApiError(
            WRONG_STATE,
            f"the installed version is unknown: recipe {engine.recipe.name} states no product_version, "
            "so no package can be judged newer",
        )
    if not is_newer(name.version, installed):
        raise ApiError(
            WRONG_STATE,
            f"package_name: version {name.version} of '{package_name}' is not newer than the installed "
            f"version {installed}; only a newer version can be installed",
        )
    return CheckedPackage(name=name, path=path, checksum_path=checksum_path, digest=digest)


def verify_checksum(path: Path, checksum_path: Path) -> str:
    """Return the package's SHA-256 when its checksum file matches it; raise ApiError 1100 otherwise."""
    package_name = path.name
    if not checksum_path.is_file():
        raise ApiError(
            BAD_REQUEST,
            f"package_name: '{package_name}' has no checksum file {checksum_path.name} beside it in "
            f"{path.parent}; write one with `sha256sum {package_name} > {checksum_path.name}` "
            "from the checksum the vendor published",
        )
    try:
        expected = parse_checksum_file(checksum_path.read_text(encoding="utf-8", errors="replace"), package_name)
    except ValueError as error:
        raise ApiError(BAD_REQUEST, f"package_name: {error}") from None

    actual = file_digest(path)
    if actual != expected:
        raise ApiError(
            BAD_REQUEST,
            f"package_name: checksum mismatch for '{package_name}': {checksum_path.name} gives "
            f"{expected}, the file's SHA-256 is {actual}; the file is damaged or incomplete, copy it again",
        )
    return actual


async def list_packages(engine: "Engine") -> list[dict[str, Any]]:
    """Describe every file of the packages directory but checksum and hidden files, newest version first."""
    directory = engine.layout.packages_dir
    if not directory.is_dir():
        return []

    names = sorted(
        entry.name for entry in directory.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(CHECKSUM_SUFFIX)
    )
    described = [await describe_package(engine, name) for name in names]

    versioned = [info for info in described if info["version"]]
    versioned.sort(key=lambda info: version_key(info["version"]), reverse=True)
    unparsed = [info for info in described if not info["version"]]
    return versioned + unparsed


async def describe_package(engine: "Engine", package_name: str) -> dict[str, Any]:
    path = engine.layout.packages_dir / package_name
    info: dict[str, Any] = {
        "package_name": package_name,
        "product": "",
        "version": "",
        "build_date": "",
        "os": "",
        "arch": "",
        "size": path.stat().st_size,
    }
    try:
        name = parse_package_name(package_name)
    except PackageNameError:
        pass
    else:
        info.update(
            product=name.product,
            version=name.version,
            build_date=f"{name.build_date:%Y-%m-%d}",
            os=name.os,
            arch=name.arch,
        )

    try:
        await check_package(engine, package_name)
    except ApiError as error:
        info["upgradable"] = False
        info["problem"] = error.message.removeprefix("package_name: ")
    else:
        info["upgradable"] = True
        info["problem"] = ""
    return info
