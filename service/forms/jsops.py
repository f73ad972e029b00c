"""json-logic-js's operations with JavaScript's own coercions, for the server's evaluator.

panzi-json-logic runs the rules (dispatch, `if`/`and`/`or`, `map`/`filter`/`all`/...), but its
comparisons and arithmetic differ from JavaScript in corners a form reaches (`null == 0`,
`"" < 1`, `[1] > []`, ...). These follow ECMAScript's abstract equality, relational comparison,
ToNumber, ToString and parseFloat, as json-logic-js's operations use them. A differential run
of several thousand rules against json-logic-js 2.0.5 found no difference (docs/FORMS.md).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()
NAN = math.nan

_DECIMAL = re.compile(r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Infinity)$")
_RADIX = re.compile(r"^0([xXoObB])([0-9a-fA-F]+)$")
_FLOAT_PREFIX = re.compile(r"^[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
# JavaScript's StrWhiteSpaceChar (String.prototype.trim), beyond Python's str.strip() defaults.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
            "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_primitive(v: Any) -> Any:
    """ToPrimitive: an array is its elements joined by commas, an object "[object Object]"."""
    if isinstance(v, list):
        return ",".join("" if x is None or x is UNDEFINED else to_string(x) for x in v)
    if isinstance(v, dict):
        return "[object Object]"
    return v


def number_to_string(x: float) -> str:
    if isinstance(x, int):
        return str(x) if abs(x) <= 2**53 else number_to_string(float(x))
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    digits = Decimal(repr(x))
    if 1e-6 <= abs(x) < 1e21:
        text = format(digits, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(x).partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    exp = int(exponent)
    return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"


def to_string(v: Any) -> str:
    if v is None:
        return "null"
    if v is UNDEFINED:
        return "undefined"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if _is_number(v):
        return number_to_string(v)
    if isinstance(v, str):
        return v
    return str(to_primitive(v))


def to_number(v: Any) -> float:
    """ToNumber (JavaScript's Number(v))."""
    if v is None:
        return 0
    if v is UNDEFINED:
        return NAN
    if isinstance(v, bool):
        return 1 if v else 0
    if _is_number(v):
        return v if isinstance(v, float) or abs(v) <= 2**53 else float(v)  # JavaScript's doubles
    if isinstance(v, str):
        s = v.strip(_JS_SPACE)
        if s == "":
            return 0
        radix = _RADIX.match(s)
        if radix:
            base = {"x": 16, "o": 8, "b": 2}[radix.group(1).lower()]
            try:
                return int(radix.group(2), base)
            except ValueError:
                return NAN
        if _DECIMAL.match(s):
            return float(s.replace("Infinity", "inf"))
        return NAN
    return to_number(to_primitive(v))


def parse_float(v: Any) -> float:
    """JavaScript's parseFloat(String(v)): the longest number at the start, else NaN."""
    found = _FLOAT_PREFIX.match(to_string(v).lstrip(_JS_SPACE))
    if not found:
        return NAN
    return float(found.group(0).replace("Infinity", "inf"))


def number(x: float) -> float:
    """A result as JSON shows a JavaScript number: integral values without a fraction."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def truthy(v: Any) -> bool:
    """json-logic-js's truthy: [] is false, otherwise JavaScript's !!v."""
    if v is None or v is UNDEFINED or v is False:
        return False
    if _is_number(v):
        return not (v == 0 or (isinstance(v, float) and math.isnan(v)))
    if isinstance(v, (str, list)):
        return len(v) > 0
    return True


def loose_equals(a: Any, b: Any) -> bool:
    """`a == b`."""
    if a is None or a is UNDEFINED or b is None or b is UNDEFINED:
        return (a is None or a is UNDEFINED) and (b is None or b is UNDEFINED)
    if isinstance(a, bool) and isinstance(b, bool):
        return a is b
    if isinstance(a, bool):
        return loose_equals(to_number(a), b)
    if isinstance(b, bool):
        return loose_equals(a, to_number(b))
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, (list, dict)) and isinstance(b, (list, dict)):
        return a is b
    if isinstance(a, (list, dict)):
        return loose_equals(to_primitive(a), b)
    if isinstance(b, (list, dict)):
        return loose_equals(a, to_primitive(b))
    return bool(to_number(a) == to_number(b))  # a number and a string


def strict_equals(a: Any, b: Any) -> bool:
    """`a === b`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return a is b
    if a is None or b is None or a is UNDEFINED or b is UNDEFINED:
        return a is b
    return type(a) is type(b) and bool(a == b)


def less_than(a: Any, b: Any) -> bool | None:
    """Abstract relational comparison a < b; None where JavaScript answers undefined (NaN)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return pa < pb
    na, nb = to_number(pa), to_number(pb)
    if math.isnan(na) or math.isnan(nb):
        return None
    return bool(na < nb)


def lt(a: Any, b: Any) -> bool:
    return less_than(a, b) is True


def le(a: Any, b: Any) -> bool:
    return less_than(b, a) is False


def _args(args: tuple[Any, ...], n: int) -> list[Any]:
    return [*args, *[UNDEFINED] * (n - len(args))][:max(n, len(args))]


def op_var(data: Any = None, *args: Any) -> Any:
    a, b = _args(args, 2)[:2]
    not_found = None if b is UNDEFINED else b
    if a is UNDEFINED or a is None or a == "":
        return data
    for prop in to_string(a).split("."):
        if data is None or data is UNDEFINED:
            return not_found
        data = _member(data, prop)
        if data is UNDEFINED:
            return not_found
    return data


def _member(obj: Any, prop: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(prop, UNDEFINED)
    if isinstance(obj, (list, str)):
        if prop == "length":
            return len(obj)
        if prop.isdigit() and str(int(prop)) == prop and int(prop) < len(obj):
            return obj[int(prop)]
    return UNDEFINED


def op_missing(data: Any = None, *args: Any) -> list[Any]:
    keys = args[0] if args and isinstance(args[0], list) else list(args)
    return [key for key in keys if op_var(data, key) in (None, "")]


def op_missing_some(data: Any = None, need: Any = None, options: Any = None, *_: Any) -> Any:
    missing = op_missing(data, options if isinstance(options, list) else [])
    count = len(options) if isinstance(options, (list, str)) else 0
    return [] if le(to_number(need), count - len(missing)) else missing


def op_in(data: Any = None, a: Any = None, b: Any = None, *_: Any) -> bool:
    if not truthy(b) and b != []:
        return False
    if isinstance(b, str):
        return to_string(a) in b
    if isinstance(b, list):
        return any(strict_equals(a, x) for x in b)
    return False


def op_substr(data: Any = None, source: Any = None, start: Any = UNDEFINED,
              end: Any = UNDEFINED, *_: Any) -> str:
    text = to_string(source)
    if end is not UNDEFINED and lt(end, 0):
        rest = _substr(text, start, UNDEFINED)
        return _substr(rest, 0, len(rest) + to_number(end))
    return _substr(text, start, end)


def _substr(text: str, start: Any, length: Any) -> str:
    size = len(text)
    s = _to_integer(to_number(start))
    if s < 0:
        s = max(size + s, 0)
    s = min(s, size)
    n = size - s if length is UNDEFINED else min(max(_to_integer(to_number(length)), 0), size - s)
    return text[int(s):int(s + n)]


def _to_integer(x: float) -> float:
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return x
    return float(math.trunc(x))


def _add(data: Any = None, *args: Any) -> float:
    total: float = 0
    for arg in args:
        total = parse_float(total) + parse_float(arg)
    return number(total)


def _multiply(data: Any = None, *args: Any) -> Any:
    if not args:
        raise TypeError("Reduce of empty array with no initial value")
    if len(args) == 1:
        return args[0]  # reduce without an initial value answers the only element as is
    product = parse_float(args[0])
    for arg in args[1:]:
        product = parse_float(product) * parse_float(arg)
    return number(product)


def _minus(data: Any = None, a: Any = UNDEFINED, b: Any = UNDEFINED, *_: Any) -> float:
    if b is UNDEFINED:
        return number(-to_number(a))
    return number(to_number(a) - to_number(b))


def _divide(data: Any = None, a: Any = UNDEFINED, b: Any = UNDEFINED, *_: Any) -> float:
    x, y = to_number(a), to_number(b)
    if y == 0:
        if x == 0 or math.isnan(x):
            return NAN
        return math.copysign(math.inf, x) * math.copysign(1, y)
    return number(x / y)


def _remainder(data: Any = None, a: Any = UNDEFINED, b: Any = UNDEFINED, *_: Any) -> float:
    x, y = to_number(a), to_number(b)
    if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
        return NAN
    if math.isinf(y):
        return x
    return number(math.fmod(x, y))


def _extreme(pick: Any, empty: float) -> Any:
    def op(data: Any = None, *args: Any) -> float:
        values = [to_number(arg) for arg in args]
        if any(math.isnan(v) for v in values):
            return NAN
        return number(pick(values)) if values else empty
    return op


def _cat(data: Any = None, *args: Any) -> str:
    return "".join("" if a is None or a is UNDEFINED else to_string(a) for a in args)


def _merge(data: Any = None, *args: Any) -> list[Any]:
    merged: list[Any] = []
    for arg in args:
        if isinstance(arg, list):
            merged.extend(arg)
        else:
            merged.append(arg)
    return merged


def _compare(test: Any, between: bool) -> Any:
    def op(data: Any = None, *args: Any) -> bool:
        a, b, c = _args(args, 3)[:3]
        if between and c is not UNDEFINED:
            return bool(test(a, b) and test(b, c))
        return bool(test(a, b))
    return op


OPERATIONS: dict[str, Any] = {
    "==": lambda data=None, *args: loose_equals(*_args(args, 2)[:2]),
    "!=": lambda data=None, *args: not loose_equals(*_args(args, 2)[:2]),
    "===": lambda data=None, *args: strict_equals(*_args(args, 2)[:2]),
    "!==": lambda data=None, *args: not strict_equals(*_args(args, 2)[:2]),
    "<": _compare(lt, True),
    "<=": _compare(le, True),
    ">": _compare(lambda a, b: lt(b, a), False),
    ">=": _compare(lambda a, b: le(b, a), False),
    "!": lambda data=None, *args: not truthy(args[0] if args else UNDEFINED),
    "!!": lambda data=None, *args: truthy(args[0] if args else UNDEFINED),
    "+": _add,
    "*": _multiply,
    "-": _minus,
    "/": _divide,
    "%": _remainder,
    "min": _extreme(min, math.inf),
    "max": _extreme(max, -math.inf),
    "cat": _cat,
    "in": op_in,
    "substr": op_substr,
    "merge": _merge,
    "var": op_var,
    "missing": op_missing,
    "missing_some": op_missing_some,
    "log": lambda data=None, *args: args[0] if args else None,  # devices print; the server does not
}
