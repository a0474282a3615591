"""REST handlers per resource, their request models and the OpenAPI document."""
