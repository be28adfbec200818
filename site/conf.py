# Sphinx configuration of the course website (`make site`, tools/site_build.py). The source folder is made by
# tools/site_build.py from the student notebooks (notebooks/) and is never executed: the saved outputs are the site.
# Everything the pages load ships with the site: the theme (furo) bundles its CSS and JavaScript, MathJax is
# copied from the sphinx-mathjax-offline wheel (tools/site_build.py), nothing comes from a CDN.
project = "Deep learning, hands on"
author = "the course's authors"
copyright = "the course's authors, MIT licence"
html_title = "Deep learning, hands on"

extensions = ["myst_nb"]
# never run a notebook: their saved outputs (figures, the apps' static pictures) are what the site shows
nb_execution_mode = "off"
nb_execution_show_tb = False
# no ipywidgets JavaScript (it would come from a CDN); the saved notebooks hold static pictures, not widget state
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# the notebooks' headings skip levels here and there (a lesson's "###" under its "#" title)
suppress_warnings = ["myst.header"]

exclude_patterns = ["_build"]
html_theme = "furo"
html_static_path = ["static"]
html_css_files = ["site.css"]
# the pages are the notebooks: no copy of their sources on the site (search summaries come from the pages)
html_copy_source = False
# no general index page (the pages define no index entries)
html_use_index = False
html_show_sourcelink = False
# MathJax from the site itself (tools/site_build.py copies it into _static/mathjax)
mathjax_path = "mathjax/tex-chtml-full.js"
