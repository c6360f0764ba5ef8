"""Application codes and license codes: what they contain and how they are written as text.

An application code is base64 of a JSON application sealed to the vendor's
public key (engine/license/crypto.py describes the sealing):

    {"format": 1, "request": {description, start_time, end_time, applicant, hypernode_count},
     "platform": {platform_id, region_id, node_count, zones: [{zone_id, platform_id, *_node_num}]},
     "create_time": ..., "installer_version": ...}

A license code is base64 of a JSON license signed with the vendor's key:

    {"format": 1, "license_id": "lc-xxxxxxxx", "hypernode_count": N, "start_time": ..., "end_time": ...,
     "issue_time": ..., "applicant": ..., "description": ...,
     "platform": {"platform_id": ..., "region_id": ..., "zones": {zone_id: zone platform_id}}}

Times in both are UTC in `%Y-%m-%d %H:%M:%S`. Whitespace inside a code is
ignored when it is read, so a code wrapped over several lines still reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.license import crypto
from engine.license.fields import (
    ApplicationFields,
    FieldError,
    check_application_fields,
    check_hypernode_count,
    check_window,
)
from engine.license.times import format_request_time, parse_request_time

CODE_FORMAT = 1
LICENSE_ID_PATTERN = re.compile(r"lc-[A-Za-z0-9]{8}")
LICENSE_ID_ALPHABET = string.ascii_letters + string.digits
BASE64_PATTERN = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class CodeError(Exception):
    """A code that cannot be used. The message gives the reason and never quotes the code."""


@dataclass(frozen=True)
class Application:
    """A decrypted application: the checked request and the platform it came from."""

    fields: ApplicationFields
    platform: dict[str, Any]
    create_time: str
    installer_version: str

    @property
    def zone_platform_ids(self) -> dict[str, str]:
        return {zone["zone_id"]: zone["platform_id"] for zone in self.platform.get("zones", [])}


@dataclass(frozen=True)
class LicenseGrant:
    """The content of a license code. Times are aware UTC datetimes."""

    license_id: str
    hypernode_count: int
    start_time: datetime
    end_time: datetime
    issue_time: datetime
    platform_id: str
    region_id: str
    zones: dict[str, str] = field(default_factory=dict)
    applicant: str = ""
    description: str = ""


def encode_code(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_code(text: str, name: str) -> bytes:
    """Decode a base64 code, ignoring whitespace; raise CodeError naming `name` when it is not base64."""
    compact = "".join(text.split())
    if not compact:
        raise CodeError(f"the {name} is empty")
    problem = f"the {name} is not valid base64; copy the whole code, with nothing before or after it"
    # b64decode alone lets surplus padding such as "===" through.
    if len(compact) % 4 or not BASE64_PATTERN.fullmatch(compact):
        raise CodeError(problem)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise CodeError(problem) from None


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# -- application codes -------------------------------------------------------


def seal_application(
    public: crypto.VendorPublicKey,
    fields: ApplicationFields,
    platform: dict[str, Any],
    *,
    now: datetime,
    installer_version: str,
) -> str:
    """Return the application code for a checked request and the platform's identity."""
    document = {
        "format": CODE_FORMAT,
        "request": {
            "description": fields.description,
            "start_time": format_request_time(fields.start_time),
            "end_time": format_request_time(fields.end_time),
            "applicant": fields.applicant,
            "hypernode_count": fields.hypernode_count,
        },
        "platform": platform,
        "create_time": format_request_time(now),
        "installer_version": installer_version,
    }
    return encode_code(crypto.seal(public, canonical_json(document)))


def open_application(keys: crypto.VendorKeys, code: str) -> Application:
    """Decrypt and check an application code (vendor side); raise CodeError saying what is wrong."""
    data = decode_code(code, "application code")
    if crypto.is_signed(data) and not crypto.is_sealed(data):
        raise CodeError("this is a license code, not an application code")
    try:
        plaintext = crypto.open_sealed(keys, data)
    except crypto.SealedDataError as error:
        raise CodeError(f"the application code cannot be decrypted: {error}") from None

    try:
        document = json.loads(plaintext)
        request = document["request"]
        platform = document["platform"]
        if document.get("format") != CODE_FORMAT or not isinstance(platform, dict):
            raise CodeError(f"the application is in format {document.get('format')!r}; format {CODE_FORMAT} is read")
        fields = check_application_fields(
            description=request["description"],
            start_time=request["start_time"],
            end_time=request["end_time"],
            applicant=request["applicant"],
            hypernode_count=request["hypernode_count"],
        )
        check_platform(platform)
        return Application(
            fields=fields,
            platform=platform,
            create_time=str(document.get("create_time", "")),
            installer_version=str(document.get("installer_version", "")),
        )
    except FieldError as error:
        raise CodeError(f"the application's {error.field} is invalid: {error.problem}") from None
    except (ValueError, KeyError, TypeError):
        raise CodeError("the application decrypts, but its content is not an application") from None


def check_platform(platform: dict[str, Any]) -> None:
    """Raise ValueError unless `platform` has the identity fields a license binds to."""
    if not isinstance(platform.get("platform_id"), str) or not platform["platform_id"]:
        raise ValueError("platform_id")
    for zone in platform.get("zones", []):
        if not isinstance(zone.get("zone_id"), str) or not isinstance(zone.get("platform_id"), str):
            raise ValueError("zones")


# -- license codes -----------------------------------------------------------


def new_license_id() -> str:
    return "lc-" + "".join(secrets.choice(LICENSE_ID_ALPHABET) for _ in range(8))


def license_window(
    application: Application, *, end_time: datetime | None = None, days: int | None = None
) -> tuple[datetime, datetime]:
    """Return the license's validity: the requested start, and the requested end unless the vendor sets one.

    `days` counts from the requested start time. Raise CodeError when the end is not after the start.
    """
    start = application.fields.start_time
    end = application.fields.end_time
    if end_time is not None:
        end = end_time
    elif days is not None:
        end = start + timedelta(days=days)
    try:
        check_window(start, end, end_field="end time")
    except FieldError as error:
        raise CodeError(f"the {error.field} {error.problem}") from None
    return start, end


def issue_license(
    keys: crypto.VendorKeys,
    application: Application,
    *,
    now: datetime,
    end_time: datetime | None = None,
    days: int | None = None,
    hypernode_count: int | None = None,
) -> tuple[LicenseGrant, str]:
    """Sign a license for an application (vendor side); return its content and the license code."""
    start, end = license_window(application, end_time=end_time, days=days)
    count = application.fields.hypernode_count if hypernode_count is None else hypernode_count
    try:
        check_hypernode_count(count, "hyper node count")
    except FieldError as error:
        raise CodeError(f"the {error.field} {error.problem}") from None

    grant = LicenseGrant(
        license_id=new_license_id(),
        hypernode_count=count,
        start_time=start,
        end_time=end,
        issue_time=now.replace(microsecond=0),
        platform_id=application.platform["platform_id"],
        region_id=str(application.platform.get("region_id", "")),
        zones=application.zone_platform_ids,
        applicant=application.fields.applicant,
        description=application.fields.description,
    )
    return grant, encode_code(crypto.sign(keys, canonical_json(license_document(grant))))


def license_document(grant: LicenseGrant) -> dict[str, Any]:
    return {
        "format": CODE_FORMAT,
        "license_id": grant.license_id,
        "hypernode_count": grant.hypernode_count,
        "start_time": format_request_time(grant.start_time),
        "end_time": format_request_time(grant.end_time),
        "issue_time": format_request_time(grant.issue_time),
        "applicant": grant.applicant,
        "description": grant.description,
        "platform": {"platform_id": grant.platform_id, "region_id": grant.region_id, "zones": grant.zones},
    }


def read_license(public: crypto.VendorPublicKey, code: str) -> tuple[LicenseGrant, bytes, bytes]:
    """Verify a license code; return its content, its signed payload and its signature.

    Raise CodeError, with a message of its own for each case: not base64, an
    application code, not a license code, a signature that does not verify,
    and a signed payload this version cannot read.
    """
    data = decode_code(code, "license code")
    if crypto.is_sealed(data):
        raise CodeError(
            "this is an application code, not a license code; send it to the vendor, who returns a license code"
        )
    if not crypto.is_signed(data):
        raise CodeError("the code is not a license code of qingcloud-installer: its header is missing")
    try:
        payload = crypto.verify_signed(public, data)
    except crypto.SignatureError as error:
        raise CodeError(
            f"{error}: the code was changed after it was issued, or was issued with another vendor key"
        ) from None

    try:
        grant = parse_license_document(json.loads(payload))
    except (ValueError, KeyError, TypeError, FieldError):
        raise CodeError(
            f"the license is signed by the vendor, but its content is not in format {CODE_FORMAT}; "
            "a newer qingcloud-installer may be needed"
        ) from None

    signed_payload, signature = crypto.split_signed(data)
    return grant, signed_payload, signature


def parse_license_document(document: dict[str, Any]) -> LicenseGrant:
    """Build a LicenseGrant from a signed license's JSON.

    Raise ValueError, KeyError, TypeError or FieldError when the document does not fit format 1.
    """
    if document["format"] != CODE_FORMAT:
        raise ValueError("format")
    if not LICENSE_ID_PATTERN.fullmatch(document["license_id"]):
        raise ValueError("license_id")
    count = document["hypernode_count"]
    check_hypernode_count(count)

    times = {}
    for key in ("start_time", "end_time", "issue_time"):
        moment = parse_request_time(document[key])
        if moment is None:
            raise ValueError(key)
        times[key] = moment

    platform = document["platform"]
    zones = platform["zones"]
    if not isinstance(zones, dict) or not all(isinstance(v, str) for v in zones.values()):
        raise TypeError("zones")
    if not isinstance(platform["platform_id"], str):
        raise TypeError("platform_id")

    return LicenseGrant(
        license_id=document["license_id"],
        hypernode_count=count,
        platform_id=platform["platform_id"],
        region_id=str(platform.get("region_id", "")),
        zones=dict(zones),
        applicant=str(document.get("applicant", "")),
        description=str(document.get("description", "")),
        **times,
    )
