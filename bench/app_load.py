"""Load test: 10 concurrent browser sessions for a minute against `streamlit run app.py` on 127.0.0.1.

    python bench/app_load.py [--sessions 10] [--seconds 60] [--out bench/results/app_load.json]

One Streamlit process (started here in its own process group, stopped at the end), one Debian
Chromium with one Playwright browser context per session (separate cookies and websockets: separate
Streamlit sessions). Each session loops over what a visitor does: "New faces" (a new 16-face grid),
the Edit tab and a move of the age slider, the Blend tab and a move of its slider, back to Generate.
Latency is from the input to the new picture decoded in the page (its media URL changed and the image
loaded). An error is an action that did not finish within 30 s, an error or exception element on a
page, a page error, or a lost connection. The streamlit process's resident memory (with its children)
is sampled every second. Bounded work: every loop stops at the deadline; the server is only on 127.0.0.1.
The browsers run on the same CPU as the server: their rendering is part of the latency.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import lib  # first: this checkout's facegan
from playwright.async_api import async_playwright

from facegan.app.serve import CHROMIUM, CHROMIUM_ARGS, cpu_seconds, free_port, rss_mb, serve, streamlit_command

REPO = lib.ROOT

IMAGES = "[data-testid=stMain] [data-testid=stImage] img"
ACTION_TIMEOUT_MS = 30_000
PROBLEMS = "[data-testid=stException], [data-testid=stAlertContentError], [data-testid=stConnectionStatus]"


async def picture_changed(page, index: int, before: str | None) -> None:
    """Wait until image ``index`` of the main area has a new URL and is decoded."""
    await page.wait_for_function(
        """([sel, i, before]) => { const img = document.querySelectorAll(sel)[i];
            return img && img.getAttribute('src') !== before && img.complete && img.naturalWidth > 0; }""",
        arg=[IMAGES, index, before], timeout=ACTION_TIMEOUT_MS)


async def src(page, index: int) -> str | None:
    return await page.locator(IMAGES).nth(index).get_attribute("src")


async def session(browser, url: str, number: int, deadline: float, record) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda e: record("pageerror", None, str(e)[:200]))
    watch = lib.Stopwatch()
    try:
        await page.goto(url)
        await page.wait_for_function(f"document.querySelectorAll('{IMAGES}').length === 16 && "
                                     f"[...document.querySelectorAll('{IMAGES}')].every(i => i.complete)",
                                     timeout=120_000)
        record("first load", watch.seconds())
    except Exception as e:  # noqa: BLE001 - counted, reported
        record("first load", None, f"{type(e).__name__}: {str(e)[:200]}")
        await context.close()
        return
    edge = ["End", "Home"]
    loop = 0
    while time.perf_counter() < deadline:
        loop += 1
        steps = [("new faces", "Generate", None, 0), ("edit slider", "Edit", "age", 1),
                 ("blend slider", "Blend", "From A to B", 1)]
        for name, tab, slider, index in steps:
            if time.perf_counter() >= deadline:
                break
            try:
                await page.get_by_role("tab", name=tab).click(timeout=ACTION_TIMEOUT_MS)
                await page.wait_for_function(f"document.querySelectorAll('{IMAGES}').length > {index}",
                                             timeout=ACTION_TIMEOUT_MS)
                watch = lib.Stopwatch()  # the tab is drawn: time the interaction itself
                before = await src(page, index)
                if slider is None:
                    await page.get_by_role("button", name="New faces").click(timeout=ACTION_TIMEOUT_MS)
                else:
                    await page.locator("[data-testid=stSlider]").filter(has_text=slider).get_by_role(
                        "slider").focus(timeout=ACTION_TIMEOUT_MS)
                    await page.keyboard.press(edge[(loop + number) % 2])  # to one end, next loop the other
                await picture_changed(page, index, before)
                problems = await page.locator(PROBLEMS).count()
                record(name, watch.seconds(), f"{problems} error elements" if problems else None)
            except Exception as e:  # noqa: BLE001 - counted, reported
                record(name, None, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}")
    await context.close()


async def sample_memory(pid: int, deadline: float, samples: list) -> None:
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        samples.append((round(time.perf_counter() - start, 1), round(rss_mb(pid), 1)))
        await asyncio.sleep(1)


async def drive(url: str, pid: int, sessions: int, seconds: float) -> dict:
    results, errors, memory = {}, [], []

    def record(name, seconds_taken, error=None):
        if error:
            errors.append(f"{name}: {error}")
        elif seconds_taken is not None:
            results.setdefault(name, []).append(seconds_taken * 1000)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        memory.append((0.0, round(rss_mb(pid), 1)))
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(sample_memory(pid, deadline + 5, memory),
                             *(session(browser, url, i, deadline, record) for i in range(sessions)))
        await browser.close()
    return {"latency_ms": results, "errors": errors, "rss_mb": memory, "wall_s": time.perf_counter() - start}


def _machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far (all cores; /proc/stat less idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def summary(name: str, values: list[float]) -> dict:
    q = lib.percentiles(values, digits=None)
    return {"action": name, "count": len(values), "p50_ms": q["p50"], "p95_ms": q["p95"], "max_ms": q["max"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", help="write the full results (every latency, the memory series) as JSON, with "
                                      "lib.record's provenance")
    args = parser.parse_args()

    port = free_port()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    with serve(streamlit_command(REPO / "app.py", port), port, cwd=REPO, log=log) as server:
        idle = rss_mb(server.process.pid)
        cpu_before, machine_before = cpu_seconds(server.process.pid), _machine_cpu_seconds()
        raw = asyncio.run(drive(server.url, server.process.pid, args.sessions, args.seconds))
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
        machine_cpu = _machine_cpu_seconds() - machine_before
    interactions = [v for name, values in raw["latency_ms"].items() if name != "first load" for v in values]
    rows = [summary(name, values) for name, values in sorted(raw["latency_ms"].items())]
    rows.append(summary("all interactions", interactions))
    rss = [mb for _, mb in raw["rss_mb"]]
    tracebacks = log.read_text().count("Traceback")
    report = {"sessions": args.sessions, "seconds": args.seconds, "errors": len(raw["errors"]) + tracebacks,
              "error_examples": raw["errors"][:10], "server_tracebacks": tracebacks, "latency": rows,
              "interactions_per_s": round(len(interactions) / args.seconds, 2), "rss_idle_mb": round(idle),
              "rss_mb_start_peak_end": [round(rss[0]), round(max(rss)), round(rss[-1])],
              "rss_mb_every_10s": [mb for t, mb in raw["rss_mb"] if t % 10 < 1],
              "server_cpu_s": round(server_cpu, 1), "machine_busy_cpu_s": round(machine_cpu, 1),
              "server_cpu_ms_per_interaction": round(1000 * server_cpu / max(1, len(interactions))),
              "wall_s": round(raw["wall_s"], 1)}
    print(f"{args.sessions} sessions, {args.seconds:.0f} s: {len(interactions)} interactions "
          f"({report['interactions_per_s']}/s), errors {report['errors']}")
    for row in rows:
        print(f"  {row['action']:18s} n={row['count']:4d}  p50 {row['p50_ms']:6d} ms  p95 {row['p95_ms']:6d} ms  "
              f"max {row['max_ms']:6d} ms")
    print(f"  streamlit RSS: idle {report['rss_idle_mb']} MB; during the run start/peak/end "
          f"{report['rss_mb_start_peak_end']} MB; every 10 s {report['rss_mb_every_10s']}")
    print(f"  CPU: the streamlit process used {report['server_cpu_s']} s of the {report['machine_busy_cpu_s']} s the "
          f"machine's cores were busy in {report['wall_s']} s ({report['server_cpu_ms_per_interaction']} ms per "
          "interaction); the rest: the browsers and everything else running")
    for example in report["error_examples"]:
        print(f"  error: {example}")
    if args.out:
        lib.record(args.out, {**report, "raw": raw}, jsonl=False)


if __name__ == "__main__":
    main()
