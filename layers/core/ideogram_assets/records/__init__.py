"""Generation records: the model (model.py), the only code that changes their state
(lifecycle.py), the writes the services make (repository.py) and the states (status.py).

Kept empty so that importing the states does not load PynamoDB (the read path defers it).
"""
