"""Pages of one KPI or key result, check-ins and re-baselines."""
