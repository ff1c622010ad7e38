"""Sessions for lint, type checks, tests on every supported Python, the engine, OSS and benchmarks.

`nox` alone runs lint, typecheck and tests, two sessions at a time. `nox -s tests -- -k main`
passes arguments to pytest.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import nox

# 2026.08.10 brought --parallel and allow_parallel (2026.08.17 fixed it on Windows).
nox.needs_version = ">=2026.8.17"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]
# Sessions picked by name, keyword, tag or Python run one after another, their output live.
PICKERS = ("-s", "-e", "--session", "--sessions", "-k", "--keywords", "-t", "--tags", "-p",
           "--python", "--pythons", "-P", "--force-python", "--force-pythons")  # fmt: skip
PICKER_VARIABLES = ("NOXSESSION", "NOXPYTHON", "NOXFORCEPYTHON")
# The default run (the README's `nox`) runs two sessions at a time, each in a nox subprocess of
# its own whose output is printed as a block when it ends. Each tests session already uses every
# CPU (pytest-xdist), but a session also waits: on its venv check, on pytest's start, on servers
# and subprocesses the tests start, on its slowest worker at the end. A second session fills
# those waits (README, "How long `nox` takes"). `nox -j 1` runs the default sessions one after
# another.
DEFAULT_RUN_JOBS = 2
if os.environ.get("CI"):
    # A Python that CI cannot find is a failure, not a skip.
    nox.options.error_on_missing_interpreters = True
else:
    # Elsewhere (a fresh Debian has only its own 3.11) the missing ones are skipped, and named in
    # nox's closing summary; never downloaded behind the user's back.
    nox.options.download_python = "never"

ROOT = Path(__file__).parent
INSTALL_STAMP = ".installed-by-noxfile"
PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHONS = nox.project.python_versions(PYPROJECT)
DEFAULT_PYTHON = "3.11"
EXTRAS = ".[fakeoss,stackctl]"
CI_SCRIPTS = (".ci/run", ".ci/setup-host", ".ci/install-compose-v2", ".ci/gitlab-jobs")
# Lines and branches covered by tests (four Pythons), engine and browser together (nox -s
# coverage): 88 % in CI on 2026-12-02. Raise it as coverage grows, never lower it to let a
# change through.
COVERAGE_GATE = 85
# Real cloud credentials: only the integration session may see them.
OSS_SECRETS = (
    "OSS_ACCESS_KEY_ID",
    "OSS_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "OSS_SECURITY_TOKEN",
    # CI's OIDC exchange (the integration job's role): no other session may assume it.
    "ALIBABA_CLOUD_ROLE_ARN",
    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
)


def picks_sessions(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether this nox command line picks sessions (else it runs the default ones)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    named = {arg.split("=", 1)[0] for arg in options if arg.startswith("--")}
    short = {arg[:2] for arg in options if arg.startswith("-") and not arg.startswith("--")}
    return bool((named | short) & set(PICKERS)) or any(environ.get(v) for v in PICKER_VARIABLES)


if not picks_sessions(sys.argv[1:], os.environ):
    nox.options.parallel = DEFAULT_RUN_JOBS


def install(session: nox.Session, *groups: str) -> None:
    """The project (editable, with the extras) and the dependency groups, in one install."""
    requirements = ["-e", EXTRAS]
    for group in groups:
        requirements += nox.project.dependency_groups(PYPROJECT, group)
    install_once(session, *requirements)


def install_once(session: nox.Session, *requirements: str) -> None:
    """session.install, skipped when this venv already holds exactly these requirements from this
    pyproject.toml.

    uv rebuilds an editable project on every `uv pip install -e .` (setuptools in a build
    environment, 1.5-3 s a session) even when nothing changed. The code needs no reinstall (the
    install is editable); a change to pyproject.toml or to the requirements installs again, and
    so does a new venv (`nox -N`, or .nox removed). Installs take turns: two sessions building the
    editable project at once would both write src/*.egg-info.
    """
    location = getattr(session.virtualenv, "location", None)
    if not location:  # no venv (--no-venv): nothing to remember
        session.install(*requirements)
        return
    venv = Path(location)
    if session._runner.global_config.no_install and session.virtualenv._reused:
        return  # -R: nox installs nothing into a reused venv, and so nothing is stamped
    stamp = venv / INSTALL_STAMP
    key = hashlib.sha256(
        json.dumps([requirements, (ROOT / "pyproject.toml").read_text(encoding="utf-8")]).encode()
    ).hexdigest()
    with taking_turns(venv.parent / ".install.lock"):
        if stamp.is_file() and stamp.read_text(encoding="utf-8") == key:
            session.log(f"{venv.name} holds these requirements already: install skipped")
            return
        stamp.unlink(missing_ok=True)
        session.install(*requirements)
        if EXTRAS in requirements:
            compile_oss2(session)
        stamp.write_text(key, encoding="utf-8")


@contextmanager
def taking_turns(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def compile_oss2(session: nox.Session) -> None:
    """Compile oss2 now, its warnings silenced: Python would compile it at its first import,
    and its docstrings' invalid escapes would print SyntaxWarnings into the stderr of whichever
    process the tests start first (stderr the tests read). The only package in the venvs that
    does (checked over every file on 3.10-3.13); the rest compile at first import, which costs
    7 CPU s once per venv against 20 at install (UV_COMPILE_BYTECODE, which compiles every file)."""
    session.run_install(
        "python",
        "-W",
        "ignore",
        "-c",
        "import compileall, importlib.util;"
        "compileall.compile_dir(importlib.util.find_spec('oss2').submodule_search_locations[0],"
        " quiet=1)",
        silent=True,
    )


def without_oss_secrets() -> dict[str, str | None]:
    return {name: None for name in OSS_SECRETS}


@nox.session(python=DEFAULT_PYTHON, allow_parallel=True)
def lint(session: nox.Session) -> None:
    """ruff over the tree; actionlint (with shellcheck), zizmor and GitLab's schema over the
    pipeline files; shellcheck over .ci's scripts."""
    install_once(session, *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # actionlint checks `run:` steps only when it finds shellcheck, and says nothing when it
    # does not: a lint that passes without it has not checked them.
    if not shutil.which("shellcheck"):
        session.error(
            "shellcheck not found: install Debian's shellcheck (`bash .ci/setup-host` does);"
            " actionlint and this session check the pipelines' shell with it"
        )
    session.run("actionlint")
    session.run("shellcheck", *CI_SCRIPTS, external=True)
    session.run("zizmor", "--offline", "--min-severity", "medium", ".github/workflows")
    session.run("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml")


@nox.session(python=DEFAULT_PYTHON, allow_parallel=True)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/, tasks.py and noxfile.py (pyproject's [tool.mypy] files)."""
    install(session, "typecheck")
    session.run("mypy", *session.posargs)


def run_pytest(
    session: nox.Session,
    *pytest_args: str,
    measure: bool = True,
    groups: tuple[str, ...] = (),
    cov_report: str = "term-missing:skip-covered",
) -> None:
    install(session, "test", *groups)
    cov = ["--cov", f"--cov-report={cov_report}"] if measure else []
    session.run(
        "pytest",
        *cov,
        # .ci/failure-digest.py reads these to end a failed CI log with what failed.
        f"--junitxml=artifacts/junit/{session.name}.xml",
        "-o",
        "junit_logging=system-out",
        *pytest_args,
        *session.posargs,
        env={**without_oss_secrets(), "COVERAGE_FILE": f".coverage.{session.name}"},
    )


@nox.session(python=PYTHONS, allow_parallel=True)
def tests(session: nox.Session) -> None:
    """Unit and contract tests (OSS through fakeoss), no Docker engine, no cloud keys.

    In parallel (pytest-xdist, one worker per CPU): the tests are order-free (pytest-randomly
    shuffles them on every run) and each worker starts its own Redis and fakeoss once. pytest-cov
    merges the workers' coverage into this session's .coverage.tests-3.X. `-- -n 0` runs them in
    one process (e.g. to use --pdb).

    Coverage is measured on the default Python only (with the engine and browser sessions it
    makes the coverage gate): tracing costs about a third of each run (measured on 3.12: 38.9 s
    with it, 28.7 s without), and the same lines run on every Python.
    """
    run_pytest(
        session,
        "-m",
        "not engine and not browser",
        "-p",
        "no:cacheprovider",
        "-n",
        "auto",
        measure=session.python == DEFAULT_PYTHON,
    )


@nox.session(python=DEFAULT_PYTHON, default=False)
def engine(session: nox.Session) -> None:
    """Tests against the real Docker engine: images, the stack, invoke up/down."""
    # Engine tests walk one stack (or host) through a story, step by step: in file order.
    # sslyze (the `tls` group) checks the HTTPS proxy against Mozilla's configuration.
    # No coverage table here: `nox -s coverage` prints the combined one, and this one's 150 lines
    # would stand between a failure's account and the end of the log.
    run_pytest(
        session,
        "-m",
        "engine",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        groups=("tls",),
        cov_report="",
    )


@nox.session(python=DEFAULT_PYTHON, default=False)
def browser(session: nox.Session) -> None:
    """The gallery page in headless Debian chromium; screenshots land in artifacts/."""
    run_pytest(
        session, "-m", "browser", "-p", "no:cacheprovider", "-p", "no:randomly", cov_report=""
    )


@nox.session(python=DEFAULT_PYTHON, default=False)
def coverage(session: nox.Session) -> None:
    """Combine the coverage the tests, engine and browser sessions wrote (and consume it); fail
    under COVERAGE_GATE. Branches count: [tool.coverage.run] has branch = true."""
    install_once(session, "coverage[toml]>=7.4")
    found = sorted(path.name for path in ROOT.glob(".coverage.*"))
    if not found:
        session.error("no .coverage.* files: run `nox -s tests engine browser` first")
    session.run("coverage", "combine", *found, env={"COVERAGE_FILE": ".coverage"})
    session.run(
        "coverage",
        "report",
        "--skip-covered",
        f"--fail-under={COVERAGE_GATE}",
        env={"COVERAGE_FILE": ".coverage"},
    )


@nox.session(python=DEFAULT_PYTHON, default=False)
def integration(session: nox.Session) -> None:
    """The OSS contract against real OSS (OSS_* variables); `-- --target fake`: fakeoss."""
    install(session, "test")
    args = session.posargs or ["--target", "real"]
    session.run("pytest", "tests/oss_contract", "-p", "no:cacheprovider", *args)


@nox.session(python=DEFAULT_PYTHON, default=False)
def sdk_tests(session: nox.Session) -> None:
    """The oss2 SDK's own object tests (from its sdist, cached in .cache/oss2-sdk) against a
    fakeoss on 127.0.0.1; prints each failure and `passed N of M`. `-- --junit PATH` keeps the
    report, further arguments go to pytest (`-- -- -k range`)."""
    # pip fetches the sdist (uv has no download command), the SDK tests import mock, and
    # pytest-timeout bounds a hung test.
    requirements = nox.project.dependency_groups(PYPROJECT, "test")
    install_once(session, "-e", EXTRAS, *requirements, "pip", "pytest-timeout>=2.3", "mock>=5")
    session.run(
        "python", "tests/fakeoss/oss2_sdk_suite.py", *session.posargs, env=without_oss_secrets()
    )


@nox.session(python=DEFAULT_PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks, each a ratio against a baseline run alongside; writes BENCHMARKS.md."""
    install(session, "bench")
    session.run("python", "tests/bench/run.py", *session.posargs, env=without_oss_secrets())


@nox.session(python=DEFAULT_PYTHON, default=False)
def newcomer(session: nox.Session) -> None:
    """The README's two commands, read from README.md, on a pristine Debian 12 container."""
    install_once(session, "docker>=7.1,<8")
    session.run("python", "tests/newcomer/run.py", *session.posargs, env=without_oss_secrets())
