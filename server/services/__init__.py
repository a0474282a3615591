"""Use cases: load state, call the domain, write the change and its audit row in one transaction."""
