"""The report as a list of blocks (:class:`Doc`), rendered twice, as HTML and as Markdown, so the
two cannot drift apart; text from result files is escaped and links are checked on the way."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# ---------------------------------------------------------------------------------------------
# A tiny document model rendered to Markdown and to HTML


_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
SAFE_SCHEMES = ("http", "https")


def safe_url(url: str) -> str | None:
    """``url`` as it may appear in an href, or None if it is not an http(s) or relative link.

    Browsers decode character references in attributes and drop tabs, newlines and leading
    spaces in a scheme (``java&#x09;script:``, `` JaVaScRiPt:``), so the scheme is judged on
    the decoded text with every invisible character removed, and that decoded text is what is
    linked: ``javascript:``, ``data:``, ``vbscript:``, ``file:`` and any other scheme are refused.
    """
    decoded = html.unescape(url)
    for _ in range(3):  # entities that decode to entities (&amp;#106;)
        again = html.unescape(decoded)
        if again == decoded:
            break
        decoded = again
    bare = _INVISIBLE.sub("", decoded)
    if not bare or "\\" in bare:  # a backslash is a slash to browsers: refuse, do not guess
        return None
    m = _SCHEME.match(bare)
    if m and m.group(1).lower() not in SAFE_SCHEMES:
        return None
    if (
        not m and ":" in re.split(r"[/?#]", bare, maxsplit=1)[0]
    ):  # "x:y" is a scheme to some parsers
        return None
    return bare


def inline_html(text: str) -> str:
    """Escape ``text`` and turn `code`, **bold** and [links](url) into HTML; a link that is not
    http(s) or relative (see :func:`safe_url`) is shown as text."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        code, bold, label, url = m.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        elif (href := safe_url(url)) is not None:
            out.append(f'<a href="{html.escape(href, quote=True)}">{html.escape(label)}</a>')
        else:
            out.append(html.escape(m.group(0)))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def safe_md(text: str) -> str:
    """Markdown text with unsafe links shown as text and raw HTML tags escaped (Markdown
    viewers render both)."""

    def link(m: re.Match) -> str:
        if safe_url(m.group(2)) is not None:
            return m.group(0)
        return f"\\[{m.group(1)}\\]\\({m.group(2)})"

    text = _LINK.sub(link, text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _md_cell(v) -> str:
    return safe_md(str(v)).replace("|", "\\|").replace("\n", " ")


@dataclass
class Doc:
    """Blocks appended once, rendered to both formats."""

    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    toc: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)  # HTML above the table of contents

    def title(self, text: str, sub: str) -> None:
        self.md.append(f"# {safe_md(text)}\n\n{safe_md(sub)}\n")
        self.head.append(f'<h1>{inline_html(text)}</h1><p class="sub">{inline_html(sub)}</p>')

    def heading(self, level: int, text: str) -> None:
        anchor = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        if level == 2:
            self.toc.append((anchor, text))
        self.md.append(f"{'#' * level} {safe_md(text)}\n")
        self.html.append(f'<h{level} id="{anchor}">{inline_html(text)}</h{level}>')

    def para(self, text: str, css: str | None = None) -> None:
        self.md.append(f"{'> ' if css else ''}{safe_md(text)}\n")
        cls = f' class="{css}"' if css else ""
        self.html.append(f"<p{cls}>{inline_html(text)}</p>")

    def bullets(self, items: list[str]) -> None:
        if not items:
            return
        self.md.append("\n".join(f"- {safe_md(i)}" for i in items) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>")

    def table(
        self, df: pd.DataFrame, index: bool = True, index_label: str = "", text: bool = False
    ) -> None:
        """A table; ``text`` tables are left-aligned and wrap, number tables align right.
        A newline in a cell is a line break."""
        cols = ([index_label] if index else []) + [str(c) for c in df.columns]
        rows = [
            ([str(i)] if index else []) + [str(v) for v in r]
            for i, r in zip(df.index, df.itertuples(index=False), strict=True)
        ]
        md = ["| " + " | ".join(_md_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        md += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
        self.md.append("\n".join(md) + "\n")
        head = "".join(f"<th>{inline_html(c)}</th>" for c in cols)

        def cell(k: int, c: str) -> str:
            tag = "th" if index and k == 0 else "td"
            return f"<{tag}>{'<br>'.join(inline_html(line) for line in c.split(chr(10)))}</{tag}>"

        body = "".join(
            "<tr>" + "".join(cell(k, c) for k, c in enumerate(r)) + "</tr>" for r in rows
        )
        css = ' class="text"' if text else ""
        self.html.append(
            f'<div class="scroll"><table{css}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )

    def figure(self, path: Path, rel: str, caption: str, reading: list[str]) -> None:
        self.md.append(f"![{safe_md(caption)}]({rel})\n")
        if reading:
            self.md.append("  \n".join(f"*{safe_md(line)}*" for line in reading) + "\n")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        lines = "<br>".join(inline_html(line) for line in reading)
        self.html.append(
            f'<figure><img alt="{html.escape(caption, quote=True)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{lines}</figcaption></figure>'
        )

    def pre(self, text: str, summary: str) -> None:
        runs = [len(r) for r in re.findall(r"`+", text)]
        fence = "`" * max(3, max(runs, default=0) + 1)  # the text cannot close the code block
        self.md.append(
            f"<details><summary>{html.escape(summary)}</summary>\n\n{fence}\n{text}\n{fence}"
            "\n\n</details>\n"
        )
        self.html.append(
            f"<details><summary>{html.escape(summary)}</summary><pre>{html.escape(text)}</pre></details>"
        )

    def render_md(self) -> str:
        return "\n".join(self.md)

    def render_html(self, title: str) -> str:
        toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self.toc)
        body = "\n".join(self.html)
        top = "\n".join(self.head) + f"\n<nav><ol>{toc}</ol></nav>"
        return HTML_PAGE.format(title=html.escape(title), css=CSS, top=top, body=body)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
       sans-serif; color: #1a1a1a; line-height: 1.5; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.8rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; margin-top: 2.4rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
p.sub { color: #555; margin-top: 0; }
p.warning { background: #fff4e0; border-left: 4px solid #E69F00; padding: 0.5rem 0.8rem; }
p.note { background: #eef5fb; border-left: 4px solid #56B4E9; padding: 0.5rem 0.8rem; }
code { background: #f1f1f1; padding: 0 0.25rem; border-radius: 3px; font-size: 0.92em; }
nav ol { columns: 2; font-size: 0.95rem; }
div.scroll { overflow-x: auto; margin: 0.6rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.84rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
thead th { background: #f0f4f8; text-align: center; white-space: normal; }
tbody th { text-align: left; background: #fafafa; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fcfcfc; }
table.text td, table.text tbody th { text-align: left; white-space: normal; vertical-align: top; }
figure { margin: 1.2rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.95rem; color: #333; margin-top: 0.4rem; }
pre { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.6rem 0; }
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body><main>
{top}
{body}
</main></body>
</html>
"""
