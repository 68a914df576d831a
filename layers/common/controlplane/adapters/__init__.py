"""Adapters from the domain's ports to AWS services (boto3 clients created once, injectable)."""
