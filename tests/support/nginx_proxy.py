"""A real nginx in front of a live stack, configured from deploy/nginx/tthc.conf (rendered by
deploy/nginx/render.py exactly as docs/deploy.md does), run as an unprivileged process on free ports.

Everything nginx writes (pid, logs, temp files) lives in its own directory; a throw-away self-signed
certificate for 127.0.0.1 stands in for the real one. When the tests run as root, nginx runs as
`nobody` (it never needs root here: the ports are high).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.core.settings import PROJECT_ROOT

RENDER_SCRIPT = PROJECT_ROOT / "deploy" / "nginx" / "render.py"
NGINX_FIX = "install it with 'sudo apt-get install -y nginx' (scripts/ensure_test_packages.sh does it as root)"
ACME_TOKEN = "tthc-test-challenge"


class NginxError(RuntimeError):
    """nginx is missing, rejects the configuration or does not start; the message names the fix."""


def nginx_binary() -> str:
    for candidate in ("/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise NginxError(f"nginx is not installed; {NGINX_FIX}")


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@dataclass
class Nginx:
    root: Path
    http_port: int
    https_port: int
    certificate: Path
    config: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_origin(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def error_log(self) -> str:
        parts = []
        for name in ("error.log", "tthc.error.log"):
            path = self.root / "logs" / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def access_log(self) -> str:
        path = self.root / "logs" / "tthc.access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # fast shutdown of master and workers
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    certificate, key = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise NginxError(
            f"openssl could not make a test certificate ({result.stderr.strip()[-200:]}); "
            "install it with 'sudo apt-get install -y openssl'"
        )
    return certificate, key


def render_site(
    root: Path,
    http_port: int,
    https_port: int,
    upstreams: tuple[list[str], list[str]],
    staff_networks: list[str],
    embed_origins: list[str],
    certificate: Path,
    key: Path,
    action_listen: str = "",
    rasa_networks: list[str] = (),
) -> str:
    """The site configuration, rendered by deploy/nginx/render.py as the deployment guide does."""
    command = [
        sys.executable,
        str(RENDER_SCRIPT),
        "--server-name",
        "127.0.0.1",
        "--http-port",
        str(http_port),
        "--https-port",
        str(https_port),
        "--certificate",
        str(certificate),
        "--certificate-key",
        str(key),
        "--acme-root",
        str(root / "acme"),
        "--log-dir",
        str(root / "logs"),
    ]
    for item in upstreams[0]:
        command += ["--app-upstream", item]
    for item in upstreams[1]:
        command += ["--rasa-upstream", item]
    if action_listen:
        command += ["--action-listen", action_listen]
        for item in rasa_networks:
            command += ["--rasa-network", item]
    for item in staff_networks:
        command += ["--staff-network", item]
    for item in embed_origins:
        command += ["--embed-origin", item]
    if not ipv6_loopback():
        command.append("--no-ipv6")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise NginxError(f"deploy/nginx/render.py failed: {result.stderr.strip()}")
    return result.stdout


def main_config(root: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives a site, with every path inside `root`."""
    temp = root / "temp"
    return f"""
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
daemon off;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""


def start_nginx(
    app_url: str | list[str],
    rasa_url: str | list[str],
    http_port: int,
    https_port: int,
    staff_networks: list[str],
    embed_origins: list[str],
    timeout: float = 20,
    action_listen: str = "",
    rasa_networks: list[str] = (),
) -> Nginx:
    """nginx in front of one app server and one Rasa server, or (lists, scale-out) several of each;
    `action_listen` adds the internal action balancer for the Rasa nodes at `rasa_networks`."""
    binary = nginx_binary()
    root = Path(tempfile.mkdtemp(prefix="tthc-nginx-"))
    for name in ("logs", "temp", "acme/.well-known/acme-challenge"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "acme" / ".well-known" / "acme-challenge" / ACME_TOKEN).write_text(ACME_TOKEN)
    certificate, key = self_signed_certificate(root)
    apps = [app_url] if isinstance(app_url, str) else list(app_url)
    rasas = [rasa_url] if isinstance(rasa_url, str) else list(rasa_url)
    upstreams = ([url.removeprefix("http://") for url in apps], [url.removeprefix("http://") for url in rasas])
    site = render_site(
        root,
        http_port,
        https_port,
        upstreams,
        staff_networks,
        embed_origins,
        certificate,
        key,
        action_listen,
        rasa_networks,
    )
    (root / "tthc.conf").write_text(site)
    (root / "nginx.conf").write_text(main_config(root, root / "tthc.conf"))
    run_as = {}
    if os.geteuid() == 0:  # never run the proxy as root, as on the VM only its master would
        nobody = pwd.getpwnam("nobody")
        for path in [root, *root.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    command = [binary, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "logs" / "error.log")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, **run_as)
    if check.returncode != 0:
        raise NginxError(f"nginx rejects the rendered deploy/nginx/tthc.conf: {check.stderr.strip()}")
    proxy = Nginx(root, http_port, https_port, certificate, site)
    proxy.process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True, **run_as
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise NginxError(f"nginx exited at start-up: {proxy.error_log()}")
        try:
            with socket.create_connection(("127.0.0.1", https_port), timeout=1):
                return proxy
        except OSError:
            time.sleep(0.1)
    proxy.stop()
    raise NginxError(f"nginx did not listen on {https_port} within {timeout:.0f} s: {proxy.error_log()}")
