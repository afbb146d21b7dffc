"""Two app servers as a county runs them (docs/deploy.md): separate instance folders, one PostgreSQL, one
Redis for the rate limit, one SECRET_KEY; and a staff member's browser that talks to either, keeping its
cookies as a browser behind one address would."""

import html
import http.client
import re
import secrets
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from tests.conftest import PASSWORD
from tests.load.conftest import Served, another, seeded
from tests.shared_state import REDIS_URL


def two_servers(url: str, tmp_path, *, balance: int, price: int, stock: int, **env) -> tuple[Served, Served]:
    """Server A and server B over the PostgreSQL database `url` (seeded here), not yet started."""
    shared = {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"lovemart-test-{secrets.token_hex(4)}",  # this run's own counters
        "FILE_STORAGE": "database",
        "WORKERS": "2",  # two servers of two workers: the same processes as one server of the other tests
        **env,
    }
    first = seeded("postgresql", url, tmp_path / "a", balance=balance, price=price, stock=stock)
    a = another(first, **shared, LOVEMART_INSTANCE_PATH=str(tmp_path / "a"))
    b = another(first, **shared, LOVEMART_INSTANCE_PATH=str(tmp_path / "b"))
    return a, b


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf(self) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.text) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', self.text
        )
        assert found, self.text[:500]
        return html.unescape(found.group(1))


@dataclass
class Browser:
    """Requests to any of the servers with one cookie jar (the servers share one public address)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, served: Served, path: str) -> Answer:
        return self._send(served, "GET", path, b"", {})

    def post(self, served: Served, path: str, fields: dict, files: dict | None = None) -> Answer:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        for name, (filename, data) in (files or {}).items():
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            )
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": f"http://127.0.0.1:{served.port}",  # as the browser sends with a form
        }
        return self._send(served, "POST", path, body, headers)

    def sign_in(self, served: Served, username: str, password: str = PASSWORD) -> Answer:
        token = self.get(served, "/login").csrf()
        return self.post(served, "/login", {"csrf_token": token, "username": username, "password": password})

    def _send(self, served: Served, method: str, path: str, body: bytes, headers: dict) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection.request(
            method, path, body=body, headers={**headers, **({"Cookie": cookie} if cookie else {})}
        )
        response = connection.getresponse()
        answer = Answer(response.status, response.headers, response.read())
        connection.close()
        for line in answer.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return answer
