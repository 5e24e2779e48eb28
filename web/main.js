// facegan's faces in the browser: z from a seeded generator -> mapping.onnx -> w; truncation, the A-B blend
// and the edit directions (page.json: one standard deviation per slider unit) are applied to w here; then
// synthesis.onnx -> pixels on the canvas. A frame is drawn on every slider 'input' event (while dragging),
// at most one inference at a time: the newest slider state wins. window.faceganStats counts the frames.
"use strict";

const stats = { frames: 0, lastMs: 0, ready: false, error: null };
window.faceganStats = stats;

function mulberry32(seed) {  // a small seeded PRNG; the page's seeds are its own (not facegan sample's)
  return function () {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(seed, n) {  // n standard normal numbers (Box-Muller) for a seed
  const rand = mulberry32(seed * 9973 + 1), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())), a = 2 * Math.PI * rand();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

async function main() {
  ort.env.wasm.numThreads = 1;  // no SharedArrayBuffer needed: any static host serves the page
  ort.env.wasm.wasmPaths = "./";
  const page = await (await fetch("page.json")).json();
  const options = { executionProviders: ["wasm"] };
  const synthesis = await ort.InferenceSession.create("synthesis.onnx", options);
  const mapping = page.space === "w" ? await ort.InferenceSession.create("mapping.onnx", options) : null;
  const codeCache = new Map();

  async function code(seed) {  // the seed's code: w for a style generator, z otherwise
    if (!codeCache.has(seed)) {
      const z = gaussian(seed, page.latent_dim);
      let c = z;
      if (mapping) {
        const out = await mapping.run({ x: new ort.Tensor("float32", z, [1, page.latent_dim]) });
        c = out.y.data;
      }
      codeCache.set(seed, Float32Array.from(c));
    }
    return codeCache.get(seed);
  }

  const edits = document.getElementById("edits");
  for (const name of Object.keys(page.edits)) {
    edits.insertAdjacentHTML("beforeend", `<label>${name} <input class="edit" data-name="${name}" type="range" ` +
      `min="-3" max="3" step="0.1" value="0"><output>0</output></label>`);
  }
  const canvas = document.getElementById("face"), context = canvas.getContext("2d");
  canvas.width = canvas.height = page.resolution;
  const status = document.getElementById("status");
  let busy = false, pending = false;

  async function draw() {
    if (busy) { pending = true; return; }
    busy = true;
    try {
      do {
        pending = false;
        const started = performance.now();
        const a = await code(+document.getElementById("seed-a").value);
        const b = await code(+document.getElementById("seed-b").value);
        const t = +document.getElementById("blend").value, psi = +document.getElementById("psi").value;
        const c = new Float32Array(page.code_dim);
        for (let i = 0; i < c.length; i++) {
          let v = a[i] + t * (b[i] - a[i]);
          if (page.w_avg) v = page.w_avg[i] + psi * (v - page.w_avg[i]);
          c[i] = v;
        }
        for (const input of document.querySelectorAll("input.edit")) {
          const s = +input.value, d = page.edits[input.dataset.name];
          if (s) for (let i = 0; i < c.length; i++) c[i] += s * d[i];
        }
        const out = await synthesis.run({ x: new ort.Tensor("float32", c, [1, page.code_dim]) });
        paint(out.y.data, page.resolution);
        stats.frames += 1;
        stats.lastMs = performance.now() - started;
        status.textContent = `${stats.lastMs.toFixed(0)} ms per face`;
      } while (pending);
    } catch (e) {
      stats.error = String(e);
      status.textContent = `error: ${e}`;
    } finally {
      busy = false;
    }
  }

  function paint(pixels, side) {  // (1, 3, side, side) in about [-1, 1] -> RGBA
    const image = context.createImageData(side, side), plane = side * side;
    for (let p = 0; p < plane; p++) {
      for (let ch = 0; ch < 3; ch++) {
        image.data[4 * p + ch] = Math.max(0, Math.min(255, Math.round((pixels[ch * plane + p] + 1) * 127.5)));
      }
      image.data[4 * p + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }

  for (const input of document.querySelectorAll("input[type=range]")) {
    input.addEventListener("input", () => {
      input.nextElementSibling.textContent = input.value;
      draw();
    });
  }
  await draw();
  stats.ready = true;
}

main().catch((e) => {
  stats.error = String(e);
  document.getElementById("status").textContent = `error: ${e}`;
});
