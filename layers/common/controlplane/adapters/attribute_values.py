"""DynamoDB attribute values (`{"S": "text"}`) to and from plain values, as boto3's TypeSerializer and
TypeDeserializer convert them, without importing boto3: its package loads s3transfer and multiprocessing, about
15 ms of CPU at every cold start, which no handler otherwise needs. The ledger stores no binary values, so the
binary types are refused. tests/unit/test_attribute_values.py holds both conversions equal to boto3's."""

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# DynamoDB's numbers: 38 significant digits; a value that would be rounded, clamped or overflow is refused.
NUMBER_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _is_number(value: object) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)


def _number(value: int | Decimal) -> str:
    text = str(NUMBER_CONTEXT.create_decimal(value))
    if text in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return text


def to_attribute(value: Any) -> dict[str, Any]:
    """The attribute value of None, a bool, int or Decimal, str, a set of numbers or of strings, a mapping, a list
    or a tuple."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Set):
        if all(_is_number(member) for member in value):
            return {"NS": [_number(member) for member in value]}
        if all(isinstance(member, str) for member in value):
            return {"SS": list(value)}
    elif isinstance(value, Mapping):
        return {"M": {key: to_attribute(member) for key, member in value.items()}}
    elif isinstance(value, list | tuple):
        return {"L": [to_attribute(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The plain value of an attribute value: numbers as Decimal, sets as set, maps as dict, lists as list."""
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, value = next(iter(attribute.items()))
    match kind:
        case "NULL":
            return None
        case "BOOL" | "S":
            return value
        case "N":
            return NUMBER_CONTEXT.create_decimal(value)
        case "SS":
            return set(value)
        case "NS":
            return {NUMBER_CONTEXT.create_decimal(number) for number in value}
        case "L":
            return [from_attribute(member) for member in value]
        case "M":
            return {key: from_attribute(member) for key, member in value.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")
