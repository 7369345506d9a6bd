"""otel_cost.replay: cassette loading (gzip ``!!binary`` bodies) and loopback serving."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx
import pytest

from otel_cost.replay import Interaction, ReplayServer, load_cassette

BODY = {
    "id": "msg_1",
    "model": "claude-3-5-sonnet-20240620",
    "usage": {"input_tokens": 4, "output_tokens": 9},
}


def _cassette(tmp_path: Path) -> Path:
    packed = base64.encodebytes(gzip.compress(json.dumps(BODY).encode())).decode()
    text = f"""interactions:
- request:
    body: '{{"model": "claude-3-5-sonnet-20240620"}}'
    headers: {{}}
    method: POST
    uri: https://api.anthropic.com/v1/messages?beta=true
  response:
    body:
      string: !!binary |
{"".join("        " + line + chr(10) for line in packed.splitlines())}    headers:
      Content-Encoding:
      - gzip
      Content-Type:
      - application/json
      Transfer-Encoding:
      - chunked
      request-id:
      - req_1
    status:
      code: 200
      message: OK
- request:
    body: null
    headers: {{}}
    method: POST
    uri: https://api.anthropic.com/v1/messages
  response:
    body:
      string: '{{"second": true}}'
    headers: {{}}
    status:
      code: 429
      message: Too Many Requests
version: 1
"""
    path = tmp_path / "cassette.yaml"
    path.write_text(text)
    return path


def test_load_cassette_decodes_gzip_binary_bodies(tmp_path: Path) -> None:
    first, second = load_cassette(_cassette(tmp_path))
    assert (first.method, first.path, first.status) == ("POST", "/v1/messages", 200)
    assert json.loads(first.body) == BODY
    names = {name.lower() for name, _ in first.headers}
    assert "content-encoding" not in names and "transfer-encoding" not in names
    assert ("request-id", "req_1") in first.headers
    assert first.request_body == b'{"model": "claude-3-5-sonnet-20240620"}'
    assert (second.status, second.body, second.request_body) == (429, b'{"second": true}', b"")


def test_server_answers_in_order_and_404s_what_is_left(tmp_path: Path) -> None:
    with (
        ReplayServer(load_cassette(_cassette(tmp_path))) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert server.url.startswith("http://127.0.0.1:")
        one = client.post("/v1/messages", content=b"{}")
        assert one.status_code == 200 and one.json() == BODY
        assert one.headers["content-length"] == str(len(one.content))
        assert client.post("/v1/messages").status_code == 429
        missing = client.post("/v1/messages")
        assert missing.status_code == 404
        assert "no recorded interaction left for POST /v1/messages" in missing.text
        assert client.get("/other").status_code == 404
        assert [r.matched for r in server.received] == [True, True, False, False]
        assert server.unused == []


def test_bad_cassette_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("not: [a cassette")
    with pytest.raises(ValueError, match=r"bad\.yaml"):
        load_cassette(path)
    with ReplayServer([Interaction("GET", "/x", 200, b"ok")]) as server:
        assert httpx.get(server.url + "/x").text == "ok"
