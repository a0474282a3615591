"""Everything of cellmeet that does I/O: the aiohttp app, REST, persistence, auth, audit and the CLI."""
