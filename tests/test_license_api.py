"""Licenses through the API: generate, issue with a test vendor key, activate, describe, and every refusal."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.engine import Engine
from engine.license import crypto
from engine.license.codes import issue_license, open_application
from engine.license.store import license_store
from engine.license.trust import trust_vendor_key_file

START = "2030-01-01 00:00:00"
END = "2031-01-01 00:00:00"
INSIDE = datetime(2030, 6, 1, tzinfo=timezone.utc)

GOOD_REQUEST = {
    "action": "GenerateQingCloudCode",
    "request_type": "QingCloud",
    "description": "pek3 lab",
    "start_time": START,
    "end_time": END,
    "applicant": "admin@yunify.com",
    "hypernode_count": 8,
}


class Clock:
    """An engine clock a test sets by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def vendor(tmp_path: Path) -> tuple[crypto.VendorKeys, Path]:
    keys = crypto.VendorKeys.generate()
    public_path = crypto.write_vendor_keys(keys, tmp_path / "vendor" / "KEY.pem")
    return keys, public_path


@pytest.fixture
async def engine(tmp_path: Path, vendor):
    engine = Engine(tmp_path / "state")
    engine.clock = Clock(INSIDE)
    trust_vendor_key_file(engine, vendor[1])
    await engine.start()
    yield engine
    await engine.stop()


async def generate(engine: Engine, **changes) -> dict:
    return await engine.call({**GOOD_REQUEST, **changes})


async def activate(engine: Engine, code: str) -> dict:
    return await engine.call({"action": "ActivateQingCloudLicense", "request_type": "QingCloud", "license_code": code})


async def describe(engine: Engine, **params) -> dict:
    return await engine.call({"action": "DescribeQingCloudLicenses", "request_type": "QingCloud", **params})


async def licensed_code(engine: Engine, keys: crypto.VendorKeys, issued: datetime = INSIDE, **issue_options) -> str:
    """Generate an application code on `engine` and issue a license code for it with `keys`."""
    response = await generate(engine)
    assert response["ret_code"] == 0, response
    application = open_application(keys, response["application_code"])
    _grant, code = issue_license(keys, application, now=issued, **issue_options)
    return code


def add_zone(engine: Engine, zone_id: str, platform_id: str) -> None:
    engine.store.save_zone_config(zone_id, platform_id=platform_id, job_id="j-test0001", variables={},
                                  settings={"roles": {}}, merged={}, files={})


# -- the round trip --------------------------------------------------------


async def test_round_trip_generate_issue_activate_describe(engine, vendor):
    keys, _public = vendor
    add_zone(engine, "pek3a", "5eab9b05410f44ce5d57bafe4d57bb79")

    generated = await generate(engine)
    application = open_application(keys, generated["application_code"])
    grant, code = issue_license(keys, application, now=INSIDE - timedelta(days=1))
    activated = await activate(engine, code)
    described = await describe(engine)

    assert generated["ret_code"] == 0
    assert application.fields.applicant == "admin@yunify.com"
    assert application.fields.hypernode_count == 8
    assert application.platform["zones"][0]["zone_id"] == "pek3a"
    assert grant.zones == {"pek3a": "5eab9b05410f44ce5d57bafe4d57bb79"}
    assert activated == {"action": "ActivateQingCloudLicenseResponse", "license_id": grant.license_id, "ret_code": 0}
    assert described["total_count"] == 1
    assert described["license_set"] == [{
        "license_id": grant.license_id,
        "status": "enabled",
        "start_time": "2030-01-01T00:00:00Z",
        "end_time": "2031-01-01T00:00:00Z",
        "create_time": "2030-06-01T00:00:00Z",
        "status_time": "2030-06-01T00:00:00Z",
        "hypernode_count": 8,
    }]
    assert described["licensed_hypernode_count"] == 8
    assert described["deployed_hypernode_count"] == 0
    assert described["vendor_key"] == keys.public.fingerprint


async def test_license_id_format(engine, vendor):
    code = await licensed_code(engine, vendor[0])

    license_id = (await activate(engine, code))["license_id"]

    assert license_id.startswith("lc-")
    assert len(license_id) == 11
    assert license_id[3:].isalnum()
    assert license_id[3:].isascii()


async def test_application_code_is_fresh_each_time(engine):
    first = (await generate(engine))["application_code"]
    second = (await generate(engine))["application_code"]

    assert first != second, "each code has its own ephemeral key and nonce"
    base64.b64decode(first, validate=True)


async def test_vendor_overrides_end_and_count(engine, vendor):
    keys = vendor[0]
    code = await licensed_code(engine, keys, days=30, hypernode_count=2)
    engine.clock.now = datetime(2030, 1, 15, tzinfo=timezone.utc)

    await activate(engine, code)
    entry = (await describe(engine))["license_set"][0]

    assert entry["end_time"] == "2030-01-31T00:00:00Z"
    assert entry["hypernode_count"] == 2


async def test_wrapped_code_with_spaces_activates(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    wrapped = "\n".join(code[index:index + 76] for index in range(0, len(code), 76))

    response = await activate(engine, f"  {wrapped}\n")

    assert response["ret_code"] == 0


# -- GenerateQingCloudCode: every malformed field ----------------------------

MALFORMED_FIELDS = [
    ("description", ""),
    ("description", "   "),
    ("description", 42),
    ("description", "line one\nline two"),
    ("description", "x" * 257),
    ("start_time", "2030/01/01 00:00:00"),
    ("start_time", "2030-01-01T00:00:00"),
    ("start_time", "2030-01-01T00:00:00Z"),
    ("start_time", "2030-1-1 00:00:00"),
    ("start_time", "2030-01-01 00:00"),
    ("start_time", "2030-01-01"),
    ("start_time", "2030-02-30 00:00:00"),
    ("start_time", "2030-01-01 24:00:00"),
    ("start_time", " 2030-01-01 00:00:00"),
    ("start_time", ""),
    ("start_time", 1893456000),
    ("end_time", "31/12/2030 00:00:00"),
    ("end_time", "2029-12-31 23:59:59"),
    ("end_time", START),
    ("applicant", "admin@qingcloud.com"),
    ("applicant", "admin@yunify.com.cn"),
    ("applicant", "admin@YUNIFY.COM"),
    ("applicant", "@yunify.com"),
    ("applicant", "admin yunify.com"),
    ("applicant", "ad min@yunify.com"),
    ("applicant", "a..b@yunify.com"),
    ("applicant", ".a@yunify.com"),
    ("applicant", ""),
    ("applicant", ["admin@yunify.com"]),
    ("hypernode_count", 0),
    ("hypernode_count", -3),
    ("hypernode_count", "8"),
    ("hypernode_count", True),
    ("hypernode_count", 8.0),
    ("hypernode_count", None),
    ("hypernode_count", 10**12),
]


@pytest.mark.parametrize(("field", "value"), MALFORMED_FIELDS, ids=[f"{f}={v!r}"[:40] for f, v in MALFORMED_FIELDS])
async def test_generate_rejects_malformed_field(engine, field, value):
    response = await generate(engine, **{field: value})

    assert response["ret_code"] == 1100
    assert f"'{field}'" in response["message"]
    assert "application_code" not in response


@pytest.mark.parametrize("field", ["description", "start_time", "end_time", "applicant", "hypernode_count"])
async def test_generate_rejects_missing_field(engine, field):
    request = {key: value for key, value in GOOD_REQUEST.items() if key != field}

    response = await engine.call(request)

    assert response["ret_code"] == 1100
    assert f"'{field}' is missing" in response["message"]


async def test_generate_accepts_reference_example(engine):
    response = await generate(engine, description="just for test!", start_time="2017-08-31 15:20:21",
                              end_time="2018-08-31 15:20:21", hypernode_count=8)

    assert response["ret_code"] == 0


async def test_generate_without_vendor_key_is_wrong_state(tmp_path):
    engine = Engine(tmp_path / "bare")
    try:
        response = await generate(engine)
    finally:
        await engine.stop()

    assert response["ret_code"] == 5200
    assert "--license-pubkey" in response["message"]
    assert "QCI_LICENSE_PUBKEY" in response["message"]


# -- ActivateQingCloudLicense: refusals, nothing stored ------------------------


async def assert_rejected(engine: Engine, code: str, expected: str, ret_code: int = 1100) -> str:
    response = await activate(engine, code)
    described = await describe(engine)

    assert response["ret_code"] == ret_code, response
    assert expected in response["message"]
    assert code.strip() not in response["message"]
    assert described["total_count"] == 0, "a refused code stores nothing"
    return response["message"]


def resign(keys: crypto.VendorKeys, code: str, change) -> str:
    """Decode a license code, change its JSON with `change`, and sign it again with `keys`."""
    data = base64.b64decode(code)
    payload, _signature = crypto.split_signed(data)
    document = json.loads(payload)
    change(document)
    return base64.b64encode(crypto.sign(keys, json.dumps(document).encode())).decode()


async def test_tampered_payload_rejected(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    data = bytearray(base64.b64decode(code))
    payload_text = bytes(data).decode("latin-1")
    position = payload_text.index('"hypernode_count":8') + len('"hypernode_count":')
    data[position:position + 1] = b"9"

    message = await assert_rejected(engine, base64.b64encode(bytes(data)).decode(), "signature does not verify")

    assert "changed after it was issued" in message


async def test_flipped_signature_rejected(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    data = bytearray(base64.b64decode(code))
    data[-1] ^= 0x01

    await assert_rejected(engine, base64.b64encode(bytes(data)).decode(), "signature does not verify")


async def test_code_of_another_vendor_rejected(engine):
    other_vendor = crypto.VendorKeys.generate()
    response = await generate(engine)
    # A holder of another vendor key cannot open this application, so the test signs a license of its own.
    with pytest.raises(Exception, match="encrypted to vendor key"):
        open_application(other_vendor, response["application_code"])
    forged = crypto.sign(other_vendor, b'{"format":1}')

    await assert_rejected(engine, base64.b64encode(forged).decode(), "another vendor key")


async def test_code_for_another_platform_rejected(engine, vendor, tmp_path):
    keys, public_path = vendor
    other = Engine(tmp_path / "other-platform")
    other.clock = Clock(INSIDE)
    trust_vendor_key_file(other, public_path)
    try:
        foreign_code = await licensed_code(other, keys)
        other_platform_id = license_store(other).platform_id(INSIDE)
    finally:
        await other.stop()

    message = await assert_rejected(engine, foreign_code, "was issued for platform")

    assert other_platform_id in message
    assert "generate an application code on this platform" in message


@pytest.mark.parametrize("code", ["dakdkj/dajk89adakNg/adal===", "not base64 at all!", "QUJD\u00e9", "===="])
async def test_malformed_base64_rejected(engine, code):
    await assert_rejected(engine, code, "not valid base64")


async def test_garbage_base64_rejected(engine):
    await assert_rejected(engine, base64.b64encode(b"hello, this is no license").decode(), "header is missing")


async def test_application_code_given_as_license_rejected(engine):
    application_code = (await generate(engine))["application_code"]

    await assert_rejected(engine, application_code, "this is an application code, not a license code")


async def test_signed_content_of_unknown_format_rejected(engine, vendor):
    keys = vendor[0]
    code = resign(keys, await licensed_code(engine, keys), lambda document: document.update(format=2))

    await assert_rejected(engine, code, "not in format 1")


async def test_empty_code_rejected(engine):
    response = await activate(engine, "")

    assert response["ret_code"] == 1100
    assert "'license_code'" in response["message"]


async def test_expired_code_rejected(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    engine.clock.now = datetime(2031, 1, 1, tzinfo=timezone.utc)

    message = await assert_rejected(engine, code, "expired at 2031-01-01 00:00:00 UTC")

    assert "now 2031-01-01 00:00:00 UTC" in message


async def test_not_yet_valid_code_rejected(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    engine.clock.now = datetime(2029, 12, 31, 23, 59, 59, tzinfo=timezone.utc)

    await assert_rejected(engine, code, "is not valid yet: it starts at 2030-01-01 00:00:00 UTC")


async def test_activation_window_edges(engine, vendor):
    keys = vendor[0]
    first = await licensed_code(engine, keys)
    second = await licensed_code(engine, keys)

    engine.clock.now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    at_start = await activate(engine, first)
    engine.clock.now = datetime(2030, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    last_second = await activate(engine, second)

    assert at_start["ret_code"] == 0
    assert last_second["ret_code"] == 0


async def test_activating_twice_rejected(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    await activate(engine, code)

    response = await activate(engine, code)

    assert response["ret_code"] == 1100
    assert "already activated" in response["message"]
    assert (await describe(engine))["total_count"] == 1


async def test_zone_not_on_platform_rejected(engine, vendor):
    keys = vendor[0]
    add_zone(engine, "pek3a", "a" * 32)
    application = open_application(keys, (await generate(engine))["application_code"])
    platform = {**application.platform, "zones": [*application.platform["zones"],
                                                 {"zone_id": "pek3c", "platform_id": "c" * 32}]}
    _grant, code = issue_license(keys, dataclasses.replace(application, platform=platform), now=INSIDE)

    await assert_rejected(engine, code, "names zone pek3c, which is not configured on this platform")


async def test_zone_of_another_platform_rejected(engine, vendor):
    keys = vendor[0]
    add_zone(engine, "pek3a", "a" * 32)
    application = open_application(keys, (await generate(engine))["application_code"])
    platform = {**application.platform, "zones": [{"zone_id": "pek3a", "platform_id": "b" * 32}]}
    _grant, code = issue_license(keys, dataclasses.replace(application, platform=platform), now=INSIDE)

    message = await assert_rejected(engine, code, "names zone pek3a with platform_id " + "b" * 32)

    assert "a" * 32 in message


async def test_activate_without_vendor_key_is_wrong_state(tmp_path):
    engine = Engine(tmp_path / "bare")
    try:
        response = await activate(engine, "QUJD")
    finally:
        await engine.stop()

    assert response["ret_code"] == 5200
    assert "--license-pubkey" in response["message"]


# -- DescribeQingCloudLicenses: status at the engine's clock -------------------


@pytest.mark.parametrize(("now", "status", "status_time"), [
    (datetime(2029, 12, 31, 23, 59, 59), "pending", "2030-06-01T00:00:00Z"),
    (datetime(2030, 1, 1, 0, 0, 0), "enabled", "2030-06-01T00:00:00Z"),
    (datetime(2030, 12, 31, 23, 59, 59), "enabled", "2030-06-01T00:00:00Z"),
    (datetime(2031, 1, 1, 0, 0, 0), "expired", "2031-01-01T00:00:00Z"),
    (datetime(2040, 1, 1, 0, 0, 0), "expired", "2031-01-01T00:00:00Z"),
])
async def test_status_at_window_edges(engine, vendor, now, status, status_time):
    await activate(engine, await licensed_code(engine, vendor[0]))
    engine.clock.now = now.replace(tzinfo=timezone.utc)

    entry = (await describe(engine))["license_set"][0]

    assert entry["status"] == status
    assert entry["status_time"] == status_time


async def test_status_uses_utc_whatever_the_clock_zone(engine, vendor):
    await activate(engine, await licensed_code(engine, vendor[0]))
    beijing = timezone(timedelta(hours=8))
    # 2030-01-01 07:59:59 in Beijing is 2029-12-31 23:59:59 UTC: one second before the start.
    engine.clock.now = datetime(2030, 1, 1, 7, 59, 59, tzinfo=beijing)
    before = (await describe(engine))["license_set"][0]["status"]
    engine.clock.now = datetime(2030, 1, 1, 8, 0, 0, tzinfo=beijing)
    at_start = (await describe(engine))["license_set"][0]["status"]

    assert before == "pending"
    assert at_start == "enabled"


async def test_status_time_is_start_when_activated_earlier(engine, vendor):
    code = await licensed_code(engine, vendor[0])
    engine.clock.now = datetime(2030, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
    await activate(engine, code)
    engine.clock.now = datetime(2030, 3, 1, tzinfo=timezone.utc)

    entry = (await describe(engine))["license_set"][0]

    assert entry["create_time"] == "2030-01-01T00:00:00Z"
    assert entry["status_time"] == "2030-01-01T00:00:00Z"


async def test_describe_filters_by_license_ids(engine, vendor):
    keys = vendor[0]
    first = (await activate(engine, await licensed_code(engine, keys)))["license_id"]
    engine.clock.now = INSIDE + timedelta(hours=1)
    second = (await activate(engine, await licensed_code(engine, keys)))["license_id"]

    everything = await describe(engine)
    only_first = await describe(engine, license_ids=[first])

    assert [entry["license_id"] for entry in everything["license_set"]] == [second, first], "newest first"
    assert everything["total_count"] == 2
    assert [entry["license_id"] for entry in only_first["license_set"]] == [first]
    assert only_first["total_count"] == 1


async def test_describe_unknown_license_is_not_found(engine):
    response = await describe(engine, license_ids=["lc-gGHu4Uu0"])

    assert response["ret_code"] == 2100
    assert "lc-gGHu4Uu0" in response["message"]


async def test_newest_enabled_license_sets_limit(engine, vendor):
    keys = vendor[0]
    await activate(engine, await licensed_code(engine, keys, hypernode_count=10))
    await activate(engine, await licensed_code(engine, keys, issued=INSIDE + timedelta(hours=1), hypernode_count=4))

    described = await describe(engine)

    assert described["licensed_hypernode_count"] == 4, "licenses do not add up; the newest sets the limit"


async def test_no_limit_before_any_license(engine):
    described = await describe(engine)

    assert described["total_count"] == 0
    assert "licensed_hypernode_count" not in described
