"""The book's reading order, read from ``_toc.yml`` once for the build tools and the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def chapters(root: Path = ROOT) -> list[str]:
    """Docnames in reading order, the root first: ``["book/index", "book/01-preface", ...]``."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                names.append(e["file"])
            walk(e.get("sections"))

    for part in toc.get("parts", [toc]):
        walk(part.get("chapters"))
    return [str(Path(n).with_suffix("")) for n in names]
