"""Shared package of the MLOps control plane: models, config, domain policies and AWS adapters."""
