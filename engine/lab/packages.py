"""Installer packages for the lab's packages directory, so that an upgrade can be tried.

Each package is a small real tar.gz holding a VERSION file and the list of
the node packages it would install, with a `NAME.sha256` checksum file beside
it. The lab offers three packages, one per outcome of UpgradeQingCloud on a
platform at the demo recipe's version 4.3.0. Version 4.3.1 is accepted and
4.2.0 is rejected as not newer. The file of 4.3.2 is truncated, as after an
interrupted download, so it no longer matches its checksum and is rejected.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from engine.packages import checksum_file_name, checksum_line, parse_package_name

#: Node packages each lab package claims to carry, as its packages.list shows them.
NODE_PACKAGES = (
    "pitrix-common", "pitrix-ks-server", "pitrix-ks-api", "pitrix-vgateway",
    "pitrix-vbr", "pitrix-snapshot", "pitrix-hyper", "pitrix-hyper-agent",
)


@dataclass(frozen=True)
class LabPackage:
    """A package the lab puts in the packages directory; `damaged` ones fail their checksum."""

    file_name: str
    damaged: bool = False


LAB_PACKAGES: tuple[LabPackage, ...] = (
    LabPackage("qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz"),
    LabPackage("qingcloud-installer-express_4.2.0-20181115_16.04.3_amd64.tar.gz"),
    LabPackage("qingcloud-installer-express_4.3.2-20190426_16.04.3_amd64.tar.gz", damaged=True),
)


def package_archive(file_name: str) -> bytes:
    """Build the tar.gz of a package; the same name always gives the same bytes."""
    name = parse_package_name(file_name)
    top = f"{name.product}-{name.version}"
    members = {
        "VERSION": f"{name.version}\n",
        "BUILD": f"build_date={name.build_date:%Y-%m-%d}\nos={name.os}\narch={name.arch}\n",
        "packages.list": "".join(f"{package} {name.version}\n" for package in NODE_PACKAGES),
    }

    # Fixed times keep the archive, and so its checksum, the same on every run.
    build_time = 1_500_000_000
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member, text in members.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{top}/{member}")
            info.size = len(data)
            info.mtime = build_time
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(tar_bytes.getvalue(), mtime=build_time)


def write_lab_packages(directory: Path, packages: tuple[LabPackage, ...] = LAB_PACKAGES) -> list[str]:
    """Write each lab package and its checksum file that `directory` lacks; return the names written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for package in packages:
        target = directory / package.file_name
        if target.exists():
            continue

        archive = package_archive(package.file_name)
        digest = hashlib.sha256(archive).hexdigest()
        if package.damaged:
            archive = archive[: len(archive) // 2]

        _write_atomic(directory / checksum_file_name(package.file_name), checksum_line(digest, package.file_name).encode())
        _write_atomic(target, archive)
        written.append(package.file_name)
    return written


def _write_atomic(path: Path, data: bytes) -> None:
    # Another engine listing the directory must never see half a package.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
