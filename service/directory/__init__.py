"""The directory: the delegates (attendees) and devices (kiosks, scanners, printers) that
interactions name. They live in the registry database, which devices pull and only admins
write; the HTTP side is `service/handlers/directory.py`.
"""
