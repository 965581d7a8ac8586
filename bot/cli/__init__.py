"""The command line: ``madoguchi`` (Typer) and what only the terminal needs (the chat, classify's I/O, the demo).

``commands`` holds the subcommands; each imports what it needs when it runs, so
``madoguchi classify`` starts without loading the web app or the database.
"""

from __future__ import annotations

from bot.cli.commands import app, main

__all__ = ["app", "main"]
