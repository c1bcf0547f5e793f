import io

import pytest
from sqlalchemy import func, select

from api.directory.models import Postcode
from api.directory.postcodes import (
    InvalidPostcode,
    PostcodeFileError,
    UnknownPostcode,
    bounding_box,
    distance_km,
    import_postcodes,
    locate,
    normalise_postcode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("at12ab", "AT1 2AB"),
        (" AT1  2AB ", "AT1 2AB"),
        ("sw1a1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("b33 8th", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_postcodes_are_normalised(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "hello", "AT1", "12345", "AT1 2A", "QT1 2AB", "AT1 2AC", "<script>"]
)
def test_malformed_postcodes_are_refused_with_a_helpful_message(raw: str) -> None:
    with pytest.raises(InvalidPostcode, match="is not a UK postcode: expected something like"):
        normalise_postcode(raw)


def test_distance_and_bounding_box() -> None:
    # One degree of latitude is about 111.2 km anywhere.
    assert distance_km(52.0, -1.0, 53.0, -1.0) == pytest.approx(111.19, abs=0.01)
    assert distance_km(52.6, -1.1, 52.6, -1.1) == 0
    min_lat, max_lat, min_lon, max_lon = bounding_box(52.6, -1.1, 5)
    # The box encloses the circle: its edges are at least 5 km away.
    assert distance_km(52.6, -1.1, max_lat, -1.1) == pytest.approx(5, abs=0.01)
    assert distance_km(52.6, -1.1, 52.6, min_lon) >= 4.99


ONSPD = """pcd,pcd2,pcds,dointr,doterm,lat,long
AT1 1AA,AT1  1AA,AT1 1AA,199901,,52.650000,-1.130000
AT1 9ZZ,AT1  9ZZ,AT1 9ZZ,199901,200512,52.651000,-1.131000
AT8 8ZZ,AT8  8ZZ,AT8 8ZZ,199901,,99.999999,0.000000
"""


def test_import_ons_postcode_directory(empty_db) -> None:
    with empty_db.session() as db:
        result = import_postcodes(db, io.StringIO(ONSPD), batch_size=2)
    assert (result.imported, result.skipped_no_location) == (2, 1)
    with empty_db.session() as db:
        assert locate(db, "at19zz") == pytest.approx((52.651, -1.131))
        with pytest.raises(UnknownPostcode, match="We do not know where AT8 8ZZ is"):
            locate(db, "AT8 8ZZ")
    # Importing again updates in place.
    with empty_db.session() as db:
        import_postcodes(db, io.StringIO(ONSPD.replace("52.650000", "52.660000")))
    with empty_db.session() as db:
        assert locate(db, "AT1 1AA")[0] == pytest.approx(52.66)
        assert db.scalar(select(func.count()).select_from(Postcode)) == 2


def test_import_with_bad_rows_reports_each_line_and_loads_nothing(empty_db) -> None:
    bad = ONSPD + "nonsense,,nonsense,,,52.1,-1.1\nAT2 2AB,,AT2 2AB,,,north,-1\n"
    with pytest.raises(PostcodeFileError) as caught, empty_db.session() as db:
        import_postcodes(db, io.StringIO(bad), batch_size=1)
    assert caught.value.total == 2
    assert "line 5: 'nonsense' is not a UK postcode" in str(caught.value)
    assert "line 6: could not convert string to float: 'north'" in str(caught.value)
    with empty_db.session() as db:
        assert db.scalar(select(func.count()).select_from(Postcode)) == 0


def test_import_names_the_missing_columns(empty_db) -> None:
    with pytest.raises(PostcodeFileError, match="expected columns pcds"), empty_db.session() as db:
        import_postcodes(db, io.StringIO("code,x,y\nAT1 1AA,1,2\n"))
