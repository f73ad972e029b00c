"""Forms: the public form format (docs/FORMS.md), its checks on save, its rules (JSON Logic) and
its storage with revisions and tags. The Session API uses exactly what is exported here
(docs/FORMS.md, "For the Session API").
"""

from __future__ import annotations

from .evaluation import (
    Evaluation,
    FormRevision,
    ItemState,
    answer_problem,
    context_problems,
    evaluate,
)
from .storage import LATEST, load_form

__all__ = [
    "LATEST",
    "Evaluation",
    "FormRevision",
    "ItemState",
    "answer_problem",
    "context_problems",
    "evaluate",
    "load_form",
]
