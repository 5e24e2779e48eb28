"""The Hugging Face Space: `python -m facegan.app.space build OUT` assembles a complete Docker Space, and
the Dockerfile's own start command, run in that folder (on 127.0.0.1 and a port it binds itself instead of
0.0.0.0:8501: Docker is not available here), serves /_stcore/health and the page, with the app
importing the facegan package copied beside it. Also the server runner the Space and browser tests share
(facegan.app.serve): the port is the server's own, and a stranger on the port is named, not served."""
import http.server
import subprocess
import sys
import threading

import pytest

from facegan.app import space
from facegan.app.serve import serve
from facegan.errors import FaceganError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("space") / "facegan-space"
    assert space.main(["build", str(out)]) == 0
    return out


def test_the_assembled_space_is_complete(built):
    assert space.check(built) == []
    front = space.front_matter(built / "README.md")
    assert front["sdk"] == "docker" and front["app_port"] == "8501" and front["title"] and front["license"]
    for name in ("app.py", ".streamlit/config.toml", "models/stylegan64.safetensors",
                 "models/stylegan64.directions.safetensors", "models/stylegan64.md", "models/celeba64.safetensors",
                 "models/celeba64.directions.safetensors", "models/attributes.safetensors", "models/attributes.md",
                 "facegan/app/logic.py", "facegan/models/dcgan/networks.py", "Dockerfile", "requirements.txt"):
        assert (built / name).is_file(), name
    dockerfile = (built / "Dockerfile").read_text()
    assert "EXPOSE 8501" in dockerfile and "/_stcore/health" in dockerfile
    command = space.start_command(built)
    assert command[:3] == ["streamlit", "run", "app.py"] and "--server.port=8501" in command
    assert "--server.address=0.0.0.0" in command
    requirements = (built / "requirements.txt").read_text()
    assert "streamlit==" in requirements and "safetensors==" in requirements


def test_an_incomplete_space_is_named_and_a_used_folder_refused(built, tmp_path, capsys):
    broken = tmp_path / "broken"
    assert space.main(["build", str(broken)]) == 0
    (broken / "models" / "stylegan64.safetensors").unlink()
    (broken / "README.md").write_text("---\ntitle: x\nsdk: streamlit\n---\n")
    problems = space.check(broken)
    assert "missing models/stylegan64.safetensors" in problems
    assert "README.md front matter needs sdk: docker (has 'streamlit')" in problems
    assert space.main(["check", str(broken)]) == 1
    assert space.main(["build", str(broken)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_the_space_start_command_serves_the_app(built, tmp_path):
    # the package the app imports there is the copy in the Space, not this checkout's
    where = subprocess.run([sys.executable, "-c", "import facegan; print(facegan.__file__)"], cwd=built,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(built / "facegan" / "__init__.py")

    command = [sys.executable, "-m"] + [arg.replace("8501", "0").replace("0.0.0.0", "127.0.0.1")
                                        for arg in space.start_command(built)]
    log = tmp_path / "space.log"
    with serve(command, 0, cwd=built, log=log) as server:
        assert server.get("/_stcore/health") == (200, "ok")
        status, page = server.get("/")
        assert status == 200 and "<title>" in page and "streamlit" in page.lower()
    # the page script itself runs there, headless: 16 faces, no error
    run = subprocess.run([sys.executable, "-c", (
        "from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('app.py', default_timeout=120).run()\n"
        "import facegan; assert facegan.__file__.startswith('" + str(built) + "'), facegan.__file__\n"
        "assert not at.exception and not at.error, [e.value for e in list(at.exception) + list(at.error)]\n"
        "print(len(at.get('image')))")], cwd=built, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("16"), run.stderr[-2000:]


# ----------------------------------------------------------------------------- the server runner
class Healthy(http.server.BaseHTTPRequestHandler):
    """Answers every GET with 200 "ok", as Streamlit's /_stcore/health does."""

    def do_GET(self) -> None:  # http.server calls it by this name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


# A stand-in for `streamlit run` that starts in a fraction of a second: Healthy on 127.0.0.1:argv[1].
FAKE_SERVER = ("import http.server, sys\n"
               "class H(http.server.BaseHTTPRequestHandler):\n"
               "    def do_GET(self):\n"
               "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
               "    def log_message(self, *args): pass\n"
               "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")


@pytest.fixture
def stranger():
    """Another process's server, already listening on a port and answering health checks."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_port_0_serves_on_the_port_the_server_bound_and_stops_it_after(stranger):
    with serve([sys.executable, "-c", FAKE_SERVER, "0"]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert port not in (0, stranger) and server.get("/_stcore/health") == (200, "ok")
        process = server.process
    assert process.poll() is not None  # its process group is stopped


def test_a_port_another_process_holds_is_named_not_served(stranger, tmp_path):
    """The stand-in cannot bind the stranger's port and exits; its health checks, meanwhile, would get
    "ok" from the stranger: that must not count as the server being up."""
    log = tmp_path / "server.log"
    with pytest.raises(FaceganError) as caught, serve([sys.executable, "-c", FAKE_SERVER, str(stranger)],
                                                       stranger, log=log, timeout=30):
        pass
    message = str(caught.value)
    assert message.startswith("the server exited with status 1 before answering")
    assert f"port {stranger} on 127.0.0.1 is taken by another process" in message and str(log) in message
    assert "\n" not in message and "Address already in use" in log.read_text()
