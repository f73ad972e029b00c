"""The schema registry's two compilations: the fast check (jsonschema-rs) decides valid or
not, the reference implementation (jsonschema) says what is wrong; they must agree."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import relevance

from service.schemas import SchemaRegistry, _problem, problems

REGISTRY = SchemaRegistry()

CASES: list[tuple[str, Any]] = [
    ("interaction.new", {"delegate": 1, "device": 2, "recordedAt": 1696185089}),
    ("interaction.new", {"firstDelegate": 1, "recordedAt": "2023-10-01T18:31:29+00:00"}),
    ("interaction.new", {"delegate": "one"}),
    ("interaction.new", {"delegate": -1, "recordedAt": []}),
    ("interaction.new", []),
    ("interaction-types/lead", {"data": {"rating": 4, "answers": {"a": 1}}}),
    ("interaction-types/lead", {"data": {"rating": 9, "surprise": True}}),
    ("interaction-types/check-in", {"data": {"session": "s1"}}),
    ("interaction-types/check-in", {"data": {"session": 5}}),
    ("delegate.new", {"name": "Ada", "email": "ada@example.org"}),
    ("delegate.new", {"email": 5}),
    ("interaction.batch", {"interactions": {"a": {"interactionType": "join", "delegate": 1}}}),
    ("interaction.batch", {"interactions": {"a": {"delegate": 1}}, "sharedValues": 3}),
]


@pytest.mark.parametrize(("name", "instance"), CASES)
def test_the_fast_check_agrees_with_the_reference(name: str, instance: Any) -> None:
    validator = REGISTRY.validator(name)
    reference = Draft202012Validator(REGISTRY.documents[name], registry=REGISTRY.registry)
    errors = sorted(reference.iter_errors(instance), key=relevance)
    assert validator.fast.is_valid(instance) == (not errors)
    found = problems(validator, instance)
    assert [p["message"] for p in found] == [_problem(e, "")["message"] for e in errors]


def test_every_invalid_case_is_reported_with_pointers() -> None:
    found = problems(REGISTRY.validator("interaction-types/lead"),
                     {"data": {"rating": 9, "surprise": True}})
    assert found == [
        {"pointer": "/data/rating", "message": "9 is greater than the maximum of 5"},
        {"pointer": "/data", "message": "Additional properties are not allowed "
                                        "('surprise' was unexpected)"},
    ]


def test_an_integer_written_as_a_decimal_is_refused_though_the_fast_check_takes_it() -> None:
    from service.schemas import integral_floats

    validator = REGISTRY.validator("interaction.new")
    assert validator.fast.is_valid({"delegate": 8.0})  # JSON Schema counts 8.0 as an integer
    token = integral_floats.set(True)  # what the request parser says of a body holding 8.0
    try:
        assert [p["pointer"] for p in problems(validator, {"delegate": 8.0})] == ["/delegate"]
    finally:
        integral_floats.reset(token)
