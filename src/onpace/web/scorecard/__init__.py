"""The scorecard tree, the dependency map and what-if."""
