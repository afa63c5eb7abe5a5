"""App-server API objects built from store records (shared by the server and the CLI)."""
