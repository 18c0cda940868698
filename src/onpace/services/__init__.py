"""Use-cases, one transaction each; the request/worker boundary commits."""
