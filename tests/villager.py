"""A test client holding a scanned card, as a villager's phone does after opening the QR link."""


def scan(client, token: str):
    """GET the QR link `/c/<token>`: the client now carries the card cookie for `/me` pages."""
    response = client.get(f"/c/{token}")
    assert response.status_code == 303, f"the QR link answered {response.status_code}"
    assert response.headers["Location"].endswith("/me")
    return client


def page(client, token: str, path: str = "", **kwargs):
    """Scan the card's QR link (whatever it answers), then open `/me<path>`."""
    client.get(f"/c/{token}")
    return client.get(f"/me{path}", **kwargs)


def post(client, token: str, path: str, **kwargs):
    client.get(f"/c/{token}")
    return client.post(f"/me{path}", **kwargs)
