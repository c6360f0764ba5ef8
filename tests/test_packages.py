"""Package names, versions and checksum lines: examples and properties."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.packages import (
    PackageName,
    PackageNameError,
    checksum_line,
    is_newer,
    parse_checksum_file,
    parse_package_name,
    version_key,
)

REFERENCE_NAME = "qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.tar.gz"

products = st.from_regex(r"[a-z][a-z0-9-]{0,24}", fullmatch=True)
version_parts = st.lists(st.integers(min_value=0, max_value=99999), min_size=1, max_size=5)
versions = version_parts.map(lambda parts: ".".join(map(str, parts)))
build_dates = st.dates(min_value=datetime.date(1970, 1, 1), max_value=datetime.date(2099, 12, 31))
os_releases = st.lists(st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True), min_size=1, max_size=4).map(".".join)
arches = st.from_regex(r"[a-z0-9][a-z0-9_]{0,8}", fullmatch=True)
package_names = st.builds(PackageName, product=products, version=versions, build_date=build_dates, os=os_releases, arch=arches)


def test_reference_name_parts():
    name = parse_package_name(REFERENCE_NAME)

    assert name.product == "qingcloud-installer-express"
    assert name.version == "4.3.1"
    assert name.build_date == datetime.date(2019, 3, 18)
    assert name.os == "16.04.3"
    assert name.arch == "amd64"
    assert name.file_name == REFERENCE_NAME


def test_arch_with_underscore_parses():
    name = parse_package_name("qingcloud-installer_4.3.1-20190318_7.6_x86_64.tar.gz")

    assert (name.os, name.arch) == ("7.6", "x86_64")


@pytest.mark.parametrize("name, reason", [
    ("../" + REFERENCE_NAME, "is a path"),
    ("packages/" + REFERENCE_NAME, "is a path"),
    ("..\\" + REFERENCE_NAME, "is a path"),
    ("..", "is a path"),
    ("qingcloud-installer-express_4.3.1-20190318_16.04.3_amd64.zip", "is not a package name"),
    ("qingcloud-installer-express-4.3.1-20190318_16.04.3_amd64.tar.gz", "is not a package name"),
    ("qingcloud-installer-express_4.3.a-20190318_16.04.3_amd64.tar.gz", "is not a package name"),
    ("qingcloud-installer-express_4.3.1-2019031_16.04.3_amd64.tar.gz", "is not a package name"),
    ("Qingcloud_4.3.1-20190318_16.04.3_amd64.tar.gz", "is not a package name"),
    ("", "is not a package name"),
    ("qingcloud-installer-express_4.3.1-20190230_16.04.3_amd64.tar.gz", "build date 20190230, which is not a real date"),
    ("qingcloud-installer-express_4.3.1-20191318_16.04.3_amd64.tar.gz", "build date 20191318, which is not a real date"),
])
def test_bad_name_rejected_with_reason(name, reason):
    with pytest.raises(PackageNameError) as raised:
        parse_package_name(name)

    assert reason in str(raised.value)


@given(package_names)
def test_name_round_trips(name):
    assert parse_package_name(name.file_name) == name


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_name_error(text):
    try:
        name = parse_package_name(text)
    except PackageNameError as error:
        assert f"'{text}'" in str(error)
    else:
        assert name.file_name == text


@given(package_names, st.sampled_from(["/", "\\", "../", "..\\"]), st.integers(min_value=0, max_value=60))
def test_name_with_path_rejected_as_path(name, separator, position):
    file_name = name.file_name
    at = min(position, len(file_name))
    with pytest.raises(PackageNameError, match="is a path"):
        parse_package_name(file_name[:at] + separator + file_name[at:])


@given(st.integers(min_value=1970, max_value=2099), st.integers(min_value=1, max_value=12), st.integers(min_value=29, max_value=39))
def test_impossible_build_date_rejected(year, month, day):
    try:
        datetime.date(year, month, day)
    except ValueError:
        pass
    else:
        return  # a real date, which the other tests cover

    raw = f"{year:04d}{month:02d}{day:02d}"
    with pytest.raises(PackageNameError, match=f"build date {raw}, which is not a real date"):
        parse_package_name(f"qingcloud-installer-express_4.3.1-{raw}_16.04.3_amd64.tar.gz")


def test_versions_compare_numerically():
    assert is_newer("4.3.10", "4.3.9")
    assert is_newer("4.3.1", "4.3.0")
    assert is_newer("10.0", "9.9.9")
    assert not is_newer("4.3.0", "4.3")
    assert not is_newer("4.2.0", "4.3.0")


@given(version_parts, version_parts)
def test_version_order_is_numeric_tuple_order(left, right):
    def trimmed(parts):
        parts = list(parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    a = ".".join(map(str, left))
    b = ".".join(map(str, right))

    assert is_newer(a, b) == (trimmed(left) > trimmed(right))
    if is_newer(a, b):
        assert not is_newer(b, a)


@given(versions, st.integers(min_value=1, max_value=3))
def test_trailing_zero_parts_do_not_count(version, zeros):
    assert version_key(version + ".0" * zeros) == version_key(version)


@given(versions)
def test_leading_zeros_compare_as_numbers(version):
    padded = ".".join(part.zfill(3) for part in version.split("."))

    assert version_key(padded) == version_key(version)


@pytest.mark.parametrize("version", ["", "4.3.", ".4", "4..3", "v4.3", "4.3-1"])
def test_invalid_version_raises(version):
    with pytest.raises(ValueError, match="invalid version"):
        version_key(version)


@given(st.binary(max_size=256), package_names)
def test_checksum_line_round_trips(data, name):
    digest = hashlib.sha256(data).hexdigest()

    assert parse_checksum_file(checksum_line(digest, name.file_name), name.file_name) == digest


def test_checksum_file_in_binary_mode_and_upper_case():
    digest = "AB" * 32
    text = f"{'0' * 64}  other.tar.gz\n{digest} *{REFERENCE_NAME}\n"

    assert parse_checksum_file(text, REFERENCE_NAME) == digest.lower()


@pytest.mark.parametrize("text", [
    "",
    "ab" * 32 + "\n",
    "ab" * 32 + "  other.tar.gz\n",
    "ab" * 31 + "  " + REFERENCE_NAME + "\n",
    "zz" * 32 + "  " + REFERENCE_NAME + "\n",
])
def test_checksum_file_without_matching_line_raises(text):
    with pytest.raises(ValueError, match="as sha256sum writes it"):
        parse_checksum_file(text, REFERENCE_NAME)
