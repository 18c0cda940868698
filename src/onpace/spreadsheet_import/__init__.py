"""Turn the OKR and KPI workbooks people keep (xlsx or csv) into an onpace.yaml; see :func:`import_workbook`."""

from onpace.spreadsheet_import.build import ImportResult, import_workbook

__all__ = ["ImportResult", "import_workbook"]
