"""Any database SQLAlchemy can reach, with a query returning date, metric and value; see :func:`fetch`."""

from onpace.connectors.sql.reader import KIND, fetch

__all__ = ["KIND", "fetch"]
