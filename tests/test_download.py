"""`facegan download` against zips served on 127.0.0.1, including a transfer that breaks off."""
import http.server
import io
import threading
import zipfile

import pytest
from conftest import write_image

from facegan.errors import FaceganError
from facegan.interop import download


def make_zip(tmp_path, n=5) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(n):
            img = write_image(tmp_path / "src" / f"{i:06d}.jpg", seed=i)
            z.write(img, f"processed_celeba_small/celeba/{i:06d}.jpg")
        z.writestr("__MACOSX/processed_celeba_small/celeba/._000000.jpg", b"resource fork")
        z.writestr("processed_celeba_small/README.txt", b"hello")
    return buf.getvalue()


class Server:
    """Serves one payload with Range support; can cut the first N responses short."""

    def __init__(self, payload: bytes, cut_after: int | None = None, cuts: int = 0):
        self.payload, self.cut_after, self.cuts, self.ranges = payload, cut_after, cuts, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                start = 0
                header = self.headers.get("Range")
                server.ranges.append(header)
                if header:
                    start = int(header.split("=")[1].split("-")[0])
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                body = server.payload[start:]
                self.send_response(206 if header else 200)
                self.send_header("Content-Length", str(len(body)))
                if header:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                self.end_headers()
                if server.cuts > 0:  # promise the whole body, send part of it, hang up
                    server.cuts -= 1
                    self.wfile.write(body[:server.cut_after])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/processed-celeba-small.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(*args, **kwargs):
        servers.append(Server(*args, **kwargs))
        return servers[-1]
    yield start
    for s in servers:
        s.close()


def test_download_and_unpack(tmp_path, serve):
    server = serve(make_zip(tmp_path))
    out = download.download_dataset("celeba-small", tmp_path / "data", url=server.url, progress=False)
    assert out == tmp_path / "data" / "celeba"
    assert sorted(p.name for p in out.iterdir()) == [f"{i:06d}.jpg" for i in range(5)]
    assert not list((tmp_path / "data").glob("*.zip*"))  # zip and .part cleaned up
    again = download.download_dataset("celeba-small", tmp_path / "data", url=server.url, progress=False)
    assert again == out and len(server.ranges) == 1  # already there: no second request


def test_interrupted_transfer_resumes_with_a_range_request(tmp_path, serve):
    payload = make_zip(tmp_path)
    server = serve(payload, cut_after=len(payload) // 3, cuts=1)
    out = download.download_dataset("celeba-small", tmp_path / "data", url=server.url, progress=False)
    assert len(list(out.iterdir())) == 5
    assert server.ranges[0] is None and server.ranges[1] == f"bytes={len(payload) // 3}-"


def test_a_transfer_that_keeps_failing_keeps_the_part_and_says_how_to_resume(tmp_path, serve, monkeypatch):
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    payload = make_zip(tmp_path)
    server = serve(payload, cut_after=100, cuts=10)
    with pytest.raises(FaceganError, match="run the same command again to resume"):
        download.fetch(server.url, tmp_path / "x.zip", retries=2, progress=False)
    part = tmp_path / "x.zip.part"
    assert part.stat().st_size == 300  # three attempts of 100 bytes each, appended
    server.cuts = 0
    download.fetch(server.url, tmp_path / "x.zip", progress=False)  # the next call resumes
    assert (tmp_path / "x.zip").read_bytes() == payload


def test_not_a_zip_is_rejected_and_nothing_is_unpacked(tmp_path, serve):
    server = serve(b"<html>not found</html>")
    with pytest.raises(FaceganError, match="not a valid zip"):
        download.download_dataset("celeba-small", tmp_path / "data", url=server.url, progress=False)
    assert not (tmp_path / "data" / "celeba").exists()


def test_unreachable_server_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    with pytest.raises(FaceganError, match="download of http://127.0.0.1:9/x.zip failed .* nothing was received"):
        download.fetch("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", retries=1, timeout=2, progress=False)


def test_download_without_url_fetches_udacitys_zip_and_url_picks_a_mirror(tmp_path, monkeypatch):
    """`facegan download celeba-small` with no --url must fetch Udacity's zip (saved under its own name);
    --url must replace it, and a query string must not end up in the zip's file name."""
    payload, fetched = make_zip(tmp_path), []

    def fake_fetch(url, dest, progress=True, **kwargs):
        fetched.append((url, dest))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(payload)
        return dest

    monkeypatch.setattr(download, "fetch", fake_fetch)
    from facegan.cli import main

    assert main(["download", "celeba-small", "--root", str(tmp_path / "a")]) == 0
    url, dest = fetched[-1]
    assert url.startswith("https://s3.amazonaws.com/video.udacity-data.com/") and url.endswith(
        "/processed-celeba-small.zip")
    assert dest == tmp_path / "a" / "processed-celeba-small.zip" and not dest.exists()  # unpacked, then deleted
    assert len(list((tmp_path / "a" / "celeba").iterdir())) == 5
    mirror = "http://mirror.example/faces.zip?token=abc"
    assert main(["download", "celeba-small", "--root", str(tmp_path / "b"), "--url", mirror]) == 0
    assert fetched[-1] == (mirror, tmp_path / "b" / "faces.zip")
