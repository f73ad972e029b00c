"""Questionnaire sessions (docs/SESSIONS.md): documents, answering, listing and submitUrl delivery.

`sessions` is the domain code the handlers call; `delivery` is the durable submitUrl queue and its
background worker. Forms and their rules come from `service.forms` (never evaluated here).
"""
