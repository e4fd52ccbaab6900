"""The key map is one truth: the review page's table and the README's list the same keys and actions."""

from __future__ import annotations

import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _text(cell: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).replace("+", " + ").split()).replace(" + ", "+")


def page_rows() -> list[list[str]]:
    template = (ROOT / "src/heaters/web/templates/review.html").read_text()
    table = template[template.index('id="keymap"') :]
    table = table[table.index("<table>") : table.index("</table>")]
    return [[_text(c) for c in re.findall(r"<td>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", table)]


def readme_rows() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("| key | action | key | action |") :].splitlines()[2:]
    rows = []
    for line in section:
        if not line.startswith("|"):
            break
        rows.append([_text(c.strip().replace("`", "")) for c in line.strip("|").split("|")])
    return rows


def test_the_page_and_the_readme_show_the_same_key_map():
    assert page_rows() == readme_rows()
    assert len(page_rows()) >= 10
