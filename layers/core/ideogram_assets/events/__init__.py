"""Events: what upstream systems send (requests) and what the application announces (results)."""
