"""The Hugging Face Space: `python -m facegan.app.space build OUT` assembles a complete Docker Space, and
the Dockerfile's own start command, run in that folder (on 127.0.0.1 and a free port instead of
0.0.0.0:8501: Docker is not available here), serves /_stcore/health and the page, with the app
importing the facegan package copied beside it."""
import subprocess
import sys

import pytest

from facegan.app import space
from facegan.app.serve import free_port, serve


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("space") / "facegan-space"
    assert space.main(["build", str(out)]) == 0
    return out


def test_the_assembled_space_is_complete(built):
    assert space.check(built) == []
    front = space.front_matter(built / "README.md")
    assert front["sdk"] == "docker" and front["app_port"] == "8501" and front["title"] and front["license"]
    for name in ("app.py", ".streamlit/config.toml", "models/celeba64.safetensors",
                 "models/celeba64.directions.safetensors", "models/attributes.safetensors", "models/attributes.md",
                 "facegan/webapp.py", "facegan/models/dcgan.py", "Dockerfile", "requirements.txt"):
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
    (broken / "models" / "celeba64.safetensors").unlink()
    (broken / "README.md").write_text("---\ntitle: x\nsdk: streamlit\n---\n")
    problems = space.check(broken)
    assert "missing models/celeba64.safetensors" in problems
    assert "README.md front matter needs sdk: docker (has 'streamlit')" in problems
    assert space.main(["check", str(broken)]) == 1
    assert space.main(["build", str(broken)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_the_space_start_command_serves_the_app(built, tmp_path):
    # the package the app imports there is the copy in the Space, not this checkout's
    where = subprocess.run([sys.executable, "-c", "import facegan; print(facegan.__file__)"], cwd=built,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(built / "facegan" / "__init__.py")

    port = free_port()
    command = [sys.executable, "-m"] + [arg.replace("8501", str(port)).replace("0.0.0.0", "127.0.0.1")
                                        for arg in space.start_command(built)]
    log = tmp_path / "space.log"
    with serve(command, port, cwd=built, log=log) as server:
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
