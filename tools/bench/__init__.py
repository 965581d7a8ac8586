"""``madoguchi bench``: speed and memory figures, run from a source checkout (not shipped in the wheel).

``run`` picks the parts; ``web`` and ``webhooks`` load a real ``madoguchi serve``;
``fakes`` holds the fake platform APIs and the bare floor they are compared with.
"""
