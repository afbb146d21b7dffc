"""Safe redirects: only same-site relative paths are followed, never a URL someone else supplied."""

from urllib.parse import urlsplit

from flask import request, url_for


def safe_path(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def back_url(default_endpoint: str = "main.index") -> str:
    """Where to send a person after a refused POST: the page they came from if it is ours."""
    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc == request.host:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if safe := safe_path(path):
                return safe
    return url_for(default_endpoint)
