"""The book's build tools, importable as ``tools.*`` from the repository root.

* ``offline_book``: the Sphinx extension (``_config.yml``: ``local_extensions``);
* ``slides``: ``make slides`` (``python -m tools.slides``);
* ``toc``: the reading order from ``_toc.yml``, for the tools and the tests;
* ``sphinx_private``: the private parts of Sphinx and myst-nb the extension needs.
"""
