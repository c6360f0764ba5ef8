"""The vendor public key an engine trusts, and the lab's own vendor key pair.

The operator names the vendor's public key file when starting the installer
(`--license-pubkey`, or `QCI_LICENSE_PUBKEY`). Without one, the engine can
neither generate application codes nor activate licenses, and says so.

The lab is its own vendor: it keeps a vendor key pair in its state directory
and trusts it, so that anyone trying the lab can issue lab licenses with
`qc-installer license issue --vendor-key <state>/lab-vendor-key.pem CODE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import WRONG_STATE, ApiError
from engine.license.crypto import (
    VendorKeys,
    VendorPublicKey,
    load_vendor_keys,
    load_vendor_public_key,
    write_vendor_keys,
)

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger("engine.license")

LAB_VENDOR_KEY_NAME = "lab-vendor-key.pem"


@dataclass(frozen=True)
class VendorTrust:
    """The vendor public key an engine trusts, where it came from, and the lab's private key file if any."""

    public_key: VendorPublicKey
    source: str
    lab_private_key: Path | None = None


def trust_vendor_key(engine: "Engine", trust: VendorTrust) -> None:
    """Make the engine trust a vendor public key for the rest of its life."""
    engine.license_trust = trust
    log.info("license vendor key %s trusted, from %s", trust.public_key.fingerprint, trust.source)


def trust_vendor_key_file(engine: "Engine", path: Path) -> VendorTrust:
    """Trust the vendor public key file at `path`; raise KeyFileError when it is not one."""
    trust = VendorTrust(public_key=load_vendor_public_key(path), source=str(path))
    trust_vendor_key(engine, trust)
    return trust


def trusted_vendor_key(engine: "Engine") -> VendorTrust | None:
    return engine.license_trust


def require_vendor_key(engine: "Engine", action: str) -> VendorTrust:
    """Return the trusted vendor key, or raise 5200 saying how to provide one."""
    trust = trusted_vendor_key(engine)
    if trust is None:
        raise ApiError(
            WRONG_STATE,
            f"{action} needs the vendor's public key, and none is configured; start the installer with "
            "--license-pubkey FILE or set QCI_LICENSE_PUBKEY to the vendor's KEY.pub.pem",
        )
    return trust


def lab_vendor_key_path(state_dir: Path) -> Path:
    return Path(state_dir) / LAB_VENDOR_KEY_NAME


def trust_lab_vendor_key(engine: "Engine") -> VendorTrust:
    """Create the lab's vendor key pair in the engine's state directory if needed, and trust it."""
    private_path = lab_vendor_key_path(engine.layout.root)
    if not private_path.exists():
        public_path = write_vendor_keys(VendorKeys.generate(), private_path)
        log.info("lab vendor key pair created: %s and %s", private_path, public_path)

    trust = VendorTrust(public_key=load_vendor_keys(private_path).public, source=str(private_path),
                        lab_private_key=private_path)
    trust_vendor_key(engine, trust)
    return trust
