"""Checks of a certificate chain and its key before anything is served with them.

Three refusals, each one line naming the file and what to do: the key is not the certificate's,
the certificate is expired (or not yet valid), a configured host name is not covered. And the
summary a doctor or a deploy's dry run shows: which certificate each host name will have, where
it comes from and when it expires.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from stackctl.errors import CertificateRefused

_PUBLIC_FORMAT = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class Certificate:
    """The leaf of a certificate file: what nginx presents first."""

    path: Path
    names: tuple[str, ...]  # DNS and IP subject alternative names, else the common name
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    chain_length: int
    serial: int = 0

    def covers(self, host: str) -> bool:
        return any(name_matches(name, host) for name in self.names)

    def expires_in(self, now: dt.datetime) -> dt.timedelta:
        return self.not_after - now


@dataclass(frozen=True)
class HostCertificate:
    """One row of "which certificate each host name will have"."""

    host: str
    source: str  # "ACME (<directory>)", "file <path>", "local CA <path>", "load balancer"
    certificate: Certificate | None  # None: not obtained yet (ACME) or not ours (load balancer)

    def describe(self, now: dt.datetime) -> str:
        if self.certificate is None:
            return f"{self.host}: {self.source}"
        left = self.certificate.expires_in(now)
        return (
            f"{self.host}: {self.source}, issued by {self.certificate.issuer},"
            f" expires {self.certificate.not_after:%Y-%m-%d %H:%M} UTC"
            f" ({_days(left)})"
        )


def _days(left: dt.timedelta) -> str:
    if left.total_seconds() <= 0:
        return "EXPIRED"
    if left < dt.timedelta(days=2):
        return f"in {left.total_seconds() / 3600:.0f} hours"
    return f"in {left.days} days"


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125: a wildcard stands for exactly one left-most label (`*.a.b` covers `x.a.b`)."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return pattern == host


def read_certificate(path: Path) -> Certificate:
    """The leaf (first certificate) of a PEM chain file."""
    chain = _load_chain(path)
    return _describe(path, chain[0], len(chain))


def certificate_from_pem(data: bytes, shown_as: Path) -> Certificate:
    """The leaf of a PEM chain read elsewhere (a deployed proxy's file), named `shown_as`."""
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateRefused(f"{shown_as}: no PEM certificate in it") from None
    return _describe(shown_as, chain[0], len(chain))


def _load_chain(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertificateRefused(
            f"{path}: cannot read the certificate ({exc.strerror}): give the PEM chain file"
        ) from None
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateRefused(
            f"{path}: no PEM certificate in it: give the chain as PEM"
            " (-----BEGIN CERTIFICATE-----, the site's certificate first)"
        ) from None
    return chain


def _describe(path: Path, leaf: x509.Certificate, chain_length: int) -> Certificate:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName)]
        names += [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = [
            str(attribute.value)
            for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
    issuer = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return Certificate(
        path=path,
        names=tuple(names),
        issuer=str(issuer[0].value) if issuer else leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        chain_length=chain_length,
        serial=leaf.serial_number,
    )


def check_certificate_files(
    cert_path: Path, key_path: Path, hosts: Sequence[str], now: dt.datetime
) -> Certificate:
    """The certificate nginx would serve, or CertificateRefused naming the file and the fix."""
    chain = _load_chain(cert_path)
    leaf = chain[0]
    key = _load_key(key_path)
    if key.public_key().public_bytes(*_PUBLIC_FORMAT) != leaf.public_key().public_bytes(
        *_PUBLIC_FORMAT
    ):
        raise CertificateRefused(
            f"{key_path}: this key does not match the certificate {cert_path}:"
            " give the key the certificate was issued for"
        )
    found = _describe(cert_path, leaf, len(chain))
    if found.not_after <= now:
        raise CertificateRefused(
            f"{cert_path}: the certificate expired on {found.not_after:%Y-%m-%d %H:%M} UTC:"
            " renew it and give the new chain"
        )
    if found.not_before > now:
        raise CertificateRefused(
            f"{cert_path}: the certificate is not valid before"
            f" {found.not_before:%Y-%m-%d %H:%M} UTC: check this machine's clock or wait"
        )
    missing = [host for host in hosts if not found.covers(host)]
    if missing:
        raise CertificateRefused(
            f"{cert_path}: the certificate does not cover {', '.join(missing)}"
            f" (it covers {', '.join(found.names) or 'no name'}):"
            " give one issued for every host name, or change the host names"
        )
    return found


def _load_key(path: Path) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertificateRefused(
            f"{path}: cannot read the private key ({exc.strerror}): give the PEM key file"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateRefused(
            f"{path}: the private key is encrypted: give it without a passphrase"
            " (`openssl pkey -in KEY -out PLAIN`), kept as a secret"
        ) from None
    except ValueError:
        raise CertificateRefused(
            f"{path}: no PEM private key in it: give the key as PEM (-----BEGIN PRIVATE KEY-----)"
        ) from None
    # What browsers accept in a web server certificate (no Ed25519 there yet).
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertificateRefused(
            f"{path}: a {type(key).__name__} does not serve browsers: give an RSA or EC key"
        )
    return key


def is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_rows(
    hosts: Iterable[str], source: str, certificate: Certificate | None
) -> list[HostCertificate]:
    return [HostCertificate(host, source, certificate) for host in hosts]
