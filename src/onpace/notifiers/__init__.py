"""Events out: one folder per channel kind, each with notify(notification)."""
