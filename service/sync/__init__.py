"""What arrives by replication, checked after the fact; conflicts found and resolved.

Devices push into their own databases (directory/provisioning.py); nothing there is trusted
until this package has looked at it. One worker per service process (`worker.py`), holding a
lease so that one process at a time does the work, follows each device database's `_changes`
from a durable checkpoint (`feed.py`), checks every arriving revision with the same schemas
and rules as the API (`rules/`, one file per rule), copies what may be copied into `records`
as replication would (the same revisions), and keeps what it found in side documents
(`flags.py`), never in the device's record: a flag written into it would be a new revision
that conflicts with the device's next edit. It also keeps the catalog that devices pull
(`catalog.py`) and finds conflicted records (`conflicts.py`).

The rest of the service calls only `sync_context` (start-up) and the read functions of
`flags` and `conflicts` (endpoints).
"""
