"""E-mail to members (issue 18): the invitation sent through the operator's own SMTP server, when one is
configured (`CELLMEET_SMTP_URL`); without one nothing is ever sent."""
