"""A Docker engine for the end-to-end image test: found, or started here; the base image and
the CPU image built on it.

Nothing here imports the project: the image is built from the repository as a user would
build it (``pip install .`` inside, ``.dockerignore`` deciding what goes in).

Environment:
- ``EQUIGRID_DOCKER_TESTS=1`` opts in (``.ci/run`` sets it); without it the test skips.
- ``EQUIGRID_BASE_IMAGE``: build on this image (e.g. ``python:3.11-slim`` where a registry is
  reachable); otherwise ``docker/debian-base.sh`` builds a Debian one (debootstrap, cached).
- ``EQUIGRID_TORCH_WHEELS``: where the CPU torch wheel lies (default ``/opt/wheels``).
- ``EQUIGRID_DOCKERD_STORAGE``: the storage driver of a dockerd started here (default: overlay2
  where this kernel mounts overlays, else vfs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OPT_IN = "EQUIGRID_DOCKER_TESTS"
# As the machines here need it: no iptables, no bridge (so `--network host` everywhere). nice:
# the build's work runs under dockerd, beside other jobs on the machine.
DOCKERD = ["nice", "-n", "10", "dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none"]
IMAGE = "equigrid-e2e"  # equigrid-e2e:cpu (runtime) and equigrid-e2e:cpu-builder (build cache)
STAGE_LABEL = "io.equigrid.stage"


def log(msg: str) -> None:
    print(f"[docker e2e {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker CLI; output captured as text."""
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-4000:]}")
    return r


def engine_up() -> bool:
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def cannot_start_engine() -> str | None:
    """Why no engine can be started here, or None if one can."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH (Debian: apt-get install docker.io)"
    if shutil.which("dockerd") is None:
        return "no dockerd on PATH (Debian: apt-get install docker.io)"
    if os.geteuid() != 0:
        return "dockerd must be started as root"
    return None


def storage_driver() -> str:
    """overlay2 if this kernel lets us mount an overlay here, else vfs (which works anywhere but
    copies the whole image for every layer and every container: a cold run takes about twice
    as long)."""
    chosen = os.environ.get("EQUIGRID_DOCKERD_STORAGE")
    if chosen:
        return chosen
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        for sub in ("lower", "upper", "work", "merged"):
            os.mkdir(os.path.join(d, sub))
        opts = f"lowerdir={d}/lower,upperdir={d}/upper,workdir={d}/work"
        probe = ["mount", "-t", "overlay", "overlay", "-o", opts, f"{d}/merged"]
        if subprocess.run(probe, capture_output=True).returncode != 0:
            return "vfs"
        subprocess.run(["umount", f"{d}/merged"], check=True)
        return "overlay2"


@contextmanager
def engine(log_file: Path) -> Iterator[None]:
    """A running engine: the one already up, or dockerd started here and stopped afterwards."""
    if engine_up():
        log("using the running Docker engine")
        yield
        return
    why = cannot_start_engine()
    if why is not None:
        raise RuntimeError(f"no Docker engine and none can be started: {why}")
    cmd = [*DOCKERD, f"--storage-driver={storage_driver()}"]
    log(f"starting {' '.join(cmd)} (log: {log_file})")
    with open(log_file, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not engine_up():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not come up:\n{log_file.read_text()[-3000:]}")
            time.sleep(0.5)
        yield
    finally:
        log("stopping dockerd")
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def base_image() -> str:
    """``EQUIGRID_BASE_IMAGE``, or the Debian base that ``docker/debian-base.sh`` builds."""
    given = os.environ.get("EQUIGRID_BASE_IMAGE")
    if given:
        return given
    if shutil.which("debootstrap") is None:
        raise RuntimeError(
            "no EQUIGRID_BASE_IMAGE and no debootstrap to build a base (apt-get install "
            "debootstrap)"
        )
    t0 = time.monotonic()
    r = subprocess.run(
        ["bash", str(REPO / "docker" / "debian-base.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if r.returncode != 0:
        raise RuntimeError(f"docker/debian-base.sh failed:\n{r.stderr[-4000:]}")
    tag = r.stdout.strip().splitlines()[-1]
    log(f"base image {tag} ({time.monotonic() - t0:.0f} s)")
    return tag


def locked_versions() -> dict[str, str]:
    """requirements/lock.txt as {normalised name: version}."""
    pins = {}
    for line in (REPO / "requirements" / "lock.txt").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(";")[0].strip().split("==")
            pins[normalise(name)] = version
    return pins


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def locked_version(package: str) -> str:
    return locked_versions()[normalise(package)]


@contextmanager
def cpu_wheel_in_context() -> Iterator[None]:
    """The locked torch's CPU wheel in docker/wheels/ (the build context) while building."""
    wheels = REPO / "docker" / "wheels"
    pattern = f"torch-{locked_version('torch')}+cpu-*.whl"
    if any(wheels.glob(pattern)):
        yield
        return
    source = Path(os.environ.get("EQUIGRID_TORCH_WHEELS", "/opt/wheels"))
    found = sorted(source.glob(pattern))
    if not found:
        raise RuntimeError(f"no {pattern} in {source} (set EQUIGRID_TORCH_WHEELS)")
    target = wheels / found[-1].name
    try:
        os.link(found[-1], target)
    except OSError:
        shutil.copy2(found[-1], target)
    try:
        yield
    finally:
        target.unlink(missing_ok=True)


def build_cpu_image(base: str) -> str:
    """Build the CPU variant on ``base``; returns the tag. The builder stage is tagged too, so
    its layers (the installed dependencies) stay as the next build's cache; the chains that
    earlier builds left untagged are pruned."""
    tag = f"{IMAGE}:cpu"
    common = ["build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}"]
    common += ["--build-arg", "TORCH=cpu"]
    with cpu_wheel_in_context():
        for target, name in (("builder", f"{tag}-builder"), ("runtime", tag)):
            t0 = time.monotonic()
            r = docker(*common, "--target", target, "-t", name, str(REPO), timeout=1800)
            steps = r.stdout.count("Step ")
            cached = r.stdout.count("Using cache")
            log(f"built {name}: {time.monotonic() - t0:.0f} s ({cached} of {steps} steps cached)")
    docker("image", "prune", "--force", "--filter", f"label={STAGE_LABEL}", timeout=600)
    return tag
