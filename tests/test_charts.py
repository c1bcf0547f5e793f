import xml.etree.ElementTree as ET

from api.reports.charts import bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_scale_and_hidden_values_have_no_bar() -> None:
    svg = bar_chart("Referrals by practice", ["North <Surgery>", "South", "East"], [40, None, 10])
    root = ET.fromstring(svg)  # well-formed: labels were escaped
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 2
    assert float(bars[0].get("width")) == 4 * float(bars[1].get("width"))
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "North <Surgery>" in texts and "<5" in texts and "40" in texts
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == "Referrals by practice"


def test_hostile_labels_cannot_break_out() -> None:
    svg = bar_chart('x"><script>alert(1)</script>', ["</svg><img src=x onerror=alert(1)>"], [3])
    assert "<script>" not in svg and "<img" not in svg
    ET.fromstring(svg)
