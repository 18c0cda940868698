"""The model file onpace.yaml: parse, validate with file:line errors, export."""

from onpace.modelfile.durations import format_duration, parse_duration
from onpace.modelfile.errors import ModelFileError, Problem
from onpace.modelfile.export import dump_model
from onpace.modelfile.formula import FormulaError, formula_names
from onpace.modelfile.load import load_model_file, parse_model_text, validate_file
from onpace.modelfile.tolerances import format_threshold, parse_threshold

__all__ = [
    "FormulaError",
    "ModelFileError",
    "Problem",
    "dump_model",
    "format_duration",
    "format_threshold",
    "formula_names",
    "load_model_file",
    "parse_duration",
    "parse_model_text",
    "parse_threshold",
    "validate_file",
]
