"""The flight report's summary as one HTML page, in Chinese and English.

The page is self-contained apart from the files beside it (the video, the stills, the PDF), which
it names by relative path, so the folder can be opened from disk, mailed as a zip or served as it
is. It holds no script: the video plays with the browser's own controls, each case's "in the
video" link is a media fragment (``flight.mp4#t=start,end``). Every text from a record is escaped.
"""

from __future__ import annotations

from html import escape

from detector.reports.summary import TITLE, Summary

STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px auto;
max-width:1040px;color:#1b1f24;line-height:1.45;padding:0 16px}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
.note{margin:.2rem 0;padding:.35rem .6rem;border-left:4px solid #b35c00;background:#fff6ea}
.note.publication{border-color:#2a7a2a;background:#eef8ee}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.6rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
video{width:100%;max-height:70vh;background:#000}
table{border-collapse:collapse;min-width:50%}th,td{border:1px solid #ccd;padding:.25rem .6rem;text-align:left}
td.n{text-align:right}tfoot td{font-weight:600}
ol.cases{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}
li.case{border:1px solid #ccd;border-radius:6px;overflow:hidden;background:#fafbfc}
li.case img{width:100%;display:block;background:#000}li.case .text{padding:.4rem .6rem;font-size:.92rem}
.num{font-weight:700}.muted{color:#5a6270}.en{color:#39424e}
@media print{video{display:none}li.case{break-inside:avoid}}
"""


def _bi(zh: str, en: str, tag: str = "span") -> str:
    """Chinese, then English in its own element (once when both say the same)."""
    if not en or zh == en:
        return escape(zh or en)
    return f'{escape(zh)} <{tag} class="en" lang="en">{escape(en)}</{tag}>'


def _case_item(summary: Summary, case) -> str:
    f = summary.case_lines(case)
    still = summary.stills.get(case.number)
    seg = summary.segments.get(case.number)
    img = (
        f'<img src="{escape(still)}" alt="案件 {case.number} Case {case.number}" loading="lazy">'
        if still
        else ""
    )
    code = (
        f' · 代码 <span class="en" lang="en">Code</span> {escape(f["code"])}'
        if f["code"]
        else ""
    )
    link = ""
    if seg is not None:
        link = (
            f'<div><a class="in-video" href="{escape(summary.video_name)}#t={seg.start_s:.2f},{seg.end_s:.2f}">'
            f'在视频中 <span class="en" lang="en">in the video</span> {escape(f["video"])}</a></div>'
        )
    ident = (
        ""
        if summary.info.publication
        else f'<div class="muted case-id">{escape(case.case_id)}</div>'
    )
    return (
        f'<li class="case" data-case="{escape(case.case_id)}" data-number="{case.number}">{img}'
        f'<div class="text"><div><span class="num">{case.number}.</span> '
        f'<span class="offence">{_bi(f["offence_zh"], f["offence_en"])}</span>{code}</div>'
        f'<div class="time">{_bi(f["time_zh"], f["time_en"])}</div>'
        f'<div class="place">{_bi(f["place_zh"], f["place_en"])}</div>{link}{ident}</div></li>'
    )


def render_html(summary: Summary) -> str:
    """The summary page (a whole HTML document)."""
    rows = "".join(
        f"<dt>{_bi(lz, le)}</dt><dd>{_bi(vz, ve)}</dd>"
        for lz, le, vz, ve in summary.header()
    )
    notes = "".join(
        f'<p class="note{" publication" if summary.info.publication and i == 0 else ""}">{_bi(zh, en)}</p>'
        for i, (zh, en) in enumerate(summary.notes)
    )
    counts = "".join(
        f'<tr><td>{_bi(o.name_zh, o.name_en)}</td><td>{escape(o.code) or "—"}</td><td class="n">{n}</td></tr>'
        for o, n in summary.counts
    )
    cases = "".join(_case_item(summary, c) for c in summary.cases)
    place_zh, place_en = summary.places()
    title = f"{TITLE[0]} {TITLE[1]}" + (
        f" · {place_zh or place_en}" if place_zh or place_en else ""
    )
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{_bi(*TITLE)}</h1>
{notes}
<dl class="facts">{rows}</dl>
</header>
<section>
<h2>{_bi("视频", "Video")}</h2>
<video id="flight-video" controls preload="metadata" playsinline src="{escape(summary.video_name)}"></video>
<p><a href="{escape(summary.video_name)}" download>{_bi("下载视频", "Download the video")}</a> ·
<a id="pdf-link" href="{escape(summary.pdf_name)}">{_bi("一页摘要（PDF）", "One-page summary (PDF)")}</a></p>
</section>
<section>
<h2>{_bi("按违法行为统计", "Cases by offence")}</h2>
<table id="counts"><thead><tr><th>{_bi("违法行为", "Offence")}</th><th>{_bi("代码", "Code")}</th>
<th>{_bi("案件数", "Cases")}</th></tr></thead><tbody>{counts}</tbody>
<tfoot><tr><td colspan="2">{_bi("合计", "Total")}</td><td class="n">{len(summary.cases)}</td></tr></tfoot></table>
</section>
<section>
<h2>{_bi("案件", "Cases")}</h2>
<ol class="cases" id="cases">{cases}</ol>
</section>
</body>
</html>
"""
