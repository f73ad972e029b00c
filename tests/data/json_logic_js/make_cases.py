"""Rules and data for the differential test of the server's JSON Logic against json-logic-js.

Regenerate both files (json-logic-js pinned to the version devices run):
    python3 make_cases.py > cases.json
    npm install --prefix /tmp/jljs json-logic-js@2.0.5
    NODE_PATH=/tmp/jljs/node_modules node expected.js < cases.json > expected.json
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

VALUES: list[Any] = [None, 0, 1, -1, 2.5, "", "0", "1", "1.0", "a", "b", True, False, [], ["a"],
                     ["a", "b"], [1], "2026-01-02"]
BINARY = ["==", "!=", "===", "!==", "<", ">", "<=", ">=", "in", "+", "-", "*", "/", "%", "cat",
          "min", "max", "merge", "and", "or"]
UNARY = ["!", "!!", "-"]
X = {"var": "x"}
ELEMENT = {"var": ""}


def cases() -> list[list[Any]]:
    out: list[list[Any]] = []
    for op in BINARY:
        out += [[{op: [a, b]}, {}] for a, b in itertools.product(VALUES, VALUES)]
    for op in UNARY:
        out += [[{op: [a]}, {}] for a in VALUES]
    datas: list[dict[str, Any]] = [{"x": v} for v in VALUES]
    datas += [{"x": [1, 2, 3]}, {"x": ["1", "2", None]}, {"x": [[1], [2, 3]]}]
    for d in datas:
        rules: list[Any] = [
            {"if": [X, "yes", "no"]}, {"!=": [X, ""]}, {">=": [X, 0]}, {"var": "x.length"},
            {"var": "x.0"}, {"missing": ["x"]},
            {"some": [X, {"==": [ELEMENT, "a"]}]}, {"all": [X, {"==": [ELEMENT, "a"]}]},
            {"none": [X, {"==": [ELEMENT, "a"]}]}, {"var": ["y", "dflt"]},
            {"reduce": [X, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
            {"reduce": [X, {"cat": [{"var": "accumulator"}, {"var": "current"}]}, ""]},
            {"map": [X, {"*": [ELEMENT, 2]}]}, {"filter": [X, {">": [ELEMENT, 1]}]},
            {"all": [X, {"!!": ELEMENT}]}, {"none": [X, {"!!": ELEMENT}]},
            {"and": [X, "last"]}, {"or": [X, "other"]}, {"?:": [X, 1, 2]},
            {"if": [X, 1, {"==": [X, 0]}, 2, 3]}, {"<": [0, X, 10]}, {"<=": [0, X, 10]},
            {"missing_some": [1, ["x", "y"]]}, {"in": [X, ["a", 1, None, True]]}, {"in": ["a", X]},
            {"cat": [X, "|", X]}, {"+": [X]}, {"*": [X]}, {"*": [X, 3]}, {"-": [X]},
            {"substr": [X, 1]}, {"substr": [X, -2, 1]}, {"min": [X, 5]}, {"max": [X, -5]},
            {"merge": [X, [9]]}, {"var": ["x.1", "dflt"]}, {"var": ["x", "dflt"]},
        ]
        out += [[rule, d] for rule in rules]
    for n in [0.1, 1e21, 1.5e-7, 123456789.125, -0.0, 1e-7, 2**53 + 1]:
        out += [[{"cat": [n]}, {}], [{"==": [n, str(n)]}, {}]]
    return out


if __name__ == "__main__":
    json.dump(cases(), sys.stdout, separators=(",", ":"))
