"""Where webhooks may point: public addresses only, unless a host is listed as allowed.

A manager types a webhook URL and sees every delivery's result, so a URL pointing inside the
network (127.0.0.1, 10.x, 169.254.169.254 cloud metadata, ...) would let them probe it. The host
is resolved and every address checked when the endpoint is saved and again at each send, and
the send connects to the very address that was checked (a DNS answer that changes between the
check and the connection cannot redirect it).

`WEBHOOK_ALLOWED_INTERNAL_HOSTS` (settings, from the environment) lists internal hosts that are
allowed anyway: host names (exact, case-insensitive), IP addresses or networks (10.1.0.0/16)."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeWebhookTarget(ValueError):
    """The URL points somewhere webhooks may not go; the message says why."""


def _allowed_internal() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names, networks = set(), []
    for entry in getattr(settings, "WEBHOOK_ALLOWED_INTERNAL_HOSTS", []):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip().lower().rstrip("."))
    return names, networks


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses of `host`, all allowed, or UnsafeWebhookTarget."""
    if not host:
        raise UnsafeWebhookTarget("The webhook URL has no host.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeWebhookTarget(f"The host “{host}” cannot be resolved ({exc}).") from None
    names, networks = _allowed_internal()
    host_allowed = host.lower().rstrip(".") in names
    addresses = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]  # drop an IPv6 zone id
        address = ipaddress.ip_address(text)
        if not (host_allowed or is_public(address)
                or any(address in network for network in networks)):
            raise UnsafeWebhookTarget(
                f"The host “{host}” resolves to {address}, an internal address (loopback, "
                "private, link-local or reserved). Webhooks may only go to public addresses "
                "unless the host is listed in WEBHOOK_ALLOWED_INTERNAL_HOSTS.")
        addresses.append(text)
    return list(dict.fromkeys(addresses))


def check_webhook_url(url: str) -> None:
    """For saving an endpoint: refuse a URL webhooks may not use (UnsafeWebhookTarget)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeWebhookTarget("Only http:// and https:// webhook URLs are allowed.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeWebhookTarget("The webhook URL has an invalid port.") from None
    resolve_checked(parts.hostname or "", port)


# --- Sending: connect only to the address that was checked ---------------------------------


def _connect_checked(connection: http.client.HTTPConnection) -> socket.socket:
    last_error: OSError | None = None
    for address in resolve_checked(connection.host, connection.port):
        try:
            return socket.create_connection((address, connection.port), connection.timeout,
                                            connection.source_address)
        except OSError as exc:
            last_error = exc
    raise last_error or OSError(f"No address to connect to for {connection.host}.")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect_checked(self)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        # TLS is verified against the host name from the URL, as usual.
        self.sock = self._context.wrap_socket(_connect_checked(self), server_hostname=self.host)


class CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


def mask_url(url: str) -> str:
    """A webhook URL without its path and query (where Slack and Teams keep the credential):
    https://hooks.slack.com/…"""
    parts = urlsplit(url or "")
    if not parts.scheme or not parts.netloc:
        return "…" if url else ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = parts.path not in ("", "/") or parts.query or parts.username
    return f"{parts.scheme}://{host}/" + ("…" if hidden else "")
