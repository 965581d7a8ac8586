"""The bot: conversation engine, settings and the command line; channels and pages come later."""
