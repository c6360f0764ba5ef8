"""Installer package names, versions and checksum files.

A package file is named `PRODUCT_VERSION-BUILDDATE_OS_ARCH.tar.gz`, e.g.
`qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz`: product
qingcloud-installer-express, version 4.3.1, built on 2019-03-18, for Ubuntu
16.04.3 on amd64. Versions compare numerically part by part, so 4.3.10 is
newer than 4.3.9, and missing parts count as 0, so 4.3 equals 4.3.0.

Each package comes with a checksum file beside it, `NAME.sha256`, in the
format `sha256sum` writes and `sha256sum -c` reads: 64 hexadecimal digits,
two spaces (or a space and `*`), then the package's file name.

Everything here is pure: nothing reads files or the clock.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

PACKAGE_SUFFIX = ".tar.gz"
CHECKSUM_SUFFIX = ".sha256"
EXAMPLE_NAME = "qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz"

VERSION_PATTERN = r"[0-9]+(?:\.[0-9]+)*"
_NAME = re.compile(
    r"^(?P<product>[a-z][a-z0-9-]*)"
    rf"_(?P<version>{VERSION_PATTERN})"
    r"-(?P<build_date>[0-9]{8})"
    r"_(?P<os>[A-Za-z0-9][A-Za-z0-9.]*)"
    r"_(?P<arch>[a-z0-9][a-z0-9_]*)"
    r"\.tar\.gz$"
)
_VERSION = re.compile(rf"^{VERSION_PATTERN}$")
_CHECKSUM_LINE = re.compile(r"^(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)$")


class PackageNameError(ValueError):
    """A package name that cannot be used; the message gives the reason and the expected form."""


@dataclass(frozen=True)
class PackageName:
    """The parts of a package file name."""

    product: str
    version: str
    build_date: datetime.date
    os: str
    arch: str

    @property
    def file_name(self) -> str:
        return f"{self.product}_{self.version}-{self.build_date:%Y%m%d}_{self.os}_{self.arch}{PACKAGE_SUFFIX}"

    @property
    def version_key(self) -> tuple[int, ...]:
        return version_key(self.version)


def is_path(name: str) -> bool:
    """Tell whether `name` tries to leave the packages directory or name a directory."""
    return "/" in name or "\\" in name or ".." in name or "\x00" in name


def parse_package_name(name: str) -> PackageName:
    """Split a package file name into its parts; raise PackageNameError naming the part at fault."""
    if is_path(name):
        raise PackageNameError(f"'{name}' is a path; give the bare file name of a package, e.g. {EXAMPLE_NAME}")

    match = _NAME.match(name)
    if match is None:
        raise PackageNameError(
            f"'{name}' is not a package name of the form PRODUCT_VERSION-YYYYMMDD_OS_ARCH.tar.gz, "
            f"e.g. {EXAMPLE_NAME}"
        )

    raw_date = match["build_date"]
    try:
        build_date = datetime.datetime.strptime(raw_date, "%Y%m%d").date()
    except ValueError:
        raise PackageNameError(f"'{name}' has build date {raw_date}, which is not a real date (YYYYMMDD)") from None

    return PackageName(
        product=match["product"],
        version=match["version"],
        build_date=build_date,
        os=match["os"],
        arch=match["arch"],
    )


def version_key(version: str) -> tuple[int, ...]:
    """Return a key that orders versions numerically; trailing zero parts do not count.

    Raises ValueError for a string that is not dot-separated digits.
    """
    if not _VERSION.match(version):
        raise ValueError(f"invalid version {version!r}: expected numbers separated by dots, e.g. 4.3.1")

    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_newer(candidate: str, installed: str) -> bool:
    return version_key(candidate) > version_key(installed)


def checksum_file_name(package_name: str) -> str:
    return package_name + CHECKSUM_SUFFIX


def parse_checksum_file(text: str, package_name: str) -> str:
    """Return the lower-case SHA-256 digest that a `sha256sum` line gives for `package_name`.

    Raises ValueError when no line has the sha256sum form for that file name.
    """
    for line in text.splitlines():
        match = _CHECKSUM_LINE.match(line.strip())
        if match is not None and match["name"] == package_name:
            return match["digest"].lower()
    raise ValueError(
        f"{checksum_file_name(package_name)} has no line '<64 hex digits>  {package_name}' "
        "as sha256sum writes it"
    )


def checksum_line(digest: str, package_name: str) -> str:
    """Return the line `sha256sum` writes for a file: digest, two spaces, name."""
    return f"{digest}  {package_name}\n"
