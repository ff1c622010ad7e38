"""What every build is given from the stack's settings: base image names, mirrors, and the few CA
certificates a TLS-inspecting proxy adds (so pip inside a build trusts it)."""

from __future__ import annotations

import re
from pathlib import Path

import certifi

from stackctl.errors import BuildError
from stackctl.settings import StackSettings

# Below Linux's 128 KiB limit on one environment string, with room for the rest of a RUN.
MAX_PEM_ARG = 100 * 1024

_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def buildargs_for(settings: StackSettings) -> dict[str, str]:
    """Build args from settings. Each matters only where a Dockerfile declares it."""
    args = {
        "PYTHON_BASE_IMAGE": settings.python_base_image,
        "NGINX_BASE_IMAGE": settings.nginx_base_image,
        "REDIS_BASE_IMAGE": settings.redis_base_image,
        "APT_MIRROR": settings.debian_mirror,
    }
    if settings.pip_index_url:
        args["PIP_INDEX_URL"] = settings.pip_index_url
    if settings.build_ca_bundle is not None:
        try:
            bundle = settings.build_ca_bundle.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildError(
                f"BUILD_CA_BUNDLE={settings.build_ca_bundle} is not a readable PEM file: {exc}"
            ) from None
        extra = extra_certificates(bundle)
        if len(extra) > MAX_PEM_ARG:
            raise BuildError(
                f"BUILD_CA_BUNDLE={settings.build_ca_bundle} adds {len(extra) // 1024} KiB of "
                f"certificates to the public roots; a build arg holds at most "
                f"{MAX_PEM_ARG // 1024} KiB: point it at a file with only your proxy's CA"
            )
        if extra:
            args["PIP_CERT_PEM"] = extra
    return args


def extra_certificates(bundle_pem: str) -> str:
    """The certificates of a bundle that the public roots lack (a TLS-inspecting proxy's CA).

    A whole system bundle (about 220 KB) cannot travel: Linux caps one environment string at
    128 KiB (MAX_ARG_STRLEN), so a RUN with it as a build arg fails with "argument list too
    long". The build appends these few to the image's own roots instead.
    """
    # The public roots: Debian's copy of Mozilla's store where there is one. Not certifi's: a
    # machine behind such a proxy often has its CA patched into certifi too, and then the one
    # certificate the build needs would be left out (seen here).
    mozilla = Path("/usr/share/ca-certificates/mozilla")
    public = (
        [crt.read_text("ascii") for crt in mozilla.glob("*.crt")]
        if mozilla.is_dir()
        else [Path(certifi.where()).read_text("ascii")]
    )
    known = {_der_text(c) for text in public for c in _PEM_RE.findall(text)}
    extra = [c for c in _PEM_RE.findall(bundle_pem) if _der_text(c) not in known]
    return "\n".join(dict.fromkeys(extra)) + "\n" if extra else ""


def _der_text(pem: str) -> str:
    return "".join(pem.split("-----")[2].split())
