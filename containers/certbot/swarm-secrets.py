#!/usr/bin/python3
"""The Swarm target's acme mode: hand certbot's certificate (lineage "stack") to every node.

Run by certbot as its deploy hook (a new or renewed certificate) and by stack-certbot at each
start. The chain and key become Swarm secrets (encrypted in the raft log, never in a spec or an
environment), named by the certificate's fingerprint, labelled like the deploy's own secrets so
a deploy prunes the versions no service uses any more. The global certsync service
(ACME_SWARM_SERVICE) is then given them: each node's new certsync task writes them into that
node's `tls` volume, which its proxy reads and reloads gracefully on. Nothing changes when the
service already has this certificate. Talks to this manager's Engine API (the mounted socket)
through the Docker SDK; exits non-zero with one line when it cannot.
"""

import hashlib
import os
import sys

import docker
from docker.errors import APIError, NotFound

LIVE = "/etc/letsencrypt/live/stack"
FILES = (("fullchain", "fullchain.pem", 0o444), ("privkey", "privkey.pem", 0o400))
APP_LABEL = "org.aliecs.deploy.app"
SECRET_LABEL = "org.aliecs.deploy.secret"  # noqa: S105 - a label key, not a secret


def main() -> int:
    app = os.environ["ACME_SWARM_APP"]
    service_name = os.environ["ACME_SWARM_SERVICE"]
    contents = {}
    for key, file_name, _ in FILES:
        with open(os.path.join(LIVE, file_name), "rb") as found:
            contents[key] = found.read()
    # One fingerprint for the pair: the certificate's (public) bytes.
    version = hashlib.sha256(contents["fullchain"]).hexdigest()[:12]
    client = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    try:
        service = client.services.get(service_name)
    except NotFound:
        print(
            f"stack-certbot: no service {service_name} on this swarm yet: deploy first",
            file=sys.stderr,
        )
        return 1
    existing = {s.name: s.id for s in client.secrets.list(filters={"label": f"{APP_LABEL}={app}"})}
    references = []
    for key, file_name, mode in FILES:
        name = f"{app}_tls_{key}_{version}"
        if name not in existing:
            created = client.secrets.create(
                name=name, data=contents[key], labels={APP_LABEL: app, SECRET_LABEL: file_name}
            )
            existing[name] = created.id
        references.append(
            {
                "SecretID": existing[name],
                "SecretName": name,
                "File": {"Name": file_name, "UID": "0", "GID": "0", "Mode": mode},
            }
        )
    template = service.attrs["Spec"]["TaskTemplate"]
    container = template["ContainerSpec"]
    have = [r.get("SecretName") for r in container.get("Secrets") or []]
    if have == [r["SecretName"] for r in references]:
        print(f"stack-certbot: every node has certificate {version} already")
        return 0
    container["Secrets"] = references
    try:
        client.api.update_service(
            service.id,
            service.attrs["Version"]["Index"],
            task_template=template,
            fetch_current_spec=True,
        )
    except APIError as exc:
        print(
            f"stack-certbot: could not give {service_name} the certificate: {exc.explanation}",
            file=sys.stderr,
        )
        return 1
    print(f"stack-certbot: certificate {version} handed to {service_name} (every node)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
