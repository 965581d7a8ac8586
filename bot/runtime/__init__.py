"""The runtime: long-running loops that ``madoguchi serve`` runs beside the web app.

``receiver`` turns stored platform events into conversation turns, ``dispatcher``
sends the outbox, ``repager`` climbs the paging ladder, ``purger`` blanks old
text; ``pump`` is how they claim work. Every step claims its rows with a
conditional UPDATE, so several processes on one PostgreSQL share the work.
Imports the desk and the channels; never the web.
"""
