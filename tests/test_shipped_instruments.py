"""The outcome instruments Petunia ships (directory_data/outcomes): they load, and their item
keys stay the same from one version to the next, since stored answers are keyed by them."""

from pathlib import Path

from api.outcomes.instruments import read_instruments

OUTCOMES = Path(__file__).resolve().parent.parent / "directory_data" / "outcomes"


def _shipped() -> dict:
    return {i.key: i for i in read_instruments(OUTCOMES)}


def test_ltc6_asks_the_six_published_questions_under_its_first_keys() -> None:
    ltc6 = _shipped()["ltc6"]
    assert [i.key for i in ltc6.items] == [
        "care_plan", "involvement", "information", "support", "living_well", "confidence",
    ]  # fmt: skip
    texts = [i.text for i in ltc6.items]
    # Worded as the questionnaire asks them, not as statements summarising a topic.
    assert all(t.endswith("?") for t in texts), texts
    assert texts[0].startswith("Did you discuss what was most important for you")
    assert "joined up" in texts[4]
    assert (ltc6.scale.min, ltc6.scale.max) == (0, 3)


def test_ons4_keeps_its_four_questions() -> None:
    ons4 = _shipped()["ons4"]
    assert len(ons4.items) == 4
    assert (ons4.scale.min, ons4.scale.max) == (0, 10)
