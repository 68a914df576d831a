"""`mlops`, the operator's command line: what the control plane is doing, and what an operator asks of it."""
