"""The shipping files: the Docker image, the Heroku app and the wheel.

No Docker engine or Heroku runs here, so the Dockerfile, ``app.json`` and
``Procfile`` are checked as files, and the image's command is run the way
the image runs it: from a wheel built out of the Docker build context and
installed into a fresh virtual environment, in a directory where the
source tree cannot be imported.
"""

import fnmatch
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import fields
from pathlib import Path

import pytest
import requests
from conftest import free_port, wait_for
from dockerfile_parse import DockerfileParser

from mirror import __version__
from mirror.config import Config, parse

ROOT = Path(__file__).resolve().parent.parent
COMPILERS = {"gcc", "g++", "cc", "clang", "build-essential", "make"}
HEROKU_SETS_ITSELF = {"PORT", "MIRROR_HOST"}
OPERATOR_VARIABLES = {
    "MIRROR_UPSTREAM", "MIRROR_CACHE_TTL", "MIRROR_THREADS",
    "MIRROR_SOURCE_URL", "MIRROR_CACHE_SIZE", "MIRROR_ACCESS_LOG",
    "MIRROR_PUBLIC_URL", "MIRROR_REGISTRY", "MIRROR_TRUSTED_KEYS",
    "MIRROR_WEBHOOK_SECRET", "DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN",
}
BUILD_NEEDS = ["setup.py", "pyproject.toml", "MANIFEST.in", "README.md",
               "LICENSE", "mirror/__init__.py", "mirror/data",
               "mirror/templates", "registry/__init__.py", "client"]
LEFT_OUT = [".git", ".venv", "tests", "bench", "dist", "build",
            ".pytest_cache", ".ruff_cache", ".hypothesis",
            "dockerhub_build_status.egg-info", "mirror/__pycache__"]


# The Dockerfile

def test_image_is_built_in_one_stage_and_run_in_another():
    build, runtime = stages()[0], stages()[-1]

    assert dockerfile().is_multistage
    assert any("python -m build" in run for run in values(build, "RUN"))
    assert not values(runtime, "COPY") or all(
        "--from=" in copy for copy in values(runtime, "COPY"))
    assert any("pip install" in run and "--no-index" in run
               for run in values(runtime, "RUN"))


def test_runtime_is_slim_python_of_the_pinned_version():
    base = dockerfile().parent_images[-1]

    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", base)
    assert base.startswith(f"python:{pinned_python()}-")


def test_runtime_runs_as_an_unprivileged_user():
    users = values(stages()[-1], "USER")

    assert users, "the final stage sets no USER, so it runs as root"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0")
    assert group not in ("root", "0")


def test_healthcheck_asks_v1_health_with_python_alone():
    command = healthcheck_command()

    assert command[:2] == ["python", "-c"]
    assert "/v1/health" in command[2]
    assert "PORT" in command[2]
    assert not {"curl", "wget"} & set(" ".join(command).split())


def test_command_is_exec_form_and_sets_no_options():
    runtime = stages()[-1]

    assert not values(runtime, "ENTRYPOINT")
    assert json.loads(values(runtime, "CMD")[-1]) == [
        "dockerhub-mirror", "serve"]


def test_runtime_installs_no_compiler():
    for run in values(stages()[-1], "RUN"):
        assert not COMPILERS & set(re.split(r"[\s;&|=]+", run)), run


def test_port_defaults_to_8080_and_is_exposed():
    runtime = stages()[-1]

    assert image_environment()["PORT"] == "8080"
    assert "8080" in " ".join(values(runtime, "EXPOSE")).split()


def test_docker_context_leaves_out_local_clutter():
    patterns = dockerignore()

    for path in LEFT_OUT:
        assert ignored(path, patterns), f"{path} is sent to the builder"


def test_docker_context_keeps_what_the_wheel_needs():
    patterns = dockerignore()

    for path in BUILD_NEEDS:
        assert not ignored(path, patterns), f"{path} is left out"


# Heroku

def test_app_json_describes_the_app():
    app = app_json()

    assert 0 < len(app["name"]) <= 30
    assert app["description"]
    assert app["keywords"] and all(app["keywords"])
    assert app["repository"].startswith("https://")
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    assert app["formation"] == {"web": {"quantity": 1}}


def test_app_json_documents_every_variable_with_a_default():
    variables = app_json()["env"]

    assert OPERATOR_VARIABLES <= set(variables)
    for name, spec in variables.items():
        assert spec["description"].strip(), name
        assert isinstance(spec.get("value"), str), name
        if not spec["value"]:
            assert spec["required"] is False, name


def test_app_json_covers_every_option_of_the_mirror():
    documented = set(app_json()["env"])
    options = {spec.metadata["env"] for spec in fields(Config)}

    assert options - HEROKU_SETS_ITSELF <= documented


def test_app_json_defaults_are_the_mirrors_defaults():
    given = {name: spec["value"] for name, spec in app_json()["env"].items()
             if spec["value"]}

    assert parse([], environ=given) == parse([], environ={})


def test_procfile_runs_the_mirror_on_herokus_port():
    processes = dict(line.split(":", 1) for line in
                     read("Procfile").splitlines() if line.strip())

    assert shlex.split(processes["web"]) == ["dockerhub-mirror", "serve"]


def test_python_version_is_pinned_where_the_buildpack_reads_it():
    version = pinned_python()
    minimum = re.search(r'python_requires=">=(3\.\d+)"', read("setup.py"))

    assert version_tuple(version) >= version_tuple(minimum.group(1))
    assert not (ROOT / "runtime.txt").exists(), (
        "runtime.txt overrides .python-version in the buildpack")


def test_buildpack_installs_the_project_itself():
    lines = [line.strip() for line in read("requirements.txt").splitlines()
             if line.strip() and not line.startswith("#")]

    assert lines == ["."]


# The wheel, installed and run as the image runs it

@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """The Docker build context: the tree with .dockerignore applied."""
    target = tmp_path_factory.mktemp("context") / "src"
    patterns = dockerignore()

    def leave_out(directory, names):
        relative = Path(directory).relative_to(ROOT)
        return [name for name in names
                if ignored((relative / name).as_posix(), patterns)]

    shutil.copytree(ROOT, target, ignore=leave_out)
    return target


@pytest.fixture(scope="module")
def wheel(context, tmp_path_factory):
    """The wheel, built as the image's build stage builds it."""
    outdir = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", outdir,
         context], cwd=context)
    return next(outdir.glob("*.whl"))


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed, and only it."""
    home = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", "--without-pip", home])
    python = home / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install",
         "--quiet", wheel])
    return home


@pytest.fixture(scope="module")
def mirror_url(venv, upstream, tmp_path_factory):
    """Base URL of the installed mirror, started by the image's CMD.

    Its upstream is the recorded replay, so the status API and the badge
    routes answer for the images in ``fixtures/replay.json`` too.
    """
    workdir = tmp_path_factory.mktemp("workdir")
    (workdir / "state").mkdir()
    port = free_port()
    environment = image_environment(venv, PORT=str(port),
                                    MIRROR_HOST="127.0.0.1",
                                    MIRROR_UPSTREAM=upstream,
                                    MIRROR_STATE_DIR=str(workdir / "state"))
    log_path = workdir / "mirror.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            image_command(venv), cwd=workdir, env=environment,
            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/v1/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            code = process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        assert code == 0, log_path.read_text()


@pytest.mark.slow
def test_installed_mirror_answers_health(mirror_url):
    answer = requests.get(f"{mirror_url}/v1/health", timeout=5)

    assert answer.status_code == 200
    assert answer.json()["ok"] is True
    assert answer.json()["version"] == __version__


@pytest.mark.slow
def test_installed_mirror_renders_badges(mirror_url):
    answer = requests.get(f"{mirror_url}/status.svg", timeout=10, params={
        "organization": "exampleorg", "repository": "webapp"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("image/svg+xml")
    assert "passing" in answer.text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["status.svg", "status.js",
                                  "status-config.json"])
def test_installed_mirror_serves_the_client(mirror_url, name):
    answer = requests.get(f"{mirror_url}/client/{name}", timeout=10)

    assert answer.status_code == 200
    assert answer.content


@pytest.mark.slow
def test_installed_mirror_serves_its_source_with_the_licence(mirror_url):
    answer = requests.get(f"{mirror_url}/source", timeout=10)

    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        names = tar.getnames()
        licence = next(n for n in names if n.endswith("/LICENSE"))
        text = tar.extractfile(licence).read()
    assert b"GNU AFFERO GENERAL PUBLIC LICENSE" in text
    assert any(n.endswith("/mirror/app.py") for n in names)
    assert any(n.endswith("/client/status.js") for n in names)


@pytest.mark.slow
def test_installed_mirror_runs_from_the_environment_not_the_tree(venv):
    package = installed_package(venv)

    assert package.is_relative_to(venv)
    assert not package.is_relative_to(ROOT)


@pytest.mark.slow
def test_installed_package_holds_the_width_tables(venv):
    tables = sorted((installed_package(venv) / "data").glob("*.json"))

    assert [table.name for table in tables] == sorted(
        path.name for path in (ROOT / "mirror" / "data").glob("*.json"))
    for table in tables:
        assert json.loads(table.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_healthcheck_passes_on_a_running_mirror(venv, mirror_url):
    port = mirror_url.rsplit(":", 1)[1]

    assert healthcheck(venv, port).returncode == 0


@pytest.mark.slow
def test_healthcheck_fails_when_nothing_listens(venv):
    assert healthcheck(venv, str(free_port())).returncode != 0


@pytest.mark.slow
def test_wheel_carries_the_licence(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()

    assert any(re.fullmatch(r"[^/]+\.dist-info/(licenses/)?LICENSE", name)
               for name in names)


@pytest.mark.slow
def test_wheel_declares_both_console_scripts(wheel):
    with zipfile.ZipFile(wheel) as archive:
        name = next(name for name in archive.namelist()
                    if name.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(name).decode()

    assert "dockerhub-mirror = mirror.cli:main" in scripts
    assert "dockerhub-registry = registry.cli:main" in scripts


@pytest.mark.slow
def test_sdist_holds_everything_the_wheel_holds(context, wheel,
                                                tmp_path_factory):
    outdir = tmp_path_factory.mktemp("sdist")
    run([sys.executable, "-m", "build", "--sdist", "--outdir", outdir,
         context], cwd=context)
    sdist = next(outdir.glob("*.tar.gz"))
    with zipfile.ZipFile(wheel) as archive:
        wanted = {name for name in archive.namelist()
                  if ".dist-info/" not in name}

    shipped = sdist_files(sdist)

    assert wanted <= shipped, sorted(wanted - shipped)


# Helpers

def read(name):
    return (ROOT / name).read_text(encoding="utf-8")


def dockerfile():
    return DockerfileParser(str(ROOT / "Dockerfile"))


def stages():
    """The Dockerfile's instructions, one list per FROM."""
    found = []
    for instruction in dockerfile().structure:
        if instruction["instruction"] == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def values(stage, name):
    return [item["value"] for item in stage if item["instruction"] == name]


def image_environment(venv=None, **overrides):
    """The final stage's ENV, as the image's process would see it."""
    environment = {}
    for value in values(stages()[-1], "ENV"):
        for pair in shlex.split(value):
            key, _, setting = pair.partition("=")
            environment[key] = setting
    if venv is not None:
        environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.defpath}"
    environment.update(overrides)
    return environment


def image_command(venv):
    command = json.loads(values(stages()[-1], "CMD")[-1])
    return [shutil.which(command[0], path=str(venv / "bin")), *command[1:]]


def healthcheck_command():
    value = values(stages()[-1], "HEALTHCHECK")[-1]
    return json.loads(value[value.index("CMD") + len("CMD"):])


def healthcheck(venv, port):
    command = healthcheck_command()
    command[0] = shutil.which(command[0], path=str(venv / "bin"))
    return subprocess.run(command, env=image_environment(venv, PORT=port),
                          capture_output=True, timeout=30, cwd=venv)


def installed_package(venv):
    result = subprocess.run(
        [venv / "bin" / "python", "-c",
         "import mirror; print(mirror.__path__[0])"],
        cwd=venv, env=image_environment(venv), capture_output=True,
        text=True, check=True)
    return Path(result.stdout.strip()).resolve()


def pinned_python():
    lines = [line.strip() for line in read(".python-version").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 1 and re.fullmatch(r"3\.\d+(\.\d+)?", lines[0])
    return lines[0]


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def app_json():
    return json.loads(read("app.json"))


def dockerignore():
    return [line.strip().rstrip("/") for line in
            read(".dockerignore").splitlines()
            if line.strip() and not line.startswith("#")]


def ignored(path, patterns):
    """Whether ``path`` (relative, with /) or a parent of it is ignored.

    Enough of Docker's rules for the patterns this project uses:
    shell globs from the context's root, and ``**/`` for any depth.
    """
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix, name = "/".join(parts[:depth]), parts[depth - 1]
        for pattern in patterns:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if (pattern.startswith("**/")
                    and fnmatch.fnmatchcase(name, pattern[3:])):
                return True
    return False


def sdist_files(sdist):
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    return {name.split("/", 1)[1] for name in names if "/" in name}


def run(command, **options):
    result = subprocess.run([str(part) for part in command],
                            capture_output=True, text=True, **options)
    assert result.returncode == 0, (
        f"{shlex.join(map(str, command))} failed:\n"
        f"{result.stdout}\n{result.stderr}")
    return result
