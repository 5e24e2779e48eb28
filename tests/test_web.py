"""The static page (web/): the shipped StyleGAN2 as ONNX, run by onnxruntime-web in a real Chromium, with no
server code. web/build.sh builds it (onnxruntime-web from web/package-lock.json, installed by tests/install.sh;
the graphs by facegan export --web); the page draws a face, and dragging a slider redraws it while dragging."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.webpage import REPO, drag_and_count, static_server


@pytest.fixture(scope="module")
def dist():
    assert (REPO / "web" / "node_modules" / "onnxruntime-web").is_dir(), \
        "onnxruntime-web is missing: bash tests/install.sh (runs npm ci in web/)"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    done = subprocess.run(["bash", str(REPO / "web" / "build.sh")], capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr
    return REPO / "web" / "dist"


def test_the_build_writes_the_page_its_runtime_and_the_models_graphs(dist):
    for name in ("index.html", "main.js", "ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "synthesis.onnx",
                 "mapping.onnx", "page.json"):
        assert (dist / name).is_file(), name
    page = json.loads((dist / "page.json").read_text())
    assert page["space"] == "w" and page["resolution"] == 64 and len(page["w_avg"]) == page["code_dim"]
    assert {"age", "smile", "gender", "glasses"} <= set(page["edits"]) and page["onnx_difference"] <= 1e-4


def test_the_page_draws_faces_and_redraws_while_a_slider_is_dragged(dist):
    with static_server(dist) as url:
        result = drag_and_count(url, seconds=3.0)
    assert result["error"] is None, result["error"]
    assert result["frames"] >= 3, result  # several faces drawn during one drag, not one on release
    assert result["after"] != result["before"]  # the blend moved the face
    print(f"\n{result['fps']:.1f} frames per second while dragging ({result['lastMs']:.0f} ms per face)")
