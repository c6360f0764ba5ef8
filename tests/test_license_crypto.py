"""The vendor key files, sealing to the vendor and signing by it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.license import crypto


@pytest.fixture
def keys() -> crypto.VendorKeys:
    return crypto.VendorKeys.generate()


def test_keygen_files_and_modes(tmp_path: Path, keys):
    private_path = tmp_path / "vendor" / "KEY.pem"

    public_path = crypto.write_vendor_keys(keys, private_path)

    assert public_path == tmp_path / "vendor" / "KEY.pub.pem"
    assert stat.S_IMODE(os.stat(private_path).st_mode) == 0o600
    assert private_path.read_bytes().count(b"-----BEGIN PRIVATE KEY-----") == 2
    assert public_path.read_bytes().count(b"-----BEGIN PUBLIC KEY-----") == 2
    assert b"PRIVATE" not in public_path.read_bytes()


def test_key_files_load_back(tmp_path: Path, keys):
    public_path = crypto.write_vendor_keys(keys, tmp_path / "KEY.pem")

    loaded = crypto.load_vendor_keys(tmp_path / "KEY.pem")
    public = crypto.load_vendor_public_key(public_path)

    assert loaded.public.fingerprint == keys.public.fingerprint
    assert public.fingerprint == keys.public.fingerprint
    assert len(public.fingerprint) == 16


def test_keygen_never_overwrites(tmp_path: Path, keys):
    private_path = tmp_path / "KEY.pem"
    crypto.write_vendor_keys(keys, private_path)
    before = private_path.read_bytes()

    with pytest.raises(FileExistsError):
        crypto.write_vendor_keys(crypto.VendorKeys.generate(), private_path)

    assert private_path.read_bytes() == before


def test_public_keys_load_in_either_order(tmp_path: Path, keys):
    blocks = keys.public.to_pem().split(b"-----END PUBLIC KEY-----\n")
    swapped = tmp_path / "swapped.pem"
    swapped.write_bytes(blocks[1] + b"-----END PUBLIC KEY-----\n" + blocks[0] + b"-----END PUBLIC KEY-----\n")

    assert crypto.load_vendor_public_key(swapped).fingerprint == keys.public.fingerprint


def test_public_key_file_problems(tmp_path: Path, keys):
    only_signing = tmp_path / "only-signing.pem"
    only_signing.write_bytes(keys.signing.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    private_given = tmp_path / "private.pem"
    private_given.write_bytes(keys.to_pem())
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")

    with pytest.raises(crypto.KeyFileError, match="has no X25519 public key"):
        crypto.load_vendor_public_key(only_signing)
    with pytest.raises(crypto.KeyFileError, match="contains a private key"):
        crypto.load_vendor_public_key(private_given)
    with pytest.raises(crypto.KeyFileError, match="contains no PEM block"):
        crypto.load_vendor_public_key(garbage)
    with pytest.raises(crypto.KeyFileError, match="not found"):
        crypto.load_vendor_public_key(tmp_path / "missing.pem")


def test_private_key_file_with_two_signing_keys_rejected(tmp_path: Path):
    doubled = tmp_path / "doubled.pem"
    doubled.write_bytes(b"".join(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        for _ in range(2)))

    with pytest.raises(crypto.KeyFileError, match="one X25519 and one Ed25519 private key"):
        crypto.load_vendor_keys(doubled)


def test_seal_round_trip(keys):
    sealed = crypto.seal(keys.public, b"platform identity")

    assert sealed.startswith(b"QCA1")
    assert b"platform identity" not in sealed
    assert crypto.open_sealed(keys, sealed) == b"platform identity"


def test_sealed_to_another_key_names_both_ids(keys):
    other = crypto.VendorKeys.generate()
    sealed = crypto.seal(other.public, b"x")

    with pytest.raises(crypto.SealedDataError) as raised:
        crypto.open_sealed(keys, sealed)

    assert other.public.fingerprint in str(raised.value)
    assert keys.public.fingerprint in str(raised.value)


@pytest.mark.parametrize("position", [4, 20, 50, -1])
def test_changed_sealed_byte_fails(keys, position):
    sealed = bytearray(crypto.seal(keys.public, b"platform identity"))
    sealed[position] ^= 0x40

    with pytest.raises(crypto.SealedDataError):
        crypto.open_sealed(keys, bytes(sealed))


def test_sign_and_verify(keys):
    signed = crypto.sign(keys, b'{"license_id":"lc-abcdefgh"}')

    assert crypto.verify_signed(keys.public, signed) == b'{"license_id":"lc-abcdefgh"}'
    with pytest.raises(crypto.SignatureError, match="does not verify"):
        crypto.verify_signed(crypto.VendorKeys.generate().public, signed)
    with pytest.raises(crypto.SignatureError, match="cut short"):
        crypto.verify_signed(keys.public, signed[:40])


def test_forged_low_order_ephemeral_key_fails(keys):
    # An all-zero X25519 public key makes exchange() raise; the header is the only place it could come from.
    forged = crypto.SEALED_MAGIC + keys.public.key_id + bytes(32) + bytes(12) + bytes(40)

    with pytest.raises(crypto.SealedDataError, match="integrity check"):
        crypto.open_sealed(keys, forged)
