"""The script ``facegan app`` hands to ``streamlit run``: the same page as the checkout's app.py, from the
installed package (a wheel carries no app.py of its own)."""
from facegan.app.page import main

main()
