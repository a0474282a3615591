"""The API's errors are `server.errors` (one floor down, so that services never import the API);
this name stays for the callers that know it."""

from server.errors import ApiError, conflict, forbidden, invalid, not_found, refused, unauthenticated

__all__ = ["ApiError", "conflict", "forbidden", "invalid", "not_found", "refused", "unauthenticated"]
