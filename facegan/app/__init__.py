"""The app's logic and deployment, without Streamlit itself (``app.py`` at the repository root draws it).

- ``logic``: models to pick, grids, blends, edits, photo projection: everything the page shows, unit-tested;
- ``space``: assembles the Hugging Face (Docker) Space folder; ``serve``: starts and stops the app's server
  on 127.0.0.1 (tests and benches).

May import: everything below it except ``cli``.
"""
