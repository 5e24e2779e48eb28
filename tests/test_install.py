"""The README's test command is the whole set-up on a bare machine: tests/install.sh installs the test
packages and, where the browser test's Chromium is missing, Debian's package; .ci/run runs the README's
command verbatim. The script is run here against stand-in ``python`` / ``apt-get`` commands (a PATH of
stubs that log their arguments), so every branch is exercised without installing anything."""
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "install.sh"


def readme_commands() -> list[str]:
    quick_start = (REPO / "README.md").read_text().split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", quick_start, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readmes_test_command_verbatim():
    install, test = readme_commands()
    assert test == "bash tests/install.sh && python -m pytest"
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test


def run_script(tmp_path: Path, browser: Path, apt: bool, uid: int = 0, sudo: bool = False,
               npm: bool = True) -> tuple[subprocess.CompletedProcess, str]:
    """tests/install.sh with PATH = stubs only: ``python``, ``npm`` (if ``npm``) and ``apt-get`` log their
    arguments (``apt-get install ... npm`` puts an ``npm`` stub in place), ``id -u`` says ``uid``, ``sudo -n``
    works only if ``sudo``."""
    stubs, log = tmp_path / "bin", tmp_path / "calls.log"
    stubs.mkdir(exist_ok=True)
    (stubs / "dirname").symlink_to(next(p for p in (Path("/usr/bin/dirname"), Path("/bin/dirname")) if p.exists()))
    npm_stub = f'echo "npm $*" >> {log}'
    scripts = {"python": f'echo "python $*" >> {log}', "id": f"echo {uid}",
               "true": "exit 0",
               "sudo": f'if [ "$1" = -n ]; then shift; fi; {"exec" if sudo else "exit 1;"} "$@"'}
    if npm:
        scripts["npm"] = npm_stub
    if apt:
        scripts["apt-get"] = (f'echo "apt-get $*" >> {log}\ncase "$*" in *npm*) printf \'#!/bin/sh\\n%s\\n\' '
                              f'\'{npm_stub}\' > {stubs}/npm; /bin/chmod +x {stubs}/npm;; esac')
    for name, body in scripts.items():
        (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
        (stubs / name).chmod(0o755)
    env = {"PATH": str(stubs), "FACEGAN_CHROMIUM": str(browser), "HOME": str(tmp_path)}
    done = subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    return done, log.read_text() if log.exists() else ""


def test_install_installs_the_packages_and_keeps_a_present_browser(tmp_path):
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    done, calls = run_script(tmp_path, browser, apt=True)
    assert done.returncode == 0, done.stderr
    assert calls.splitlines() == ["python -m pip install --quiet -r requirements-test.txt",
                                  "npm ci --no-audit --no-fund --loglevel=error"]


@pytest.mark.parametrize("uid, sudo", [(0, False), (1000, True)])
def test_install_gets_debians_chromium_when_it_is_missing(tmp_path, uid, sudo):
    done, calls = run_script(tmp_path, tmp_path / "no-chromium", apt=True, uid=uid, sudo=sudo)
    assert done.returncode == 0, done.stderr
    assert "apt-get install -y -qq chromium" in calls and calls.startswith("python -m pip install")


def test_install_as_a_user_without_sudo_says_what_to_run(tmp_path):
    done, calls = run_script(tmp_path, tmp_path / "no-chromium", apt=True, uid=1000, sudo=False)
    assert done.returncode == 1 and "apt-get" not in calls
    assert done.stderr.strip().splitlines() == [
        "tests/install.sh: the tests need chromium: run  sudo apt-get install -y chromium  and again"]


def test_install_gets_npm_with_chromium_then_runs_npm_ci(tmp_path):
    done, calls = run_script(tmp_path, tmp_path / "no-chromium", apt=True, npm=False)
    assert done.returncode == 0, done.stderr
    lines = calls.splitlines()
    assert "apt-get install -y -qq chromium npm" in lines
    assert lines[-1] == "npm ci --no-audit --no-fund --loglevel=error"
    assert lines.index("apt-get install -y -qq chromium npm") < len(lines) - 1


def test_install_without_apt_says_what_to_do_in_one_line(tmp_path):
    done, _ = run_script(tmp_path, tmp_path / "no-chromium", apt=False)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "FACEGAN_CHROMIUM" in done.stderr
    assert "chromium" in done.stderr
