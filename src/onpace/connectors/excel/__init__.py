"""Excel workbooks (.xlsx) and drop folders of them (long or wide layout); see :func:`fetch`."""

from onpace.connectors.excel.reader import KIND, fetch, read_xlsx_bytes

__all__ = ["KIND", "fetch", "read_xlsx_bytes"]
