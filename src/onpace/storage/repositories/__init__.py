"""Query-only access to the store: functions that read rows and never commit.

Services decide and write; the request or worker boundary commits. Every function here takes the
session first and reads with a fixed number of queries, whatever the number of rows (no N+1).
"""
