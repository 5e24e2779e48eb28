"""facegan in the browser: make, blend and edit faces: the page that ``streamlit run app.py`` (a checkout) and
``facegan app`` (an installed facegan) run; both scripts only call :func:`main`.

Layout only: what the page shows comes from facegan.app.logic (tested without Streamlit). A loaded
model is shared by every session of the process (st.cache_resource), and only the open tab is drawn
on each rerun. Every failure is one st.error line saying what to do, never a traceback.
"""
from __future__ import annotations

import hashlib
import logging
import random
from contextlib import contextmanager

import streamlit as st

from facegan.app import logic as webapp
from facegan.errors import FaceganError

log = logging.getLogger("facegan.app")
TABS = ["Generate", "Blend", "Edit", "Your photo"]

@st.cache_resource(max_entries=4, show_spinner=False)
def cached_model(key: tuple[str, int, int]) -> webapp.LoadedModel:
    return webapp.load_model(key[0])  # the key's mtime and size make a re-exported run load again


@st.cache_resource(show_spinner=False)
def cached_classifier():
    return webapp.load_photo_classifier()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_gif(key: tuple[str, int, int], seed_a: int, seed_b: int, truncation: float) -> bytes:
    return webapp.blend_gif(cached_model(key), seed_a, seed_b, truncation)  # moving the blend slider reuses it


@contextmanager
def one_line(what: str, hint: str = ""):
    """A FaceganError inside shows its own line (+ ``hint``); anything else a line naming ``what`` (the
    traceback goes to the server's log only). Streamlit's rerun/stop signals are BaseExceptions: they pass."""
    try:
        yield
    except FaceganError as e:
        st.error(first_line(e) + (f" {hint}" if hint else ""))
    except Exception as e:  # noqa: BLE001 - the page must never show a traceback
        log.exception("%s failed", what)
        st.error(f"{what} failed ({type(e).__name__}: {first_line(e)}). {hint or 'Try another model or input.'}")


def first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:400] if lines else type(error).__name__


def pick_model() -> webapp.LoadedModel | None:
    """The sidebar: model picker, truncation (style generators), the model's card."""
    st.sidebar.title("facegan")
    st.sidebar.caption("Faces from a GAN trained on CPU. Make them, blend them, edit them, or find yours.")
    choices = webapp.list_models()
    if not choices:
        st.sidebar.error(f"No generator found: restore models/{webapp.DEFAULT_MODEL} (git checkout models/) or "
                         "train one with `facegan train` (it appears as runs/NNN-name).")
        return None
    labels = [choice.label for choice in choices]
    choice = choices[labels.index(st.sidebar.selectbox("Model", labels, key="model"))]
    model = None
    with st.sidebar, one_line(f"Loading {choice.path}", "Pick another model, or export this one again."), \
            st.spinner("Loading the model ..."):
        model = cached_model(webapp.model_key(choice.path))
    if model is None:
        return None
    if model.is_style:
        st.sidebar.slider("Truncation ψ", 0.0, 1.0, 0.7, 0.05, key="truncation",
                          help="Pulls faces towards the average face: lower is cleaner and less varied.")
    if model.turns:
        st.sidebar.slider("Rotate (degrees)", -180, 180, 0, 5, key="rotate",
                          help="StyleGAN3: turns the faces; the texture turns with them (alias-free).")
        st.sidebar.slider("Move right", -0.5, 0.5, 0.0, 0.05, key="move_x", help="In half-widths of the image.")
        st.sidebar.slider("Move down", -0.5, 0.5, 0.0, 0.05, key="move_y", help="In half-widths of the image.")
    with st.sidebar.expander("Model card", expanded=False):
        st.markdown("\n".join(f"- **{name}**: {value}" for name, value in model.facts))
        st.markdown(model.card)
    if model.no_edits:
        st.sidebar.info(model.no_edits)
    return model


def truncation(model: webapp.LoadedModel) -> float:
    return float(st.session_state.get("truncation", 0.7)) if model.is_style else 1.0


def pose(model: webapp.LoadedModel) -> dict:
    """The Generate tab's rotate / translate (StyleGAN3 models only)."""
    if not model.turns:
        return {}
    state = st.session_state
    return {"rotate": float(state.get("rotate", 0)),
            "translate": (float(state.get("move_x", 0.0)), float(state.get("move_y", 0.0)))}


def new_faces() -> None:
    st.session_state.seed = random.randrange(webapp.MAX_SEED)


def generate_tab(model: webapp.LoadedModel) -> None:
    seed_col, count_col, button_col = st.columns([2, 3, 1], vertical_alignment="bottom")
    seed = seed_col.number_input("First seed", 0, webapp.MAX_SEED, key="seed",
                                 help="Face s is the face `facegan sample --seed s --n 1` draws.")
    n = count_col.slider("Faces", 1, webapp.MAX_FACES, key="count")
    button_col.button("New faces", on_click=new_faces, type="primary", width="stretch")
    with st.spinner("Drawing faces ..."):
        grid = webapp.make_grid(model, int(seed), n, truncation(model), **pose(model))
    for row in range(0, n, webapp.GRID_COLUMNS):
        columns = st.columns(webapp.GRID_COLUMNS)
        for i in range(row, min(row + webapp.GRID_COLUMNS, n)):
            with columns[i - row]:
                st.image(grid.tiles[i], caption=f"seed {grid.seeds[i]}", width="stretch")
                st.download_button("PNG", grid.pngs[i], f"face-{grid.seeds[i]}.png", "image/png",
                                   key=f"face-png-{i}", on_click="ignore", icon=":material/download:",
                                   type="tertiary")
    st.download_button(f"Download all {n} ({model.resolution} px each)", webapp.grid_png(grid.faces),
                       f"faces-{grid.seeds[0]}-{grid.seeds[-1]}.png", "image/png", key="grid-png",
                       on_click="ignore", icon=":material/download:")


def blend_tab(model: webapp.LoadedModel) -> None:
    a_col, b_col, t_col = st.columns([1, 1, 3], vertical_alignment="bottom")
    seed_a = int(a_col.number_input("Face A (seed)", 0, webapp.MAX_SEED, key="blend_a"))
    seed_b = int(b_col.number_input("Face B (seed)", 0, webapp.MAX_SEED, key="blend_b"))
    t = t_col.slider("From A to B", 0.0, 1.0, key="blend_t")
    psi = truncation(model)
    with st.spinner("Blending ..."):
        ends = webapp.make_grid(model, seed_a, 1, psi).faces[0], webapp.make_grid(model, seed_b, 1, psi).faces[0]
        middle = webapp.blend_face(model, seed_a, seed_b, t, psi)[0]
        gif = cached_gif(webapp.model_key(model.path), seed_a, seed_b, psi)
    side = webapp.SHOW_SIDE
    columns = st.columns(4)
    for column, image, caption in zip(columns, [ends[0], middle, ends[1]],
                                      [f"A: seed {seed_a}", f"{t:.0%} of the way", f"B: seed {seed_b}"]):
        column.image(webapp.png_bytes(image, side), caption=caption, width="stretch")
    columns[3].image(gif, caption="A → B → A", width="stretch")
    columns[3].download_button("GIF", gif, f"blend-{seed_a}-{seed_b}.gif", "image/gif", key="blend-gif",
                               on_click="ignore", icon=":material/download:")


def reset_edits(prefix: str, names: list[str]) -> None:
    for name in names:
        st.session_state[f"{prefix}{name}"] = 0.0


def edit_sliders(model: webapp.LoadedModel, prefix: str) -> tuple[dict[str, float], bool]:
    """The attribute sliders (-3 to 3 standard deviations), the keep-gender toggle and reset."""
    names = model.edit_names()
    toggle_col, reset_col = st.columns([3, 1], vertical_alignment="center")
    keep = toggle_col.toggle("Keep gender", key=f"{prefix}keep_gender", disabled="gender" not in names,
                             help="Edit the other attributes along directions made orthogonal to gender's.")
    reset_col.button("Reset", key=f"{prefix}reset", on_click=reset_edits, args=(prefix, names), width="stretch")
    columns = st.columns(3)
    edits = {}
    for i, name in enumerate(names):
        edits[name] = columns[i % 3].slider(name.replace("-", " "), -webapp.EDIT_LIMIT, webapp.EDIT_LIMIT, 0.0,
                                            0.1, key=f"{prefix}{name}")
    return edits, keep


def show_edit(model: webapp.LoadedModel, code, edits: dict[str, float], keep: bool, before, column,
              file_name: str) -> None:
    with st.spinner("Editing ..."):
        after = webapp.edited_face(model, code, edits, keep)[0]
    side = webapp.SHOW_SIDE
    left, right = column.columns(2)
    left.image(webapp.png_bytes(before, side), caption="before", width="stretch")
    right.image(webapp.png_bytes(after, side), caption="edited", width="stretch")
    right.download_button("PNG", webapp.png_bytes(after), file_name, "image/png", key=f"{file_name}-png",
                          on_click="ignore", icon=":material/download:")


def edit_tab(model: webapp.LoadedModel) -> None:
    if model.directions is None:
        st.warning(model.no_edits)
        return
    face_col, slider_col = st.columns([2, 3])
    seed = int(face_col.number_input("Face (seed)", 0, webapp.MAX_SEED, key="edit_seed"))
    with slider_col:
        edits, keep = edit_sliders(model, "edit_")
    code = webapp.seed_codes(model, [seed], truncation(model))
    before = webapp.make_grid(model, seed, 1, truncation(model)).faces[0]
    show_edit(model, code, edits, keep, before, face_col, f"face-{seed}-edited.png")


def photo_tab(model: webapp.LoadedModel) -> None:
    upload = st.file_uploader(f"A face photo ({', '.join(webapp.UPLOAD_TYPES)}, up to {webapp.MAX_UPLOAD_MB} MB): "
                              "roughly square, the face filling most of it", max_upload_size=webapp.MAX_UPLOAD_MB,
                              key="photo")  # no type=: Streamlit's own check would raise a traceback; ours is one line
    if upload is None:
        st.caption("The photo is cropped to a square and matched by optimising a latent code (GAN inversion); "
                   "a small GAN trained for minutes gets the pose, colours and hair, not the person.")
        return
    data = upload.getvalue()
    target = webapp.photo_target(model, upload.name, data)
    key = (webapp.model_key(model.path), hashlib.sha256(data).hexdigest())
    if st.session_state.get("projection_key") != key:  # a new photo or model: project once, keep it
        classifier, note = cached_classifier()
        if note:
            st.info(note)
        with st.spinner(f"Finding this face in the model ({webapp.PROJECT_STEPS} optimisation steps) ..."):
            st.session_state.projection = webapp.project_photo(model, target, classifier, webapp.PROJECT_STEPS)
        st.session_state.projection_key = key
    projection = st.session_state.projection
    face_col, slider_col = st.columns([2, 3])
    face_col.image(webapp.png_bytes(target[0], webapp.SHOW_SIDE), caption="your photo (cropped)", width=160)
    face_col.caption(f"Reconstruction: PSNR {projection.psnr:.1f} dB, SSIM {projection.ssim:.2f}, found in "
                     f"{projection.seconds:.1f} s.")
    if model.directions is None:
        face_col.image(webapp.png_bytes(projection.reconstruction[0], webapp.SHOW_SIDE), caption="reconstruction")
        st.warning(model.no_edits)
        return
    with slider_col:
        edits, keep = edit_sliders(model, "photo_")
    show_edit(model, projection.code, edits, keep, projection.reconstruction[0], face_col, "photo-edited.png")


def main() -> None:
    st.set_page_config(page_title="facegan: make, blend and edit faces", page_icon="🙂", layout="wide")
    webapp.set_threads()
    # Defaults here, so widgets and callbacks agree on them. The blend and edit faces are seeds that the
    # shipped model draws cleanly (any seed works; these are what a first visit shows).
    for key, value in {"seed": 0, "count": webapp.MAX_FACES, "blend_a": 12, "blend_b": 35, "blend_t": 0.5,
                       "edit_seed": 41}.items():
        st.session_state.setdefault(key, value)
    model = pick_model()
    if model is None:
        return
    tabs = st.tabs(TABS, key="tab", on_change="rerun")  # tracked: only the open tab is drawn
    for tab, name, draw in zip(tabs, TABS, [generate_tab, blend_tab, edit_tab, photo_tab]):
        if tab.open:
            with tab, one_line(name):
                draw(model)
