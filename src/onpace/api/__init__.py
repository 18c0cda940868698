"""The REST API under /api/v1: routers and strict request models."""
