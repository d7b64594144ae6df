"""The systemd units (deploy/systemd/) booted by a real systemd.

systemd runs as PID 1 of a private PID and mount namespace (the way a container runs it), so the
machine's own services and files are left alone: in that namespace only, /etc is an overlay (the
`tthc` user, /etc/tthc/tthc.env as docs/deploy.md step 5 writes it), the checkout's var/ is a
throw-away data directory with the seed index owned by `tthc`, /run is private, and systemd reads
units only from a directory holding the shipped units and the few empty targets they name (no
sysinit units of the machine run). Its cgroups live under one cgroup of the test, removed afterwards.
The units are the shipped files with /srv/tthc replaced by this checkout's path, as docs/deploy.md
says to do for another path (the checkout's environments are installed for their own path).

Checked: both servers start as `tthc` under their hardening and answer (a chat message goes through
Rasa and the custom actions with the shared token from the env file), the service cannot write the
code but can write var/, the purge timer is scheduled and the purge service succeeds, and both servers
stop cleanly within TimeoutStopSec.

Two drop-ins adapt the units to this machine, not the units' content: output to a file (no journald
in the namespace) and, when the checkout's interpreters live under /root or /home (pyenv in a home
directory, as on a developer machine; docs/deploy.md builds them in /opt/pyenv), that directory is
bound read-only into ProtectHome's empty home.

Needs root (namespaces, mounts, cgroups), `unshare`, `nsenter` and systemd; without them the test is
skipped with a message naming what is missing.

    .venv/bin/python -m pytest tests/deployment/test_units_under_systemd.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from assistant.cli.launcher import rasa_model
from assistant.core.settings import PROJECT_ROOT
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

UNITS = PROJECT_ROOT / "deploy" / "systemd"
SYSTEMD_BINARIES = (Path("/lib/systemd/systemd"), Path("/usr/lib/systemd/systemd"))
CGROUP_ROOT = Path("/sys/fs/cgroup")
# The targets and slice the units (and systemd's implicit dependencies) name, empty: nothing of the
# machine's own boot runs in the namespace.
STUB_UNITS = (
    "sysinit.target",
    "basic.target",
    "network-online.target",
    "network.target",
    "shutdown.target",
    "timers.target",
    "multi-user.target",
    "time-set.target",
    "time-sync.target",
    "system.slice",
    "tthc-test.target",
)
TTHC_UID = 61000


def missing_requirement() -> str | None:
    if os.geteuid() != 0:
        return "systemd as PID 1 of a namespace needs root (namespaces, mounts, cgroups); run as root"
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is missing; install util-linux (sudo apt-get install -y util-linux)"
    if not any(path.exists() for path in SYSTEMD_BINARIES):
        return "systemd is missing; install it with 'sudo apt-get install -y systemd'"
    if not cgroup_dirs("probe"):
        return f"no cgroup hierarchy systemd can use under {CGROUP_ROOT}"
    return None


def cgroup_dirs(name: str) -> list[Path]:
    """Where systemd's cgroups for this test go: a child of our own cgroup in the hierarchies it uses
    (cgroup v1 with a name=systemd hierarchy, or the unified v2 hierarchy)."""
    dirs = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "name=systemd" and (CGROUP_ROOT / "systemd").is_dir():
            dirs.append(CGROUP_ROOT / "systemd" / path.lstrip("/") / name)
        elif controllers == "":
            base = CGROUP_ROOT / "unified" if (CGROUP_ROOT / "unified").is_dir() else CGROUP_ROOT
            if (base / "cgroup.procs").exists():
                dirs.append(base / path.lstrip("/") / name)
    return dirs


def remove_cgroups(tops: list[Path], timeout: float = 30) -> None:
    """Remove the test's cgroups (deepest first) once the killed processes have left them."""
    deadline = time.monotonic() + timeout
    for top in tops:
        while top.exists():
            for directory in sorted((p for p in [top, *top.rglob("*")] if p.is_dir()), key=lambda p: -len(p.parts)):
                try:
                    directory.rmdir()
                except OSError:
                    pass  # still has processes for a moment after the SIGKILL
            if top.exists():
                if time.monotonic() > deadline:
                    raise AssertionError(f"cgroup {top} still in use {timeout:.0f} s after systemd was killed")
                time.sleep(0.2)


def interpreter_home() -> Path | None:
    """The home directory the checkout's interpreters live in (pyenv under ~), if any."""
    for venv in (".venv", ".venv-rasa"):
        real = (PROJECT_ROOT / venv / "bin" / "python").resolve()
        for home in (Path("/root"), Path("/home")):
            if real.is_relative_to(home):
                return (
                    Path(*real.parts[: real.parts.index("versions")])
                    if "versions" in real.parts
                    else real.parent.parent
                )
    return None


class Namespace:
    """systemd as PID 1 of its own PID and mount namespace; commands run inside with nsenter."""

    def __init__(self, workdir: Path, cgroups: list[Path]) -> None:
        self.workdir, self.cgroups = workdir, cgroups
        self.process: subprocess.Popen | None = None
        self.pid = 0  # systemd's pid outside the namespace

    def boot(self, script: Path, timeout: float = 60) -> None:
        self.process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--mount-proc", "--propagation", "private", str(script)],
            stdout=(self.workdir / "systemd.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = subprocess.run(
                ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
            ).stdout.split()
            if children:
                self.pid = int(children[0])
                if self.run("systemctl", "is-system-running", check=False).stdout.strip() in ("running", "degraded"):
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(
            f"systemd did not come up: {(self.workdir / 'systemd.log').read_text(errors='replace')[-2000:]}"
        )

    def run(self, *command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p", "--", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)}: {result.returncode} {result.stdout} {result.stderr}")
        return result

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        out = self.run("systemctl", "show", unit, *[f"-p{p}" for p in properties]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def stop(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)  # PID 1 of the namespace: everything in it dies
            except ProcessLookupError:
                pass
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)
        # cgroup v1: systemd may also put its path in the controllers' hierarchies (memory, pids, ...).
        name = self.cgroups[0].name
        controllers = [h / name for h in CGROUP_ROOT.iterdir() if (h / name).is_dir() and h / name not in self.cgroups]
        remove_cgroups([*self.cgroups, *controllers])


def boot_script(workdir: Path, env_file: str, cgroup_paths: list[Path], unit_dir: Path) -> Path:
    passwd = f"tthc:x:{TTHC_UID}:{TTHC_UID}:Tro ly TTHC:{PROJECT_ROOT}:/usr/sbin/nologin"
    moves = "\n".join(f"mkdir -p {path} && echo 0 > {path}/cgroup.procs" for path in cgroup_paths)
    script = workdir / "boot.sh"
    script.write_text(f"""#!/bin/sh
set -e
# Our own cgroup first, so everything systemd creates sits under it.
{moves}
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t overlay overlay -o lowerdir=/etc,upperdir={workdir}/etc-upper,workdir={workdir}/etc-work /etc
echo '{passwd}' >> /etc/passwd
echo 'tthc:x:{TTHC_UID}:' >> /etc/group
install -d -m 0750 -o root -g tthc /etc/tthc
cp {env_file} /etc/tthc/tthc.env && chown root:tthc /etc/tthc/tthc.env && chmod 0640 /etc/tthc/tthc.env
mount --bind {workdir}/var {PROJECT_ROOT}/var
export container=tthc-test SYSTEMD_UNIT_PATH={unit_dir}
exec {next(str(p) for p in SYSTEMD_BINARIES if p.exists())} --system --unit=tthc-test.target --show-status=no \\
    --log-target=console --log-level=notice
""")
    script.chmod(0o755)
    return script


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    if not rasa_model.model_path(PROJECT_ROOT / "models" / "rasa").exists():
        pytest.fail("no trained Rasa model in models/rasa; run '.venv/bin/tthc up --prepare-only'")
    if not (PROJECT_ROOT / "var" / "kb" / "manifest.json").exists():
        pytest.fail("no seed index in var/kb; run '.venv/bin/tthc up --prepare-only'")
    workdir = tmp_path_factory.mktemp("systemd")
    workdir.chmod(0o755)
    for name in ("etc-upper", "etc-work", "var/home"):
        (workdir / name).mkdir(parents=True)
    # The data directory the units may write: the seed index of this checkout, owned by tthc.
    shutil.copytree(PROJECT_ROOT / "var" / "kb-builds", workdir / "var" / "kb-builds", symlinks=True)
    (workdir / "var" / "kb").symlink_to(os.readlink(PROJECT_ROOT / "var" / "kb"))
    for path in [workdir / "var", *(workdir / "var").rglob("*")]:
        os.lchown(path, TTHC_UID, TTHC_UID)
    unit_dir = workdir / "units"
    unit_dir.mkdir()
    for unit in UNITS.iterdir():  # the shipped files, pointed at this checkout
        (unit_dir / unit.name).write_text(
            unit.read_text(encoding="utf-8").replace("/srv/tthc", str(PROJECT_ROOT)), encoding="utf-8"
        )
    for name in STUB_UNITS:
        (unit_dir / name).write_text("[Unit]\nDefaultDependencies=no\n")
    home = interpreter_home()
    for service in ("tthc-app", "tthc-rasa", "tthc-privacy-purge"):
        dropin = unit_dir / f"{service}.service.d"
        dropin.mkdir()
        (dropin / "test-output.conf").write_text(
            f"[Service]\nStandardOutput=append:{workdir}/{service}.log\nStandardError=inherit\n"
        )
        if home:
            (dropin / "test-interpreter.conf").write_text(f"[Service]\nProtectHome=tmpfs\nBindReadOnlyPaths={home}\n")
    app_port, rasa_port = free_port(), free_port()
    env_file = workdir / "tthc.env"
    env_file.write_text(
        "\n".join(
            [
                f"TTHC_ACTION_TOKEN={uuid.uuid4().hex}",
                f"TTHC_ADMIN_TOKEN={uuid.uuid4().hex}",
                f"TTHC_SERVER__APP_PORT={app_port}",
                f"TTHC_SERVER__RASA_PORT={rasa_port}",
                "TTHC_SERVER__RASA_WORKERS=1",
                "",
            ]
        )
    )
    cgroups = cgroup_dirs(f"tthc-systemd-test-{uuid.uuid4().hex[:8]}")
    namespace = Namespace(workdir, cgroups)
    try:
        namespace.boot(boot_script(workdir, str(env_file), cgroups, unit_dir))
        yield namespace, app_port, rasa_port
    finally:
        namespace.stop()


def wait_for(url: str, timeout: float, namespace: Namespace, unit: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        state = namespace.show(unit, "ActiveState", "NRestarts")
        if state["ActiveState"] == "failed" or state["NRestarts"] != "0":  # Restart=on-failure: it failed
            break
        time.sleep(1)
    log = namespace.workdir / f"{unit.removesuffix('.service')}.log"
    raise AssertionError(
        f"{unit} did not answer at {url}: {namespace.show(unit, 'ActiveState', 'Result')} "
        f"{log.read_text(errors='replace')[-2000:] if log.exists() else ''}"
    )


def test_both_servers_run_as_the_units_say_and_answer(booted):
    namespace, app_port, rasa_port = booted
    namespace.run("systemctl", "start", "tthc-app.service", "tthc-rasa.service")
    wait_for(f"http://127.0.0.1:{app_port}/health", 240, namespace, "tthc-app.service")
    wait_for(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", 600, namespace, "tthc-rasa.service")
    reply = httpx.post(
        f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
        timeout=120,
        json={"sender": "systemd-check", "message": "làm căn cước cần giấy tờ gì"},
    ).json()
    assert reply and "căn cước" in json.dumps(reply, ensure_ascii=False).lower(), reply  # through the actions

    for unit in ("tthc-app.service", "tthc-rasa.service"):
        pid = namespace.show(unit, "MainPID")["MainPID"]
        status = dict(line.split(":", 1) for line in namespace.run("cat", f"/proc/{pid}/status").stdout.splitlines())
        assert status["Uid"].split()[0] == str(TTHC_UID), (unit, status["Uid"])
        assert status["NoNewPrivs"].strip() == "1" and int(status["CapBnd"], 16) == 0, (unit, status)
        # In the service's own mount namespace: the code is read-only, var/ is writable.
        stray = PROJECT_ROOT / f"written-by-{unit}"
        code = namespace.run("nsenter", "-t", pid, "-m", "--", "touch", str(stray), check=False)
        stray.unlink(missing_ok=True)
        assert code.returncode != 0 and "Read-only file system" in code.stderr, (unit, code.stderr)
        data = namespace.run(
            "nsenter", "-t", pid, "-m", "--", "touch", str(PROJECT_ROOT / "var" / f"written-by-{unit}"), check=False
        )
        assert data.returncode == 0, (unit, data.stderr)


def test_the_purge_timer_is_scheduled_and_the_purge_succeeds(booted):
    namespace, _, _ = booted
    namespace.run("systemctl", "start", "tthc-privacy-purge.timer")
    timer = namespace.show("tthc-privacy-purge.timer", "ActiveState", "NextElapseUSecRealtime")
    assert timer["ActiveState"] == "active" and timer["NextElapseUSecRealtime"], timer
    namespace.run("systemctl", "start", "tthc-privacy-purge.service", timeout=300)  # oneshot: waits for it
    purge = namespace.show("tthc-privacy-purge.service", "Result", "ExecMainStatus")
    assert purge == {"Result": "success", "ExecMainStatus": "0"}, purge


def test_both_servers_stop_cleanly(booted):
    namespace, app_port, _ = booted
    namespace.run("systemctl", "start", "tthc-app.service", "tthc-rasa.service")
    started = time.monotonic()
    namespace.run("systemctl", "stop", "tthc-app.service", "tthc-rasa.service", timeout=120)
    for unit in ("tthc-app.service", "tthc-rasa.service"):
        state = namespace.show(unit, "ActiveState", "Result")
        assert state == {"ActiveState": "inactive", "Result": "success"}, (unit, state)  # not killed at the timeout
    assert time.monotonic() - started < 30
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{app_port}/health", timeout=3)
