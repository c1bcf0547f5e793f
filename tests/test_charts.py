"""Charts a board member can read: scaled bars on a value axis with a unit, full labels at a
printable size, and nothing drawn for a figure the table hides."""

import xml.etree.ElementTree as ET

from api.reports.charts import FONT, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_bars_scale_and_hidden_values_are_left_out() -> None:
    svg = bar_chart("Referrals by practice", ["North <Surgery>", "South", "East"], [40, None, 10],
                    axis_title="Referrals")  # fmt: skip
    root = ET.fromstring(svg)  # well-formed: labels were escaped
    bars = [r for r in root.iter(f"{SVG}rect")]
    assert len(bars) == 2
    assert float(bars[0].get("width")) == 4 * float(bars[1].get("width"))
    words = texts(root)
    assert "North <Surgery>" in words and "40" in words and "10" in words
    # The hidden one is not drawn, not even as a mark: the chart says it left one out.
    assert "South" not in words and "<5" not in words and "[c]" not in words
    assert "1 hidden by disclosure control: see the table" in words
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "Referrals by practice"


def test_a_percentage_chart_has_an_axis_with_its_unit_and_is_never_beside_a_mark() -> None:
    svg = bar_chart("% attended", ["Knit and natter", "Dog walking"], [52.9, None], unit="%",
                    axis_title="% attended")  # fmt: skip
    root = ET.fromstring(svg)
    words = texts(root)
    assert {"0%", "40%", "100%"} <= set(words), words  # ticks with the unit
    assert "% attended" in words  # the axis title
    assert "[c]" not in svg and "Dog walking" not in words


def test_long_labels_wrap_in_full_at_a_printable_size() -> None:
    label = "Maintenance incentive (still engaged a year after support began)"
    root = ET.fromstring(bar_chart("People", [label], [12]))
    spans = [t.text for t in root.iter(f"{SVG}tspan")]
    assert len(spans) >= 2 and " ".join(spans) == label  # wrapped, not cut
    assert "…" not in "".join(texts(root))
    # Drawn at its own size (1 SVG unit = 1 CSS px) with 13 px text: 9.75 pt on paper.
    assert root.get("width") == root.get("viewBox").split()[2]
    assert int(root.get("font-size")) == FONT >= 12


def test_negative_values_extend_left_of_zero() -> None:
    root = ET.fromstring(bar_chart("Mean change", ["A", "B"], [0.5, -0.25], decimals=2))
    a, b = list(root.iter(f"{SVG}rect"))
    assert float(b.get("x")) + float(b.get("width")) <= float(a.get("x")) + 0.1
    assert "-0.25" in texts(root)


def test_hostile_labels_cannot_break_out() -> None:
    svg = bar_chart('x"><script>alert(1)</script>', ["</svg><img src=x onerror=alert(1)>"], [3])
    assert "<script>" not in svg and "<img" not in svg
    ET.fromstring(svg)


def test_the_running_header_cannot_end_its_css_string() -> None:
    from api.reports.render import css_string

    text = 'North "</style><script>alert(1)</script> \\ end'
    out = str(css_string(text))
    assert out.startswith('"') and out.endswith('"') and out.count('"') == 2
    assert "<" not in out and "\\" + "00003c" in out and " " not in out
