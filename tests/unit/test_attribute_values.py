"""The ledger's attribute value conversions convert as boto3's TypeSerializer and TypeDeserializer do."""

from decimal import Decimal, Inexact, Overflow
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from controlplane.adapters.attribute_values import from_attribute, to_attribute

_NUMBERS = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1) | st.decimals(
    min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False, places=6
)
_SCALARS = st.none() | st.booleans() | _NUMBERS | st.text()
_VALUES = st.recursive(
    _SCALARS | st.frozensets(st.text(), min_size=1) | st.sets(_NUMBERS, min_size=1),
    lambda members: st.lists(members) | st.tuples(members, members) | st.dictionaries(st.text(), members),
    max_leaves=20,
)


@given(_VALUES)
def test_a_value_serializes_as_boto3_serializes_it(value: Any) -> None:
    assert to_attribute(value) == TypeSerializer().serialize(value)


@given(_VALUES)
def test_an_attribute_value_deserializes_as_boto3_deserializes_it(value: Any) -> None:
    attribute = TypeSerializer().serialize(value)
    assert from_attribute(attribute) == TypeDeserializer().deserialize(attribute)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (1.5, TypeError),  # floats are refused: DynamoDB numbers are exact
        ({Decimal(1), 2.5}, TypeError),
        (Decimal("NaN"), TypeError),
        (Decimal("1.000000000000000000000000000000000000001"), Inexact),  # 40 digits: would be rounded
        (Decimal("1e200"), Overflow),
        (b"binary", TypeError),  # the ledger stores no binary values
        (object(), TypeError),
    ],
)
def test_a_value_dynamodb_cannot_store_exactly_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_attribute(value)


@pytest.mark.parametrize("attribute", [{}, {"B": b"binary"}, {"X": "unknown"}])
def test_an_attribute_value_of_no_known_type_is_refused(attribute: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        from_attribute(attribute)
