"""Where load may go: loopback by default, anywhere only with --allow-remote."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from loadtests.errors import UnsafeTargetError, UsageError
from loadtests.target.safety import check_url, is_loopback_host


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5000/",
        "http://127.8.9.10",
        "https://127.0.0.1:8443",
        "http://[::1]:8000",
        "http://localhost:8000",
    ],
)
def test_loopback_urls_are_accepted_without_a_trailing_slash(url: str) -> None:
    assert check_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:5000",
        "http://192.0.2.1",
        "http://0.0.0.0:5000",
        "http://[2001:db8::1]:80",
        "http://[::]:80",
    ],
)
def test_remote_urls_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UnsafeTargetError, match="--allow-remote"):
        check_url(url)
    assert check_url(url, allow_remote=True) == url


def fake_resolver(monkeypatch: pytest.MonkeyPatch, addresses: dict[str, list[str]]) -> None:
    """Resolve names from a table, so no test depends on the network's DNS."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in addresses[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_is_loopback_only_if_every_address_is(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_resolver(
        monkeypatch,
        {"box.local": ["127.0.0.1"], "mixed.local": ["127.0.0.1", "10.1.1.1"]},
    )
    assert is_loopback_host("box.local")
    assert not is_loopback_host("mixed.local")
    assert not is_loopback_host("nowhere.invalid")  # unresolvable: never assumed safe
    assert check_url("http://box.local:1") == "http://box.local:1"
    with pytest.raises(UnsafeTargetError, match=r"mixed\.local"):
        check_url("http://mixed.local:1")
    with pytest.raises(UnsafeTargetError):
        check_url("http://nowhere.invalid:1")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "127.0.0.1:5000",
        "ftp://127.0.0.1/",
        "http://",
        "http:///path",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
    ],
)
def test_malformed_urls_are_usage_errors_that_show_an_example(url: str) -> None:
    with pytest.raises(UsageError) as raised:
        check_url(url, allow_remote=True)
    assert not isinstance(raised.value, UnsafeTargetError)
    assert repr(url) in str(raised.value)
