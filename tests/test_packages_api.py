"""DescribeQingCloudPackages and the package checks of UpgradeQingCloud, through the engine's API.

No node is needed: every rejection here happens before a job would start,
and DescribeJobs proves that none did.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile

import pytest

from engine.engine import Engine
from engine.lab.packages import LAB_PACKAGES, package_archive, write_lab_packages
from engine.lab.session import LabSession
from engine.packages import checksum_line

NEWER, OLDER, DAMAGED = (package.file_name for package in LAB_PACKAGES)


@pytest.fixture
async def engine(tmp_path):
    engine = Engine(tmp_path / "state")
    await engine.start()
    write_lab_packages(engine.layout.packages_dir)
    yield engine
    await engine.stop()


async def call(engine: Engine, action: str, request_type: str = "QingCloud", **params) -> dict:
    return await engine.call({"action": action, "request_type": request_type, **params})


def add_package(engine: Engine, file_name: str, *, checksum: str | None = "right") -> None:
    """Write a package; its checksum file is right, wrong text ('garbled') or absent (None)."""
    directory = engine.layout.packages_dir
    archive = package_archive(file_name)
    (directory / file_name).write_bytes(archive)
    if checksum == "right":
        (directory / f"{file_name}.sha256").write_text(checksum_line(hashlib.sha256(archive).hexdigest(), file_name))
    elif checksum == "garbled":
        (directory / f"{file_name}.sha256").write_text("not a checksum\n")


async def test_lab_packages_described_newest_first(engine):
    described = await call(engine, "DescribeQingCloudPackages")

    assert described["ret_code"] == 0, described
    assert described["installed_version"] == "4.3.0"
    assert described["packages_dir"] == str(engine.layout.packages_dir)
    assert described["upgrade_plan"] == []
    packages = described["package_set"]
    assert [package["package_name"] for package in packages] == [DAMAGED, NEWER, OLDER]
    newer = packages[1]
    assert newer == {
        "package_name": NEWER,
        "product": "qingcloud-installer-express",
        "version": "4.3.1",
        "build_date": "2019-03-18",
        "os": "16.04.3",
        "arch": "amd64",
        "size": (engine.layout.packages_dir / NEWER).stat().st_size,
        "upgradable": True,
        "problem": "",
    }
    assert packages[0]["upgradable"] is False
    assert packages[0]["problem"].startswith(f"checksum mismatch for '{DAMAGED}'")
    assert packages[2]["upgradable"] is False
    assert packages[2]["problem"].startswith("version 4.2.0 of")


async def test_unparsable_file_listed_with_problem(engine):
    (engine.layout.packages_dir / "notes.txt").write_text("copied from the vendor's portal\n")

    described = await call(engine, "DescribeQingCloudPackages")

    listed = described["package_set"][-1]
    assert listed["package_name"] == "notes.txt"
    assert (listed["product"], listed["version"], listed["upgradable"]) == ("", "", False)
    assert "is not a package name" in listed["problem"]


REJECTED = [
    ("../" + NEWER, 1100, f"package_name: '../{NEWER}' is a path; give the bare file name of a package in"),
    ("..\\" + NEWER, 1100, "is a path"),
    ("/etc/passwd", 1100, "is a path"),
    ("qingcloud-installer-express.tar.gz", 1100, "is not a package name of the form PRODUCT_VERSION-YYYYMMDD_OS_ARCH.tar.gz"),
    ("qingcloud-installer-express_4.3.1-20190231_16.04.3_amd64.tar.gz", 1100, "build date 20190231, which is not a real date"),
    ("qingcloud-installer-express_4.3.9-20190318_16.04.3_amd64.tar.gz", 2100, "not found in"),
    (DAMAGED, 1100, f"checksum mismatch for '{DAMAGED}'"),
    (OLDER, 5200, "version 4.2.0 of '" + OLDER + "' is not newer than the installed version 4.3.0"),
]


@pytest.mark.parametrize("package_name, ret_code, message", REJECTED)
async def test_bad_package_rejected_without_job(engine, package_name, ret_code, message):
    response = await call(engine, "UpgradeQingCloud", package_name=package_name)
    jobs = await call(engine, "DescribeJobs", "Job", job_action="UpgradeQingCloud")

    assert response["ret_code"] == ret_code, response
    assert message in response["message"]
    assert jobs["total_count"] == 0


async def test_package_without_checksum_file_rejected(engine):
    name = "qingcloud-installer-express_4.3.5-20190601_16.04.3_amd64.tar.gz"
    add_package(engine, name, checksum=None)

    response = await call(engine, "UpgradeQingCloud", package_name=name)
    jobs = await call(engine, "DescribeJobs", "Job", job_action="UpgradeQingCloud")

    assert response["ret_code"] == 1100
    assert f"has no checksum file {name}.sha256 beside it" in response["message"]
    assert jobs["total_count"] == 0


async def test_garbled_checksum_file_rejected(engine):
    name = "qingcloud-installer-express_4.3.5-20190601_16.04.3_amd64.tar.gz"
    add_package(engine, name, checksum="garbled")

    response = await call(engine, "UpgradeQingCloud", package_name=name)

    assert response["ret_code"] == 1100
    assert f"{name}.sha256 has no line '<64 hex digits>  {name}'" in response["message"]


async def test_same_version_is_not_newer(engine):
    name = "qingcloud-installer-express_4.3-20190101_16.04.3_amd64.tar.gz"
    add_package(engine, name)

    response = await call(engine, "UpgradeQingCloud", package_name=name)

    assert response["ret_code"] == 5200
    assert "version 4.3 of" in response["message"]
    assert "not newer than the installed version 4.3.0" in response["message"]


async def test_good_package_needs_deployed_nodes(engine):
    response = await call(engine, "UpgradeQingCloud", package_name=NEWER)
    jobs = await call(engine, "DescribeJobs", "Job", job_action="UpgradeQingCloud")

    assert response["ret_code"] == 5200
    assert "none is deployed yet; run DeployQingCloud first" in response["message"]
    assert jobs["total_count"] == 0


async def test_replaced_package_checked_again(engine):
    directory = engine.layout.packages_dir
    before = await call(engine, "DescribeQingCloudPackages")
    shutil.copyfile(directory / DAMAGED, directory / NEWER)

    after = await call(engine, "DescribeQingCloudPackages")

    assert [p["upgradable"] for p in before["package_set"] if p["package_name"] == NEWER] == [True]
    assert [p["upgradable"] for p in after["package_set"] if p["package_name"] == NEWER] == [False]


def test_lab_packages_written_once(tmp_path):
    first = write_lab_packages(tmp_path)
    second = write_lab_packages(tmp_path)

    assert first == [NEWER, OLDER, DAMAGED]
    assert second == []
    with tarfile.open(tmp_path / NEWER) as archive:
        version = archive.extractfile("qingcloud-installer-express-4.3.1/VERSION").read()
    assert version == b"4.3.1\n"
    with pytest.raises((tarfile.TarError, EOFError, OSError)):
        with tarfile.open(tmp_path / DAMAGED) as archive:
            archive.getmembers()


def test_lab_package_bytes_are_stable():
    assert package_archive(NEWER) == package_archive(NEWER)
    assert len(package_archive(NEWER)) < 4096


async def test_lab_session_puts_packages_in_place(tmp_path):
    engine = Engine(tmp_path / "state")
    session = LabSession(engine, speed=200)
    await session.start()
    try:
        described = await call(engine, "DescribeQingCloudPackages")
    finally:
        await session.stop()
        await engine.stop()

    upgradable = {package["package_name"]: package["upgradable"] for package in described["package_set"]}
    assert upgradable == {NEWER: True, OLDER: False, DAMAGED: False}
