"""Who gets the assistant, and when: a throttle on failed logins and a bounded line for the one LLM.

Both are plain Python (no Gradio) so they can be tested directly; ``app.py`` wires them in.

Example: ``line = AnswerLine(max_waiting=4); ticket = line.join()`` -> ``ticket.position`` is 0 when it is
this question's turn; ``line.join()`` raises ``Busy`` when 4 questions already wait.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessPolicy:
    """The limits of the web server, each a trade-off.

    ``max_waiting``: questions allowed to wait behind the one being answered. Each waits one answer (~10-20 s on
    2 cores) per place, so 4 means up to about a minute; more only makes people wait longer for a busy message.
    ``max_failures`` / ``window_s``: failed logins per user name within the window before that name is locked for
    the rest of the window. Lower stops guessing sooner but locks a user who mistypes out for longer.
    ``failure_delay_s``: every failed login waits this long before it is answered, which turns a burst of guesses
    into a trickle at the cost of a short pause for someone who mistyped.
    """
    max_waiting: int = 4
    max_failures: int = 5
    window_s: float = 300.0
    failure_delay_s: float = 1.0


class Busy(RuntimeError):
    """The line is full; ``ahead`` questions are being answered or waiting."""

    def __init__(self, ahead: int):
        super().__init__(f"the assistant is busy: {ahead} questions ahead")
        self.ahead = ahead


class Ticket:
    def __init__(self, line: "AnswerLine"):
        self._line = line

    @property
    def position(self) -> int:
        """0: being answered; n: n questions ahead."""
        return self._line._position(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until it is this ticket's turn (True) or ``timeout`` seconds pass (False)."""
        return self._line._wait(self, timeout)

    def leave(self) -> None:
        self._line._leave(self)

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, *exc) -> None:
        self.leave()


class AnswerLine:
    """First come, first served access to the single LLM, with a bounded number of waiting questions.

    Gradio's own queue waits silently and without bound; this line lets the UI tell a waiting user their place
    and turn away the question that would overfill it with a clear message."""

    def __init__(self, max_waiting: int = AccessPolicy.max_waiting):
        self.max_waiting = max_waiting
        self._tickets: list[Ticket] = []
        self._cond = threading.Condition()

    def join(self) -> Ticket:
        with self._cond:
            if len(self._tickets) > self.max_waiting:
                raise Busy(len(self._tickets))
            ticket = Ticket(self)
            self._tickets.append(ticket)
            return ticket

    def __len__(self) -> int:
        with self._cond:
            return len(self._tickets)

    def _position(self, ticket: Ticket) -> int:
        with self._cond:
            return self._tickets.index(ticket) if ticket in self._tickets else -1

    def _wait(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._tickets and self._tickets[0] is ticket, timeout)

    def _leave(self, ticket: Ticket) -> None:
        with self._cond:
            if ticket in self._tickets:
                self._tickets.remove(ticket)
                self._cond.notify_all()


class LoginThrottle:
    """Counts failed logins per user name; a name with ``max_failures`` failures in ``window_s`` is refused,
    right password or not, until its failures leave the window (a refused try counts as one more failure, so
    guessing on keeps the name locked)."""

    def __init__(self, policy: AccessPolicy = AccessPolicy(), clock=time.monotonic):
        self.policy = policy
        self.clock = clock
        self._failures: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def _recent(self, user: str) -> collections.deque:
        q = self._failures[user]
        while q and self.clock() - q[0] > self.policy.window_s:
            q.popleft()
        return q

    def locked(self, user: str) -> bool:
        with self._lock:
            return len(self._recent(user)) >= self.policy.max_failures

    def failed(self, user: str) -> None:
        with self._lock:
            self._recent(user).append(self.clock())

    def check(self, user: str, password: str, expected: tuple[str, str]) -> bool:
        """True when the login is right and the name is not locked; records a failure otherwise."""
        import hmac
        if self.locked(user):
            self.failed(user)
            return False
        ok = hmac.compare_digest(user.encode(), expected[0].encode()) & \
            hmac.compare_digest(password.encode(), expected[1].encode())
        if not ok:
            self.failed(user)
        return bool(ok)
