"""The vendor's key material, and sealing to it and signing with it.

The vendor holds two key pairs, always kept together:

- an X25519 pair: installers encrypt application codes to its public key, and
  only the vendor can decrypt them;
- an Ed25519 pair: the vendor signs license codes with its private key, and
  installers verify them with the public one.

`qc-installer license keygen --out KEY.pem` writes two files:

- `KEY.pem`, mode 0600: two unencrypted PKCS#8 `PRIVATE KEY` PEM blocks, the
  X25519 key and the Ed25519 key. It never leaves the vendor.
- `KEY.pub.pem`: two `PUBLIC KEY` (SubjectPublicKeyInfo) PEM blocks, the two
  public keys. Installers trust this file (`--license-pubkey`).

Loaders tell the two keys apart by type, not by order, and reject a file that
lacks one of them or holds a key of another type.

A key id names a vendor key pair: the first 8 bytes of SHA-256 over the raw
X25519 public key followed by the raw Ed25519 public key, shown as 16 hex
digits.

Sealed data, for application codes, is

    b"QCA1" | key id (8) | ephemeral X25519 public key (32) | nonce (12) | AES-256-GCM ciphertext and tag

A fresh X25519 key per code agrees a shared secret with the vendor's X25519
key. HKDF-SHA256 turns the secret into the AES-256-GCM key, with both public
keys in its info so that the key belongs to this one exchange. The 44 bytes
before the nonce are authenticated as associated data. X25519 is used rather
than RSA-OAEP because its 32-byte keys keep an application code short enough
to copy from an 80-column console, and it pairs with the Ed25519 signing key.

Signed data, for license codes, is

    b"QCL1" | payload | Ed25519 signature (64) over the magic and the payload
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_MAGIC = b"QCA1"
SIGNED_MAGIC = b"QCL1"
KEY_ID_BYTES = 8
PUBLIC_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SIGNATURE_BYTES = 64
SEALED_HEADER_BYTES = len(SEALED_MAGIC) + KEY_ID_BYTES + PUBLIC_KEY_BYTES

HKDF_INFO = b"qingcloud-installer application code v1"

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.DOTALL)


class KeyFileError(Exception):
    """A vendor key file that is missing, unreadable or not a vendor key pair."""


class SealedDataError(Exception):
    """Sealed data that this vendor key cannot open: damaged, or sealed to another key."""


class SignatureError(Exception):
    """Signed data whose signature does not verify with the trusted vendor key."""


@dataclass(frozen=True)
class VendorPublicKey:
    """The public half of a vendor key pair: what an installer trusts."""

    encryption: X25519PublicKey
    signing: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        raw = self.encryption.public_bytes_raw() + self.signing.public_bytes_raw()
        return hashlib.sha256(raw).digest()[:KEY_ID_BYTES]

    @property
    def fingerprint(self) -> str:
        """Key id as 16 hex digits, as messages and the TUI show it."""
        return self.key_id.hex()

    def to_pem(self) -> bytes:
        return b"".join(
            key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            for key in (self.encryption, self.signing)
        )


@dataclass(frozen=True)
class VendorKeys:
    """A vendor key pair with its private keys: what only the vendor holds."""

    decryption: X25519PrivateKey
    signing: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> "VendorKeys":
        return cls(decryption=X25519PrivateKey.generate(), signing=Ed25519PrivateKey.generate())

    @property
    def public(self) -> VendorPublicKey:
        return VendorPublicKey(encryption=self.decryption.public_key(), signing=self.signing.public_key())

    def to_pem(self) -> bytes:
        return b"".join(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            for key in (self.decryption, self.signing)
        )


def public_key_path(private_key_path: Path) -> Path:
    """Return where keygen puts the public file beside KEY.pem: KEY.pub.pem."""
    name = private_key_path.name
    stem = name[: -len(".pem")] if name.endswith(".pem") else name
    return private_key_path.with_name(f"{stem}.pub.pem")


def write_vendor_keys(keys: VendorKeys, private_key_path: Path) -> Path:
    """Write KEY.pem (0600, created new) and KEY.pub.pem; return the public file's path.

    An existing private key file is never overwritten, because losing it makes
    every license issued with it unverifiable by new installers.
    """
    private_key_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(keys.to_pem())

    public_path = public_key_path(private_key_path)
    public_path.write_bytes(keys.public.to_pem())
    return public_path


def _pem_blocks(data: bytes, path: Path) -> list[bytes]:
    blocks = [match.group(0) for match in PEM_BLOCK.finditer(data)]
    if not blocks:
        raise KeyFileError(f"{path} contains no PEM block")
    return blocks


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} not found") from None
    except OSError as error:
        raise KeyFileError(f"{path} cannot be read: {error.strerror}") from None


def load_vendor_keys(path: Path) -> VendorKeys:
    """Read the vendor's private key file (KEY.pem); raise KeyFileError naming the problem."""
    decryption: X25519PrivateKey | None = None
    signing: Ed25519PrivateKey | None = None

    for block in _pem_blocks(_read(path), path):
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(
                f"{path} contains a PEM block that is not an unencrypted private key; "
                "`qc-installer license keygen` writes the expected file"
            ) from None
        if isinstance(key, X25519PrivateKey) and decryption is None:
            decryption = key
        elif isinstance(key, Ed25519PrivateKey) and signing is None:
            signing = key
        else:
            raise KeyFileError(f"{path} must contain one X25519 and one Ed25519 private key, and nothing else")

    if decryption is None or signing is None:
        missing = "X25519" if decryption is None else "Ed25519"
        raise KeyFileError(f"{path} has no {missing} private key; it is not a vendor key file")
    return VendorKeys(decryption=decryption, signing=signing)


def load_vendor_public_key(path: Path) -> VendorPublicKey:
    """Read a vendor public key file (KEY.pub.pem); raise KeyFileError naming the problem."""
    encryption: X25519PublicKey | None = None
    signing: Ed25519PublicKey | None = None

    for block in _pem_blocks(_read(path), path):
        if b"PRIVATE KEY" in block.split(b"\n", 1)[0]:
            raise KeyFileError(f"{path} contains a private key; give the installer the public file (KEY.pub.pem)")
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path} contains a PEM block that is not a public key") from None
        if isinstance(key, X25519PublicKey) and encryption is None:
            encryption = key
        elif isinstance(key, Ed25519PublicKey) and signing is None:
            signing = key
        else:
            raise KeyFileError(f"{path} must contain one X25519 and one Ed25519 public key, and nothing else")

    if encryption is None or signing is None:
        missing = "X25519" if encryption is None else "Ed25519"
        raise KeyFileError(f"{path} has no {missing} public key; it is not a vendor public key file")
    return VendorPublicKey(encryption=encryption, signing=signing)


def _derive_key(shared_secret: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO + ephemeral + recipient)
    return hkdf.derive(shared_secret)


def seal(recipient: VendorPublicKey, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` so that only the holder of the recipient's private keys can read it."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    recipient_public = recipient.encryption.public_bytes_raw()

    key = _derive_key(ephemeral.exchange(recipient.encryption), ephemeral_public, recipient_public)
    header = SEALED_MAGIC + recipient.key_id + ephemeral_public
    nonce = secrets.token_bytes(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header)


def is_sealed(data: bytes) -> bool:
    return data.startswith(SEALED_MAGIC)


def sealed_key_id(data: bytes) -> bytes:
    """Return the key id of the vendor key that sealed data was encrypted to."""
    return data[len(SEALED_MAGIC): len(SEALED_MAGIC) + KEY_ID_BYTES]


def open_sealed(keys: VendorKeys, data: bytes) -> bytes:
    """Decrypt sealed data; raise SealedDataError when it is damaged or sealed to another key."""
    if not is_sealed(data) or len(data) < SEALED_HEADER_BYTES + NONCE_BYTES + TAG_BYTES:
        raise SealedDataError("the data is not sealed by qingcloud-installer, or is cut short")

    key_id = sealed_key_id(data)
    if key_id != keys.public.key_id:
        raise SealedDataError(
            f"the data was encrypted to vendor key {key_id.hex()}, not to this key ({keys.public.fingerprint})"
        )

    header = data[:SEALED_HEADER_BYTES]
    ephemeral_public = header[len(SEALED_MAGIC) + KEY_ID_BYTES:]
    nonce = data[SEALED_HEADER_BYTES: SEALED_HEADER_BYTES + NONCE_BYTES]
    ciphertext = data[SEALED_HEADER_BYTES + NONCE_BYTES:]

    recipient_public = keys.decryption.public_key().public_bytes_raw()
    try:
        # exchange() raises ValueError for a low-order point, which only a forged header carries.
        shared_secret = keys.decryption.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        key = _derive_key(shared_secret, ephemeral_public, recipient_public)
        return AESGCM(key).decrypt(nonce, ciphertext, header)
    except (InvalidTag, ValueError):
        raise SealedDataError("the data fails its integrity check: it was changed or damaged") from None


def sign(keys: VendorKeys, payload: bytes) -> bytes:
    """Return the signed form of `payload`: magic, payload, Ed25519 signature."""
    message = SIGNED_MAGIC + payload
    return message + keys.signing.sign(message)


def is_signed(data: bytes) -> bool:
    return data.startswith(SIGNED_MAGIC) and len(data) > len(SIGNED_MAGIC) + SIGNATURE_BYTES


def verify_signed(public: VendorPublicKey, data: bytes) -> bytes:
    """Return the payload of signed data; raise SignatureError unless the vendor key signed it."""
    if not is_signed(data):
        raise SignatureError("the data is not signed by qingcloud-installer, or is cut short")

    message, signature = data[:-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
    try:
        public.signing.verify(signature, message)
    except InvalidSignature:
        raise SignatureError(
            f"the signature does not verify with vendor key {public.fingerprint}"
        ) from None
    return message[len(SIGNED_MAGIC):]


def split_signed(data: bytes) -> tuple[bytes, bytes]:
    """Return (payload, signature) of signed data whose signature was verified before."""
    return data[len(SIGNED_MAGIC):-SIGNATURE_BYTES], data[-SIGNATURE_BYTES:]
