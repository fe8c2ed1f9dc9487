"""The zone editor's YAML (service/web/static/js/scene_yaml.js) agrees with the server's PyYAML.

The editor draws what CWYaml.load reads from the YAML box and writes its changes back with
CWYaml.dump; the server stores and validates what PyYAML reads. So, in a real browser: every
scene file in the repository, and PyYAML's own dumps of them and of random scene-like documents
in every layout PyYAML writes (block, flow, wrapped, quoted, block scalars), read the same in the
page as with ``yaml.safe_load`` (timestamps kept as their text, as the page keeps them); what
the page writes reads back in PyYAML as the same data; and what the page refuses it names by
line.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "service" / "web" / "static" / "js" / "scene_yaml.js"


class _TextTimestamps(yaml.SafeLoader):
    """PyYAML's safe loader, except that a timestamp stays the text it was written as."""


_TextTimestamps.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def _norm(v):
    """JSON-comparable: numbers as floats (JavaScript has one number type), NaN/inf by name."""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return {
            "number": "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        }
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict):
        return {str(k): _norm(x) for k, x in v.items()}
    return [_norm(x) for x in v]


# texts PyYAML reads as something other than the same string, quoting and folding cases
WORDS = [
    "lane",
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "~",
    "1",
    "010",
    "0x1f",
    "0b11",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "1e5",
    "1.0e+5",
    "-3",
    "+4",
    "2024-05-01",
    "2024-05-01T08:00:00+08:00",
    "主人行横道",
    "北京 立交桥（A）",
    "a: b",
    "a #b",
    "#x",
    "- x",
    "x -",
    "[a]",
    "{b}",
    "a,b",
    "it's",
    'say "hi"',
    "back\\slash",
    "tab\there",
    "line\nbreak",
    "two\n\nbreaks",
    " lead",
    "trail ",
    "",
    " ",
    "*alias",
    "&anchor",
    "!tag",
    "|",
    ">",
    "%",
    "@",
    "`",
    "?",
    ":",
    "-",
    "é",
    "\x7f",
    "😀",
    "a" * 90,
    "word " * 20,
    "true",
    ".inf",
    "-.inf",
    ".nan",
    "=",
    "<<",
    "---",
    "...",
    "a\tb",
    "zh-CN",
    "Demo street (composed from real photographs)",
]

# keys over several lines and the empty key are written as "? " complex keys, which the page does not read
KEYS = [w for w in WORDS if w and "\n" not in w]


def _random_value(rnd: random.Random, depth: int):
    r = rnd.random()
    if depth > 3 or r < 0.45:
        k = rnd.random()
        if k < 0.4:
            return rnd.choice(WORDS)
        if k < 0.6:
            return rnd.randint(-2000, 2000)
        if k < 0.8:
            return round(rnd.uniform(-1000, 1000), rnd.randint(0, 4))
        if k < 0.85:
            return rnd.choice([True, False, None])
        return rnd.choice([1e21, 1e-7, 0.1 + 0.2, 123456789012])
    if r < 0.7:
        return [_random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    return {
        (
            rnd.choice(KEYS) if rnd.random() < 0.5 else f"k{rnd.randint(0, 99)}"
        ): _random_value(rnd, depth + 1)
        for _ in range(rnd.randint(0, 5))
    }


# written by hand: YAML 1.1 scalars PyYAML resolves, comments, folding, block scalars
HAND = [
    "a: 010\nb: 0x1f\nc: 1_000\nd: 1:30\ne: yes\nf: ~\ng: 1e5\nh: .5\ni: 5.\nj: -.inf\nk: 0b101\nl: +12\nm: Off\nn:\n",
    (
        "# scene\n---\ncamera: x   # trailing\nframe_size: [640,   360]  # c\nzones:\n  # a comment line\n  - name: a\n"
        "    polygon: [[0, 0],\n      [1, 2],   # c\n      [3, 4]]\n\n  - name: b\n    label:\n      zh-CN: 北\n      en: north\n"
    ),
    "place: a long\n  place name\n\n  over lines\nx: 1\r\ny: [a, b]\r\n",
    "a: |\n  line1\n   line2\n\nb: >-\n  folded\n  text\n\n  para\nc: |+\n  kept\n\nd: >\n  x\n    more\n  y\n",
    "a: \"multi\n  line \\\"q\\\" \\u4e2d\\x41\\t\"\nb: 'it''s\n\n  ok'\nc: x#not-a-comment\n...\n",
    "seq:\n  -   name: x\n      kind: y\n  - - 1\n    - 2\n  -\n    - 3\nflow: {a: 1, b: [1, {c: d}], e: }\n",
]

STYLES = [
    {
        "default_flow_style": None
    },  # what the server writes (PATCH with a JSON scene, place / time zone edits)
    {"default_flow_style": False},
    {"default_flow_style": True},
    {"default_flow_style": None, "width": 30, "allow_unicode": False},
    {"default_flow_style": False, "indent": 4, "width": 20},
    {"default_flow_style": None, "default_style": '"'},
    {"default_flow_style": None, "default_style": "'"},
    {"default_flow_style": False, "default_style": "|"},
    {"default_flow_style": False, "default_style": ">", "width": 25},
]


def _corpus() -> tuple[list[str], list[dict]]:
    scenes = sorted(
        p for d in ("samples", "benchmarks") for p in (ROOT / d).rglob("*.yaml")
    )
    assert len(scenes) >= 20
    texts = [p.read_text(encoding="utf-8") for p in scenes] + HAND
    rnd = random.Random(8)
    docs = [yaml.safe_load(t) for t in texts[: len(scenes)]] + [
        {f"k{j}": _random_value(rnd, 0) for j in range(rnd.randint(1, 6))}
        for _ in range(150)
    ]
    for doc in docs:
        for style in STYLES:
            style = dict(style)
            unicode = style.pop("allow_unicode", True)
            # a forced scalar style tags every non-string (!!int "8"): those documents are all text
            data = _strings(doc) if "default_style" in style else doc
            texts.append(
                yaml.safe_dump(data, sort_keys=False, allow_unicode=unicode, **style)
            )
    return texts, docs


def _strings(v):
    if isinstance(v, dict):
        return {str(k): _strings(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_strings(x) for x in v]
    return str(v)


def _run(page, op: str, items: list) -> list[dict]:
    return page.evaluate(
        """([op, items]) => items.map((item) => {
      try {
        const v = op === 'load' ? CWYaml.load(item) : CWYaml.dump(item);
        return {ok: true, v: JSON.stringify(v, (k, x) => typeof x === 'number' && !isFinite(x) ? {number: String(x)} : x)};
      } catch (e) { return {ok: false, err: String(e.message), line: e.line}; }
    })""",
        [op, items],
    )


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page()
    page.set_content("<!doctype html><title>scene yaml</title>")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))
    yield page
    page.close()


def test_reads_what_pyyaml_reads(page) -> None:
    texts, _ = _corpus()
    results = _run(page, "load", texts)
    for text, res in zip(texts, results):
        assert res["ok"], (res, text[:600])
        assert _norm(json.loads(res["v"])) == _norm(
            yaml.load(text, Loader=_TextTimestamps)
        ), text[:600]


def test_pyyaml_reads_what_it_writes(page) -> None:
    _, docs = _corpus()
    docs = [
        json.loads(json.dumps(d, default=str)) for d in docs
    ]  # what the page holds: JSON data
    results = _run(page, "dump", docs)
    for doc, res in zip(docs, results):
        assert res["ok"], res
        text = json.loads(res["v"])
        assert _norm(yaml.load(text, Loader=_TextTimestamps)) == _norm(doc), text[:600]
    # a scene laid out as the server's yaml.safe_dump lays it out: block mappings, indentless
    # lists, points as flow pairs, labels as flow mappings
    scene = yaml.safe_load(
        (ROOT / "samples" / "demo" / "build" / "scene.yaml").read_text(encoding="utf-8")
    )
    written = json.loads(_run(page, "dump", [scene])[0]["v"])
    for part in (
        "camera: demo-crossing-01\nkind: fixed\n",
        "frame_size: [640, 360]\nzones:\n- name: crosswalk_main\n",
        "  label: {zh-CN: 主人行横道, en: main crossing}\n  kind: crosswalk\n  polygon:\n  - [290, 200]\n",
        "  classes: [person]\n",
        "signals:\n- name: ped_main\n  roi: [398, 100, 22, 46]\n",
        'start_time: "2024-05-01T08:00:00+08:00"\n',
    ):
        assert part in written, written


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("camera: a\nzones:\n  - name: x\n   kind: lane\n", 4, "indentation"),
        ("camera: a\nframe_size: [640, 360\nzones: []\n", 2, "not closed"),
        ("camera: a\nplace: 'open\n", 2, "not closed"),
        ("camera: a\nzones:\n\t- x\n", 3, "tab"),
        ("camera: a: b\n", 1, "key: value"),
        ("camera: a\n---\ncamera: b\n", 2, "more than one document"),
    ],
)
def test_refuses_what_pyyaml_refuses_with_the_line(
    page, text: str, line: int, words: str
) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=_TextTimestamps)
    res = _run(page, "load", [text])[0]
    assert not res["ok"] and res["line"] == line and words in res["err"], res


def test_refuses_anchors_and_tags_it_does_not_read(page) -> None:
    """PyYAML reads these; the page says it cannot draw them rather than show something else."""
    for text, line in (
        ("camera: a\nbase: &b {x: 1}\nother: *b\n", 2),
        ("camera: a\nzones: !!seq []\n", 2),
    ):
        res = _run(page, "load", [text])[0]
        assert (
            not res["ok"] and res["line"] == line and "not supported" in res["err"]
        ), res
