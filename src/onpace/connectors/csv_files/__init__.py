"""CSV files and drop folders (long or wide layout); see :func:`fetch`."""

from onpace.connectors.csv_files.reader import KIND, fetch, read_csv_bytes

__all__ = ["KIND", "fetch", "read_csv_bytes"]
