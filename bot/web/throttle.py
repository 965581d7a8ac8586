"""The web's limits on people it does not know yet: login guesses, new web chats and the pages they make.

Built once per app from the settings (``Throttles.build``) and kept in
``Services``. Counted in memory (``bot.limits``): a flood is turned away without
touching the database. Keys are a login name or a client address, never text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from bot.limits import Window
from bot.settings import Settings

HOUR = 3600.0


def client_address(request: HTTPConnection) -> str:
    """The client's address as uvicorn saw it (behind a proxy: set ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


@dataclass
class Throttles:
    login_account: Window
    login_address: Window
    chat_new: Window
    chat_pages_address: Window
    chat_pages_all: Window

    @classmethod
    def build(cls, settings: Settings) -> Throttles:
        window = settings.login_window_minutes * 60
        return cls(
            login_account=Window(settings.login_tries_per_account, window),
            login_address=Window(settings.login_tries_per_address, window),
            chat_new=Window(settings.chat_new_per_address, HOUR),
            chat_pages_address=Window(settings.chat_pages_per_address, HOUR),
            chat_pages_all=Window(settings.chat_pages_per_hour, HOUR),
        )

    # --- logins: count wrong passwords; once full, every try waits (the right password too) ----------

    @staticmethod
    def _account(login: str) -> str:
        return login.strip().casefold()

    def login_wait(self, login: str, address: str) -> float:
        """Seconds this login must wait before its password is even checked (0: go ahead)."""
        return max(self.login_account.wait(self._account(login)), self.login_address.wait(address))

    def login_failed(self, login: str, address: str) -> None:
        self.login_account.add(self._account(login))
        self.login_address.add(address)

    def login_succeeded(self, login: str) -> None:
        self.login_account.clear(self._account(login))

    # --- the web chat: anyone may write, but paging a coordinator has a budget ---------------------------

    def chat_gate(self, address: str, *, new: bool) -> Callable[[], bool]:
        """What the desk asks before it pages for this message: yes while the budgets have room.

        A new conversation over its address's budget never pages on its own; a
        page takes one from the address's budget and one from everyone's. The
        budget is taken only when a page is about to go out, so ordinary talk
        costs nothing.
        """
        opened = self.chat_new.take(address) if new else True

        def may_page() -> bool:
            if not opened or self.chat_pages_address.full(address) or self.chat_pages_all.full("all"):
                return False
            return self.chat_pages_address.take(address) and self.chat_pages_all.take("all")

        return may_page
