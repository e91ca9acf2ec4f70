# Jupyter server settings for `make lab` (read because the Makefile sets
# JUPYTER_CONFIG_PATH=.jupyter). The lab's own settings are in labconfig/.
import re
from pathlib import Path

import jupytext
import nbformat
import yaml
from jupytext.async_contentsmanager import AsyncTextFileContentsManager

c = get_config()  # noqa: F821 (defined by the config loader)

# Nothing reaches out to the internet: no news feed, no PyPI check for a newer JupyterLab.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

# Jupyter Book's cell tags as JupyterLab's own collapsed cells: what the book removes or
# hides starts collapsed (the bar left of a cell opens it). The flags live only in the
# open notebook: jupytext.toml keeps the "jupyter" cell metadata out of the saved .md.
SOURCE_HIDDEN = {"remove-cell", "remove-input", "hide-cell", "hide-input"}
OUTPUTS_HIDDEN = {"remove-cell", "remove-output", "hide-cell", "hide-output"}

# The book's LaTeX macros (\diag, ...) are defined in _config.yml for Sphinx's MathJax.
# jupyterlab-myst reads macros only from front matter in a notebook's first markdown
# cell, so a chapter that uses them opens with one more, collapsed, cell holding them,
# and saving leaves that cell out of the .md.
BOOK_CONFIG = Path(__file__).resolve().parent.parent / "_config.yml"


def book_macros() -> dict:
    sphinx = yaml.safe_load(BOOK_CONFIG.read_text()).get("sphinx", {}).get("config", {})
    return sphinx.get("mathjax3_config", {}).get("tex", {}).get("macros", {})


MACROS = book_macros()
USES_MACRO = re.compile(r"\\(" + "|".join(map(re.escape, MACROS)) + r")(?![A-Za-z])")
MACROS_CELL = "macros"  # the value of the cell's "bptt_lab" metadata


def macros_cell():
    math = {
        "\\" + name: body if isinstance(body, str) else body[0] for name, body in MACROS.items()
    }
    front = yaml.safe_dump({"math": math}, sort_keys=False, allow_unicode=True)
    return nbformat.v4.new_markdown_cell(
        "---\n# The book's LaTeX macros (_config.yml): added when the lab opens this chapter,"
        " never saved into it\n" + front + "---",
        metadata={"bptt_lab": MACROS_CELL, "jupyter": {"source_hidden": True}},
    )


def prepare_for_lab(nb) -> None:
    for cell in nb["cells"]:
        tags = set(cell["metadata"].get("tags", ()))
        flags = {}
        if tags & SOURCE_HIDDEN:
            flags["source_hidden"] = True
        if cell["cell_type"] == "code" and tags & OUTPUTS_HIDDEN:
            flags["outputs_hidden"] = True
        if flags:
            cell["metadata"].setdefault("jupyter", {}).update(flags)
    uses = (c["cell_type"] == "markdown" and USES_MACRO.search(c["source"]) for c in nb["cells"])
    if MACROS and any(uses):
        nb["cells"].insert(0, macros_cell())


def without_lab_cells(nb) -> dict:
    cells = [c for c in nb["cells"] if c.get("metadata", {}).get("bptt_lab") != MACROS_CELL]
    return dict(nb, cells=cells)


class BookContentsManager(AsyncTextFileContentsManager):
    """Jupytext's contents manager, opening chapters as the book shows them (the cells it
    hides collapsed, its math macros defined) and saving a chapter only when its text
    changes: the lab saves on its own (autosave, after a kernel starts), and a chapter
    written in a layout jupytext would not write itself must not be reformatted then."""

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if model["type"] == "notebook" and model.get("content"):
            prepare_for_lab(model["content"])
        return model

    async def save(self, model, path=""):
        if model.get("type") == "notebook" and model.get("content"):
            model = dict(model, content=without_lab_cells(model["content"]))
            if await self.same_as_on_disk(model["content"], path):
                self.log.info("%s: unchanged, not rewritten", path)
                return await self.get(path, content=False)
        return await super().save(model, path)

    async def same_as_on_disk(self, nb, path) -> bool:
        """Whether jupytext would write ``nb`` exactly as it writes the file on disk."""
        path = path.strip("/")
        ext = Path(path).suffix
        if ext == ".ipynb" or not await self.file_exists(path):
            return False
        config = await self.get_config(path)
        if nb["metadata"].get("jupytext", {}).get("formats") or config.default_formats(path):
            return False  # paired: the other file may need the save
        text = (await self.super.get(path, content=True, type="file", format="text"))["content"]
        try:
            on_disk = jupytext.writes(jupytext.reads(text, fmt=ext), fmt=ext, config=config)
            return jupytext.writes(nbformat.from_dict(nb), fmt=ext, config=config) == on_disk
        except Exception:  # let jupytext's own save report what is wrong
            return False


c.ServerApp.contents_manager_class = BookContentsManager
