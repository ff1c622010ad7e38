"""The machine's local CA for `invoke up` over HTTPS (STACK_HTTPS=local), as mkcert makes one.

The root (rootCA.pem, its key readable by its owner only) is made once per machine in
STACK_CA_DIR; the user trusts it once (README "HTTPS"). Each project gets a server certificate
for its host names, issued again when the names change, the root changed, or it nears its end.
Neither file ever leaves the machine or enters an image: nginx gets the folder as a read-only
mount.
"""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stackctl.errors import CertificateRefused
from stackctl.tls.certcheck import Certificate, check_certificate_files

ROOT_CERT = "rootCA.pem"
ROOT_KEY = "rootCA-key.pem"
SERVER_CERT = "fullchain.pem"
SERVER_KEY = "privkey.pem"
ROOT_LIFETIME = dt.timedelta(days=10 * 365)
# Apple's platforms refuse a server certificate valid for more than 825 days even from a
# user-trusted root, and Mozilla's "intermediate" configuration wants at most 366 (sslyze checks).
SERVER_LIFETIME = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=30)
# Always in a local server certificate: the stack is published on the loopback.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class LocalCA:
    directory: Path
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def root_file(self) -> Path:
        return self.directory / ROOT_CERT


def ensure_local_ca(directory: Path, now: dt.datetime) -> LocalCA:
    """The root in `directory`, made on first use."""
    cert_path, key_path = directory / ROOT_CERT, directory / ROOT_KEY
    if cert_path.is_file() and key_path.is_file():
        return _load(directory, cert_path, key_path)
    if cert_path.exists() or key_path.exists():
        present = cert_path if cert_path.exists() else key_path
        raise CertificateRefused(
            f"{present}: half a local CA (the other file is missing): remove {directory}"
            " to make a new root, and trust the new one"
        )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stackctl local CA"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"stackctl local CA {getpass.getuser()}@{socket.gethostname()}"
            ),
        ]
    )
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return LocalCA(directory, certificate, key)


def _load(directory: Path, cert_path: Path, key_path: Path) -> LocalCA:
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        raise CertificateRefused(
            f"{directory}: the local CA's files cannot be read: remove the folder to make a new"
            " root, and trust the new one"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateRefused(f"{key_path}: not the local CA's key: remove {directory}")
    return LocalCA(directory, certificate, key)


def ensure_server_certificate(
    ca: LocalCA, hosts: Sequence[str], directory: Path, now: dt.datetime
) -> Certificate:
    """fullchain.pem and privkey.pem in `directory` for `hosts` (and the loopback), kept while
    they still fit: same names, issued by this root, over RENEW_BEFORE left."""
    names = list(dict.fromkeys([*hosts, *LOOPBACK_NAMES]))
    cert_path, key_path = directory / SERVER_CERT, directory / SERVER_KEY
    if cert_path.is_file() and key_path.is_file():
        try:
            found = check_certificate_files(cert_path, key_path, names, now)
        except CertificateRefused:
            pass
        else:
            if found.expires_in(now) > RENEW_BEFORE and _issued_by(cert_path, ca):
                return found
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    chain = certificate.public_bytes(serialization.Encoding.PEM)
    chain += ca.certificate.public_bytes(serialization.Encoding.PEM)
    _replace(cert_path, chain)
    return check_certificate_files(cert_path, key_path, names, now)


def _issued_by(cert_path: Path, ca: LocalCA) -> bool:
    leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    try:
        leaf.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Owner-only from its first byte; replaced in one step (nginx may be reading the old)."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    temporary.replace(path)


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".new")
    temporary.write_bytes(data)
    temporary.replace(path)
