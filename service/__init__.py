"""Settee: a REST service for event data capture (questionnaire sessions, interactions) on CouchDB."""

__version__ = "0.1.0"
