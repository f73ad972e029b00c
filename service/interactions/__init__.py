"""The Interaction API's domain: interaction types as data, creating, checking, listing,
batches and uploads (the HTTP side is `service/handlers/interactions.py`).
"""
