"""Documents the server produces for other programs: calendar invitations."""
