"""The model file onpace.yaml: parse, validate with file:line errors, export."""
