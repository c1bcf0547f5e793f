"""Precompressed site files (sitegen/precompress.py) and the app sending them
(api/web/site.py): gzip and brotli copies beside each text file that decompress to the same
bytes, reused for unchanged files, and sent with Content-Encoding when Accept-Encoding
allows."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.config import get_settings
from api.db import Database
from api.web.site import accepted_encodings
from sitegen.precompress import precompress_site

PAGE = ("<!doctype html><html><body>" + "<p>Dog walking, every Saturday, 10am</p>" * 200).encode()
CSS = (".pt-item { border-bottom: 1px solid #ddd; padding: .6rem 0; }\n" * 100).encode()
PNG = bytes(range(256)) * 8


def make_site(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_bytes(PAGE)
    (folder / "assets" / "site.css").write_bytes(CSS)
    (folder / "assets" / "logo.png").write_bytes(PNG)
    (folder / "tiny.txt").write_bytes(b"ok")
    return folder


def test_copies_decompress_to_the_same_bytes(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    assert precompress_site(site) == (2, 0)
    for name, data in (("index.html", PAGE), ("assets/site.css", CSS)):
        assert brotli.decompress((site / f"{name}.br").read_bytes()) == data
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == data
        assert (site / f"{name}.br").stat().st_size < len(data) / 5
    assert not (site / "assets" / "logo.png.br").exists()  # not text
    assert not (site / "tiny.txt.gz").exists()  # too small to gain


def test_unchanged_files_keep_their_copies(tmp_path: Path) -> None:
    old = make_site(tmp_path / "old")
    precompress_site(old)
    new = tmp_path / "new"
    (new / "assets").mkdir(parents=True)
    os.link(old / "index.html", new / "index.html")  # as the build links an unchanged page
    (new / "assets" / "site.css").write_bytes(CSS + b"/* changed */\n")
    (new / "assets" / "logo.png").write_bytes(PNG)
    (new / "data.json").write_bytes(b'{"same": "bytes"}' * 20)  # remade, not changed
    (old / "data.json").write_bytes(b'{"same": "bytes"}' * 20)
    precompress_site(old)
    assert precompress_site(new, previous=old) == (1, 2)
    assert os.path.samefile(new / "data.json.gz", old / "data.json.gz")
    assert os.path.samefile(new / "index.html.br", old / "index.html.br")
    assert gzip.decompress((new / "assets/site.css.gz").read_bytes()).endswith(b"changed */\n")


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("gzip, deflate, br", {"gzip", "deflate", "br"}),
        ("gzip;q=1.0, br;q=0", {"gzip"}),
        ("*", {"br", "gzip", "*"}),
        ("*, br;q=0", {"gzip", "*"}),
        ("identity", {"identity"}),
        ("", set()),
    ],
)
def test_accept_encoding(header: str, allowed: set[str]) -> None:
    assert accepted_encodings(header) == allowed


@pytest.fixture()
def client(tmp_path: Path, empty_db: Database) -> TestClient:
    site = make_site(tmp_path / "site")
    precompress_site(site)
    return TestClient(create_app(get_settings(data_dir=tmp_path, site_dir=site), db=empty_db))


def raw(client: TestClient, path: str, encoding: str) -> tuple[dict[str, str], bytes]:
    with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as response:
        assert response.status_code == 200
        return dict(response.headers), b"".join(response.iter_raw())


def test_server_sends_the_precompressed_copy(client: TestClient, tmp_path: Path) -> None:
    site = tmp_path / "site"
    headers, body = raw(client, "/", "gzip, deflate, br")
    assert headers["content-encoding"] == "br" and headers["vary"] == "Accept-Encoding"
    assert headers["content-type"].startswith("text/html")
    assert body == (site / "index.html.br").read_bytes()
    assert int(headers["content-length"]) == len(body)
    headers, body = raw(client, "/assets/site.css", "gzip")
    assert headers["content-encoding"] == "gzip" and headers["content-type"].startswith("text/css")
    assert gzip.decompress(body) == CSS
    headers, body = raw(client, "/", "identity")
    assert "content-encoding" not in headers and body == PAGE
    assert headers["vary"] == "Accept-Encoding"
    headers, body = raw(client, "/assets/logo.png", "br")
    assert "content-encoding" not in headers and body == PNG


def test_precompressed_copy_answers_not_modified(client: TestClient) -> None:
    first = client.get("/", headers={"Accept-Encoding": "br"})
    again = client.get(
        "/", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.headers["vary"] == "Accept-Encoding"
    plain = client.get("/", headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] != first.headers["etag"]  # another representation
