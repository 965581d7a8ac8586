"""The bot, in rooms whose imports run one way (``tests/bot/test_layers.py`` checks it).

``conversation`` is the pure engine; ``channels`` are the platform adapters
(they know only the engine's data types); ``desk`` holds the services, the only
place the engine meets storage; ``runtime`` runs the loops; ``web`` and ``cli``
are the two front doors. ``settings`` and ``metrics`` are shared by all.
"""
