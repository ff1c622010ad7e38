"""The forges' pipeline files call only what exists, keep secrets in the jobs that need them, let
only the OSS contract obtain cloud credentials (an OIDC token, no stored key), and test on
exactly the Pythons pyproject.toml names."""

from __future__ import annotations

import http.server
import json
import os
import re
import stat
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.doctor.doctor import nox_pythons
from support.loopback import serving

ROOT = Path(__file__).resolve().parents[1]
GITHUB = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = ROOT / ".gitlab-ci.yml"
GITLAB_KEYWORDS = {"workflow", "stages", "default", "variables", "include", "image", "cache"}
# Jobs allowed to see the deploy's secrets: the two that touch hosts.
DEPLOY_JOBS = {"deploy", "rollback"}
DEPLOY_SECRETS = ("DEPLOY_SSH_PRIVATE_KEY", "DEPLOY_SSH_KNOWN_HOSTS", "SECRET_KEY")
# The one job that obtains cloud credentials: the OSS contract, through the forge's OIDC token.
CLOUD_JOBS = {"integration"}
# What gives a job cloud credentials: a key or token, or alibabacloud-credentials' variables
# for assuming a role.
CLOUD_CREDENTIALS = re.compile(
    r"\b(?:ALIBABA_CLOUD_\w+|OSS_ACCESS_KEY_\w+|OSS_SECURITY_TOKEN|OSS_OIDC_\w+)"
)
# Long-lived keys (and STS tokens) no pipeline may store any more.
STORED_KEYS = ("ACCESS_KEY_ID", "ACCESS_KEY_SECRET", "SECURITY_TOKEN")
OIDC_VARIABLES = {
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
}
# The RAM OIDC provider's client ID (README, "CI without stored keys").
AUDIENCE = "sts.aliyuncs.com"
NOX_CALL = re.compile(r"(?:^|[\s/])nox\s+-s\s+((?:[A-Za-z][\w.-]*\s*)+)")
INVOKE_CALL = re.compile(r"(?:^|[\s/])invoke\s+([\w.-]+)")


def github_jobs() -> dict[str, dict[str, Any]]:
    jobs = {}
    for path in GITHUB:
        for name, job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].items():
            jobs[f"{path.name}:{name}"] = job
    return jobs


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    """Each job with its `extends` templates merged in (the job's own keys win)."""
    document = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))

    def resolved(job: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        extends = job.get("extends", [])
        for parent in [extends] if isinstance(extends, str) else extends:
            merged.update(resolved(document[parent]))
        return merged | {k: v for k, v in job.items() if k != "extends"}

    return {
        name: resolved(job)
        for name, job in document.items()
        if name not in GITLAB_KEYWORDS and not name.startswith(".")
    }


def shell_lines(job: dict[str, Any]) -> list[str]:
    lines = [step["run"] for step in job.get("steps", []) if "run" in step]
    for key in ("before_script", "script", "after_script"):
        lines += job.get(key, [])
    return lines


def all_shell_lines() -> list[str]:
    jobs = [*github_jobs().values(), *gitlab_jobs().values()]
    return [line for job in jobs for line in shell_lines(job)]


def bare_name(job_key: str) -> str:
    return job_key.split(":")[-1]


def test_the_pipelines_run_the_project_tools() -> None:
    lines = "\n".join(all_shell_lines())
    assert NOX_CALL.search(lines)
    assert INVOKE_CALL.search(lines)
    assert len(GITHUB) >= 1


def test_every_nox_session_they_call_exists() -> None:
    called = {
        session
        for line in all_shell_lines()
        for match in NOX_CALL.finditer(line)
        for session in match.group(1).split()
    }
    assert called >= {"lint", "typecheck", "tests", "engine", "browser", "integration"}
    # --list with -s lists those sessions (default or not) and fails on a name it does not know.
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--json", "-s", *sorted(called)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    known = {s["name"] for s in json.loads(listed.stdout)}
    assert called <= known, f"not nox sessions: {sorted(called - known)}"


def test_every_invoke_task_they_call_exists() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    known = set()
    for match in re.finditer(r"^  (\S+)(?: \(([^)]+)\))?", listed.stdout, re.MULTILINE):
        known.add(match.group(1))
        known.update((match.group(2) or "").split(", "))
    called = {m.group(1) for line in all_shell_lines() for m in INVOKE_CALL.finditer(line)}
    assert called >= {"base", "deploy", "rollback"}
    assert called <= known, f"not invoke tasks: {sorted(called - known)}"


def jobs_of(forge: str) -> dict[str, dict[str, Any]]:
    return github_jobs() if forge == "github" else gitlab_jobs()


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_deploy_secrets_reach_only_deploy_and_rollback(forge: str) -> None:
    seen = {}
    for key, job in jobs_of(forge).items():
        text = yaml.safe_dump(job)
        named = [secret for secret in DEPLOY_SECRETS if secret in text]
        if forge == "github":
            named += re.findall(r"secrets\.(\w+)", text)
            assert "inherit" not in str(job.get("secrets", "")), f"{key} inherits every secret"
        if named:
            seen[bare_name(key)] = job
    assert set(seen) == DEPLOY_JOBS, f"jobs that name secrets: {sorted(seen)}"
    for key, job in jobs_of(forge).items():
        if bare_name(key) in DEPLOY_JOBS:
            # The forge hands the secrets only to jobs in a protected environment.
            assert environment_of(job) == "production", key


def environment_of(job: dict[str, Any]) -> str | None:
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


@pytest.mark.parametrize("path", [*GITHUB, GITLAB], ids=lambda path: path.name)
def test_no_pipeline_stores_a_cloud_key(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for name in STORED_KEYS:
        assert name not in text, f"{path.name} names {name}: CI obtains STS credentials by OIDC"


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_only_integration_names_cloud_credentials(forge: str) -> None:
    named = {
        bare_name(key)
        for key, job in jobs_of(forge).items()
        if CLOUD_CREDENTIALS.search(yaml.safe_dump(job))
    }
    assert named == CLOUD_JOBS


def github_workflow(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def asks_for_oidc_token(permissions: Any) -> bool:
    if isinstance(permissions, str):  # read-all / write-all
        return permissions == "write-all"
    return (permissions or {}).get("id-token") == "write"


def test_github_grants_an_oidc_token_to_integration_only() -> None:
    askers = set()
    for path in GITHUB:
        workflow = github_workflow(path)
        # Nothing at the top: a job without its own `permissions` would inherit it.
        assert workflow["permissions"] == {}, path.name
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{name} has no permissions of its own"
            if not asks_for_oidc_token(job["permissions"]):
                continue
            if "uses" in job:
                # A calling job only caps what the called workflow's jobs may ask for; those
                # are checked in their own file, here.
                assert job["uses"] == "./.github/workflows/ci.yml", f"{path.name}:{name}"
            else:
                askers.add(f"{path.name}:{name}")
    assert askers == {"ci.yml:integration"}


def test_gitlab_gives_an_oidc_token_to_integration_only() -> None:
    document = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert "id_tokens" not in document.get("default", {})
    assert "secrets" not in document.get("default", {})
    holders = {name for name, job in gitlab_jobs().items() if "id_tokens" in job}
    assert holders == CLOUD_JOBS
    assert not [name for name, job in gitlab_jobs().items() if "secrets" in job]
    audiences = {token["aud"] for token in gitlab_jobs()["integration"]["id_tokens"].values()}
    assert audiences == {AUDIENCE}


def test_github_integration_writes_its_oidc_token_for_the_role_exchange() -> None:
    steps = github_jobs()["ci.yml:integration"]["steps"]
    fetch = next(step for step in steps if "ACTIONS_ID_TOKEN_REQUEST_URL" in step.get("run", ""))
    assert fetch["env"]["AUDIENCE"] == AUDIENCE
    assert "::add-mask::" in fetch["run"]
    nox = next(step for step in steps if "nox -s integration" in step.get("run", ""))
    assert set(nox["env"]) >= OIDC_VARIABLES
    assert "/oidc-token" in nox["env"]["ALIBABA_CLOUD_OIDC_TOKEN_FILE"]
    assert steps.index(fetch) == steps.index(nox) - 1, "fetch the short-lived token last"


def test_gitlab_integration_writes_its_oidc_token_for_the_role_exchange() -> None:
    job = gitlab_jobs()["integration"]
    [token_variable] = job["id_tokens"]
    script = "\n".join(job["script"])
    assert "export ALIBABA_CLOUD_OIDC_TOKEN_FILE=" in script
    assert f'"${token_variable}" > "$ALIBABA_CLOUD_OIDC_TOKEN_FILE"' in script
    assert script.index("ALIBABA_CLOUD_OIDC_TOKEN_FILE") < script.index("nox -s integration")
    assert environment_of(job) == "oss"


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_integration_runs_only_on_the_default_branch_or_by_hand(forge: str) -> None:
    if forge == "github":
        condition = github_jobs()["ci.yml:integration"]["if"]
        assert "pull_request" not in condition
        assert "github.event.repository.default_branch" in condition
    else:
        rules = gitlab_jobs()["integration"]["rules"]
        assert [rule["if"] for rule in rules] == [
            "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
            '$CI_PIPELINE_SOURCE == "web"',
        ]
        assert rules[1]["when"] == "manual"


def test_gitlab_scopes_each_environment_to_its_jobs() -> None:
    by_environment: dict[str | None, set[str]] = {}
    for name, job in gitlab_jobs().items():
        by_environment.setdefault(environment_of(job), set()).add(name)
    assert by_environment["oss"] == CLOUD_JOBS
    assert by_environment["production"] == DEPLOY_JOBS


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_deploys_run_the_app_on_the_instances_ram_role(forge: str) -> None:
    for key, job in jobs_of(forge).items():
        if bare_name(key) not in DEPLOY_JOBS:
            continue
        if forge == "github":
            env = next(s["env"] for s in job["steps"] if "invoke " in s.get("run", ""))
        else:
            env = job["variables"]
        assert env["OSS_CREDENTIALS"] == "ecs-ram-role", key


def test_the_test_matrix_is_pyprojects_pythons() -> None:
    pythons = nox_pythons(ROOT)
    assert pythons == ["3.10", "3.11", "3.12", "3.13"]
    github = github_jobs()["ci.yml:tests"]["strategy"]["matrix"]["python"]
    gitlab = gitlab_jobs()["tests"]["parallel"]["matrix"][0]["PYTHON"]
    assert github == pythons
    assert gitlab == pythons


def test_deploys_never_race() -> None:
    for key in ("deploy.yml:deploy", "deploy.yml:rollback"):
        concurrency = github_jobs()[key]["concurrency"]
        assert concurrency == {"group": "deploy-production", "cancel-in-progress": False}
    for name in ("deploy", "rollback"):
        assert gitlab_jobs()[name]["resource_group"] == "production"


def test_github_actions_are_pinned_by_commit() -> None:
    uses = [
        step["uses"]
        for job in github_jobs().values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), action


# A `run:` step without `shell:` runs as `bash -e {0}` on GitHub's Linux runners (no pipefail).
class ForgeTokenService:
    """GitHub's token service for a job: the token for the audience asked, to the job's bearer."""

    REQUEST_TOKEN = "request-token-of-this-job"

    def __init__(self) -> None:
        self.asked: list[dict[str, list[str]]] = []
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                service.asked.append(query)
                if self.headers.get("Authorization") != f"bearer {service.REQUEST_TOKEN}":
                    self.send_error(401)
                    return
                body = json.dumps({"value": f"jwt-for-{query['audience'][0]}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token?api-version=2.0"


@pytest.fixture
def token_service() -> Iterator[ForgeTokenService]:
    service = ForgeTokenService()
    with serving(service.server):
        yield service


def run_github_token_step(
    token_service: ForgeTokenService, tmp_path: Path, request_token: str
) -> subprocess.CompletedProcess[str]:
    """The integration job's step that fetches its OIDC token, asking ``token_service`` with
    ``request_token`` (what GitHub gives the job to ask with)."""
    steps = github_jobs()["ci.yml:integration"]["steps"]
    fetch = next(step for step in steps if "ACTIONS_ID_TOKEN_REQUEST_URL" in step.get("run", ""))
    return subprocess.run(
        ["bash", "-e", "-c", fetch["run"]],
        env={
            "PATH": os.environ["PATH"],
            **fetch["env"],
            "ACTIONS_ID_TOKEN_REQUEST_URL": token_service.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": request_token,
            "RUNNER_TEMP": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_github_integrations_token_step_writes_the_token_for_its_audience(
    token_service: ForgeTokenService, tmp_path: Path
) -> None:
    result = run_github_token_step(token_service, tmp_path, ForgeTokenService.REQUEST_TOKEN)
    assert result.returncode == 0, result.stderr
    assert token_service.asked[0]["audience"] == [AUDIENCE]
    token_file = tmp_path / "oidc-token"
    assert token_file.read_text() == f"jwt-for-{AUDIENCE}"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # The runner masks the token in every later log line: this line is the only one naming it.
    assert result.stdout.splitlines() == [f"::add-mask::jwt-for-{AUDIENCE}"]


def test_github_integrations_token_step_fails_when_github_refuses(
    token_service: ForgeTokenService, tmp_path: Path
) -> None:
    result = run_github_token_step(token_service, tmp_path, "not-this-jobs")
    assert result.returncode != 0
    assert not (tmp_path / "oidc-token").exists()


def test_gitlab_integrations_script_writes_its_id_token_to_the_file_it_names(
    tmp_path: Path,
) -> None:
    job = gitlab_jobs()["integration"]
    [token_variable] = job["id_tokens"]
    lines = [line for line in job["script"] if "nox" not in line and "setup-host" not in line]
    script = "\n".join([*lines, 'printf "%s" "$ALIBABA_CLOUD_OIDC_TOKEN_FILE"'])
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        env={"PATH": os.environ["PATH"], "TMPDIR": str(tmp_path), token_variable: "gitlab-jwt"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token_file = Path(result.stdout)
    assert token_file.parent == tmp_path
    assert token_file.read_text() == "gitlab-jwt"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
