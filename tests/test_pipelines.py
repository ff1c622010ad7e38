"""The forges' pipeline files call only what exists, keep secrets in the jobs that need them, and
test on exactly the Pythons pyproject.toml names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.doctor import nox_pythons

ROOT = Path(__file__).resolve().parents[1]
GITHUB = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITLAB = ROOT / ".gitlab-ci.yml"
GITLAB_KEYWORDS = {"workflow", "stages", "default", "variables", "include", "image", "cache"}
# Jobs allowed to see cloud or SSH credentials: the OSS contract and the two that touch hosts.
SECRET_JOBS = {"integration", "deploy", "rollback"}
SECRETS = (
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
    "DEPLOY_SSH_PRIVATE_KEY",
    "DEPLOY_SSH_KNOWN_HOSTS",
    "SECRET_KEY",
)
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


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_secrets_reach_only_integration_deploy_and_rollback(forge: str) -> None:
    jobs = github_jobs() if forge == "github" else gitlab_jobs()
    seen = {}
    for key, job in jobs.items():
        text = yaml.safe_dump(job)
        named = [secret for secret in SECRETS if secret in text]
        if forge == "github":
            named += re.findall(r"secrets\.(\w+)", text)
            assert "inherit" not in str(job.get("secrets", "")), f"{key} inherits every secret"
        if named:
            seen[bare_name(key)] = job
    assert set(seen) <= SECRET_JOBS, f"jobs that name secrets: {sorted(seen)}"
    # GitLab injects variables without naming them: its integration job gets OSS_* by being
    # the only job in environment "oss", to which those variables are scoped.
    assert set(seen) >= (SECRET_JOBS if forge == "github" else {"deploy", "rollback"})
    for key, job in jobs.items():
        if bare_name(key) in SECRET_JOBS:
            # The forge hands the secrets only to jobs in a protected environment.
            assert job.get("environment"), f"{key} uses secrets outside an environment"


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
