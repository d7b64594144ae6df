#!/usr/bin/env python3
"""Render deploy/nginx/tthc.conf: fill every @@...@@ value, print the site configuration.

Stdlib only, so it runs with the system python3 on a fresh VM:

    python3 deploy/nginx/render.py --server-name tthc.example.gov.vn --staff-network 10.0.0.0/8 \
        --embed-origin https://dichvucong.example.gov.vn > /etc/nginx/sites-available/tthc.conf

The tests render the same template with their own ports and paths (tests/deployment/).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

TEMPLATE = Path(__file__).resolve().parent / "tthc.conf"
PLACEHOLDER = re.compile(r"@@[A-Z0-9_]+@@")


class RenderError(ValueError):
    """A value that would make a broken or unsafe configuration; the message names the fix."""


def origin(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise RenderError(
            f"--embed-origin {value!r} is not an origin; give scheme and host only, "
            "e.g. https://dichvucong.example.gov.vn"
        )
    return f"{parts.scheme}://{parts.netloc}"


def network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise RenderError(
            f"--staff-network {value!r} is not an address or CIDR network; e.g. --staff-network 10.10.0.0/16"
        ) from None


def upstream(value: str, flag: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z.\-\[\]:]+:[0-9]{1,5}", value.strip()):
        raise RenderError(f"{flag} {value!r} must be host:port, e.g. {flag} 127.0.0.1:8000")
    return value.strip()


def server_name(value: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z.\-]+", value.strip()):
        raise RenderError(f"--server-name {value!r} must be a bare host name, e.g. tthc.example.gov.vn")
    return value.strip()


def servers(values: list[str], flag: str) -> str:
    # max_fails=1 fail_timeout=10s: one refused connection and the server is left alone for 10 s.
    return "\n    ".join(f"server {upstream(item, flag)} max_fails=1 fail_timeout=10s;" for item in values)


def action_balancer(text: str, args: argparse.Namespace) -> str:
    """Keep the internal action listener (scale-out) when --action-listen is given, else drop it."""
    block = re.compile(r"#@@ACTION_BALANCER_BEGIN@@\n(.*?)#@@ACTION_BALANCER_END@@\n", re.DOTALL)
    if not args.action_listen:
        return block.sub("", text)
    rasa_networks = [network(item) for item in args.rasa_network] or ["127.0.0.1/32"]
    text = block.sub(lambda match: match.group(1), text)
    return text.replace("@@ACTION_LISTEN@@", upstream(args.action_listen, "--action-listen")).replace(
        "@@ACTION_ALLOW@@", "\n    ".join(f"allow {item};" for item in rasa_networks)
    )


def render(args: argparse.Namespace, template: str | None = None) -> str:
    networks = [network(item) for item in args.staff_network] or ["127.0.0.1/32"]
    values = {
        "SERVER_NAME": server_name(args.server_name),
        "HTTP_PORT": str(args.http_port),
        "HTTPS_PORT": str(args.https_port),
        "APP_SERVERS": servers(args.app_upstream or ["127.0.0.1:8000"], "--app-upstream"),
        "RASA_SERVERS": servers(args.rasa_upstream or ["127.0.0.1:5005"], "--rasa-upstream"),
        "STAFF_NETWORKS": "\n    ".join(f"{item} 1;" for item in networks),
        "FRAME_ANCESTORS": " ".join(dict.fromkeys(origin(item) for item in args.embed_origin)),
        "TLS_CERTIFICATE": args.certificate,
        "TLS_CERTIFICATE_KEY": args.certificate_key,
        "ACME_ROOT": args.acme_root,
        "LOG_DIR": args.log_dir.rstrip("/") or "/",
        "CHAT_RATE": args.chat_rate,
        "CHAT_BURST": str(args.chat_burst),
        "IPV6": "" if args.ipv6 else "# ",
    }
    if not re.fullmatch(r"[0-9]+r/[sm]", values["CHAT_RATE"]):
        raise RenderError(f"--chat-rate {args.chat_rate!r} must look like 5r/s or 300r/m")
    for name, value in values.items():
        if any(char in value for char in ";{}'\"") and name not in ("STAFF_NETWORKS", "APP_SERVERS", "RASA_SERVERS"):
            raise RenderError(
                f"the value for @@{name}@@ contains one of ; {{ }} ' \" and would break the configuration"
            )
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    text = action_balancer(text, args)
    # Comment lines name the values without filling them (a multi-line value would leave a comment).
    text = "".join(
        PLACEHOLDER.sub(lambda match: match.group(0).strip("@"), line)
        if line.lstrip().startswith("#")
        else PLACEHOLDER.sub(lambda match: values.get(match.group(0).strip("@"), match.group(0)), line)
        for line in text.splitlines(keepends=True)
    )
    left = sorted(set(PLACEHOLDER.findall(text)))
    if left:
        raise RenderError(f"{TEMPLATE} has values this script does not fill: {', '.join(left)}; add them to render.py")
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Render the nginx site configuration of Trợ lý TTHC (deploy/nginx/tthc.conf)."
    )
    p.add_argument("--server-name", required=True, help="public host name, e.g. tthc.tayninh.gov.vn")
    p.add_argument(
        "--staff-network",
        action="append",
        default=[],
        help="address or CIDR allowed to reach staff-only routes; repeat for several "
        "(default: 127.0.0.1 only, i.e. from the VM itself)",
    )
    p.add_argument(
        "--embed-origin",
        action="append",
        default=[],
        help="origin allowed to show /chat in an iframe (use server.allowed_origins); repeatable",
    )
    p.add_argument(
        "--app-upstream",
        action="append",
        default=[],
        help="server.host:server.app_port (default 127.0.0.1:8000); repeat for each node (scale-out)",
    )
    p.add_argument(
        "--rasa-upstream",
        action="append",
        default=[],
        help="server.host:server.rasa_port (default 127.0.0.1:5005); repeat for each node (scale-out)",
    )
    p.add_argument(
        "--action-listen",
        default="",
        help="scale-out: private address:port where the Rasa nodes call the custom actions, balanced "
        "over the app servers (deployment.action_endpoint_url = http://<it>/webhook); default: none",
    )
    p.add_argument(
        "--rasa-network",
        action="append",
        default=[],
        help="address or CIDR of the Rasa nodes allowed to call --action-listen; repeatable (default: 127.0.0.1 only)",
    )
    p.add_argument("--http-port", type=int, default=80)
    p.add_argument("--https-port", type=int, default=443)
    p.add_argument(
        "--certificate",
        default="/etc/letsencrypt/live/SERVER_NAME/fullchain.pem",
        help="certificate chain (default: certbot's path for --server-name)",
    )
    p.add_argument(
        "--certificate-key",
        default="/etc/letsencrypt/live/SERVER_NAME/privkey.pem",
        help="private key (default: certbot's path for --server-name)",
    )
    p.add_argument("--acme-root", default="/var/www/letsencrypt", help="webroot for certbot --webroot")
    p.add_argument("--log-dir", default="/var/log/nginx")
    p.add_argument("--chat-rate", default="5r/s", help="per-address rate of the chat webhook (nginx limit_req)")
    p.add_argument("--chat-burst", type=int, default=100, help="burst of the chat webhook's per-address limit")
    p.add_argument("--no-ipv6", dest="ipv6", action="store_false", help="leave out the [::] listen lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for name in ("certificate", "certificate_key"):
        setattr(args, name, getattr(args, name).replace("SERVER_NAME", args.server_name))
    try:
        sys.stdout.write(render(args))
    except RenderError as exc:
        print(f"render.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
