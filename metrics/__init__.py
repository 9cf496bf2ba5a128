"""Metrics: a product's few measures, their readings, targets and status (green/amber/red)."""
