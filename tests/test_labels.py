"""Every value of every public enum has its words on the site and in the open data, so a new
value (like VARIOUS_PLACES, added by registration) cannot break a site build."""

import pytest

from api.directory import labels
from api.directory.enums import AccessibilityFeature, Delivery, HowToJoin
from api.oruk import mapping


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (labels.DELIVERY, Delivery),
        (mapping._ATTENDING, Delivery),
        (labels.ACCESSIBILITY, AccessibilityFeature),
        (labels.HOW_TO_JOIN, HowToJoin),
        (labels.HOW_TO_JOIN_SHORT, HowToJoin),
        (mapping._HOW_TO_JOIN, HowToJoin),
    ],
)
def test_every_value_has_words(table: dict, enum: type) -> None:
    assert set(table) == set(enum)
