"""Connectors: vendor APIs mapped onto one unified model (:mod:`connectors.model`)."""
