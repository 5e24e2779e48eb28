"""facegan in the browser: make, blend and edit faces. Run it with ``streamlit run app.py`` (or, with facegan
installed, ``facegan app``). The page itself is facegan/app/page.py; its logic facegan/app/logic.py."""
from facegan.app.page import main

main()
