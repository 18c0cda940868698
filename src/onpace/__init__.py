"""onpace: strategy execution as a planned-vs-actual control loop."""

__version__ = "0.1.0"
