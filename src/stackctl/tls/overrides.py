"""What each HTTPS mode adds to the stack: a compose override file merged over compose.yaml (as
`docker compose -f compose.yaml -f containers/compose.https-MODE.yaml`) and the values it reads.

compose.yaml stays the one definition of the app; a mode only adds nginx's TLS settings, port
443 and its certificate source (and, for ACME, the certbot service and its volumes).
"""

from __future__ import annotations

from pathlib import Path

from stackctl.tls.settings import HttpsSettings

# A project's own server certificate of the local CA (git- and docker-ignored).
LOCAL_CERT_DIR = ".stack/https"


def override_file(https: HttpsSettings, project_dir: Path) -> Path | None:
    if https.mode == "off":
        return None
    return project_dir / "containers" / f"compose.https-{https.mode}.yaml"


def local_cert_dir(project_dir: Path) -> Path:
    return project_dir / LOCAL_CERT_DIR


def compose_environment(https: HttpsSettings, project_dir: Path) -> dict[str, str]:
    """Values the override files interpolate (STACK_* names: computed here, never set by hand)."""
    values = {
        "HSTS_MAX_AGE": str(https.hsts_max_age),
        "NGINX_HTTPS_PORT": str(https.https_port),
        # Port 80's redirect names the published HTTPS port unless it is the standard one.
        "STACK_HTTPS_REDIRECT_PORT": "" if https.https_port == 443 else f":{https.https_port}",
        "HTTPS_HOSTS": ",".join(https.hosts),
    }
    if https.mode == "local":
        values["STACK_TLS_DIR"] = str(local_cert_dir(project_dir))
    if https.mode == "files" and https.cert_file and https.key_file:
        values["STACK_TLS_CERT_FILE"] = str(https.cert_file)
        values["STACK_TLS_KEY_FILE"] = str(https.key_file)
    if https.mode == "lb":
        values["TRUSTED_LB_ADDRESSES"] = ",".join(https.trusted_lb_addresses)
    if https.mode == "acme":
        values["ACME_DIRECTORY"] = https.acme_directory
        values["ACME_EMAIL"] = https.acme_email
        values["ACME_RENEW_BEFORE"] = https.acme_renew_before
        values["ACME_EAB_KID"] = https.acme_eab_kid
        values["ACME_EAB_HMAC_KEY"] = https.acme_eab_hmac_key.get_secret_value()
        values["STACK_ACME_CA_PEM"] = (
            https.acme_ca_bundle.read_text() if https.acme_ca_bundle else ""
        )
    return values
