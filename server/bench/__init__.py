"""`cellmeet bench`: the load benchmark of the live room (issue 3, point 7; docs/performance.md)."""
