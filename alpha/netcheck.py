"""Is a server there? One bounded probe, shared by the runner's preflight (hub, W&B) and the
data layer's package fallback.

A bare TCP connect is not enough: some networks accept every connection (a middlebox) and then
say nothing, so the probe waits for a real answer (a TLS handshake for https, the first bytes of
an HTTP reply), through the environment's proxy if it routes the URL through one.
"""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from urllib.parse import urlparse

TIMEOUT_S = 3.0  # one connect; a reachable endpoint answers in milliseconds


def _probe(host: str, port: int, scheme: str, proxy: tuple[str, int] | None,
           timeout: float) -> str | None:
    """Connect (through an HTTP proxy's CONNECT when given) and wait for the server to answer:
    a TLS handshake for https, the first bytes of a HEAD response for http. A server that
    accepts the connection but never answers (a blackhole, a stuck middlebox) is unreachable."""
    import ssl

    try:
        with socket.create_connection(proxy or (host, port), timeout=timeout) as sock:
            if proxy:
                sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
                             .encode())
                status = sock.recv(64).split(b"\r\n")[0]
                if b" 200" not in status:
                    return f"proxy {proxy[0]}:{proxy[1]} answered {status.decode(errors='replace')!r}"
            if scheme == "https":
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # only: does it answer?
                with ctx.wrap_socket(sock, server_hostname=host):
                    return None
            sock.sendall(f"HEAD / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            return None if sock.recv(1) else "connection closed without an answer"
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__


def unreachable(url: str, timeout: float = TIMEOUT_S) -> str | None:
    """Why `url`'s server (through the proxy the environment routes it by, if any) does not
    answer within `timeout` seconds, or None when it does. Name lookup is bounded by the same
    timeout (the probe runs in a helper thread)."""
    parts = urlparse(url)
    host, scheme = parts.hostname or "", parts.scheme or "https"
    port = parts.port or (443 if scheme == "https" else 80)
    proxy = None
    env_proxy = urllib.request.getproxies().get(scheme)
    if env_proxy and not urllib.request.proxy_bypass(host):
        p = urlparse(env_proxy if "://" in env_proxy else f"http://{env_proxy}")
        proxy = (p.hostname or "", p.port or 8080)
    result: list[str | None] = [f"no answer within {timeout:g} s"]
    worker = threading.Thread(
        target=lambda: result.__setitem__(0, _probe(host, port, scheme, proxy, timeout)),
        daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return result[0]


def hf_endpoint() -> str:
    """The hub the hub client talks to (`HF_ENDPOINT`, default https://huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
