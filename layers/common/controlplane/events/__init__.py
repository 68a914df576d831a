"""Models of the AWS events the control plane consumes, one module per source: a handler imports only its own."""
