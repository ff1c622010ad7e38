"""What a TLS server on 127.0.0.1 presents for a name (SNI), read without trusting it."""

from __future__ import annotations

import socket
import ssl

from cryptography import x509


def served_certificate(port: int, server_name: str) -> x509.Certificate:
    """The leaf certificate served at 127.0.0.1:`port` for `server_name` (not verified: the
    tests compare it, e.g. its serial across a renewal)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)
