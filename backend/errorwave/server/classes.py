"""Classes: one session shared with followers who watch it, read-only.

The owner sends `share {}` and gets a class code; anyone who sends `follow {code}` (or opens
`/ws?class={code}`) joins the owner's runner as one more socket side. The owner's engine
computes each frame once, encoded once per encoding the sides read; each follower has its
own latest-wins outbox, so a slow follower slows nobody. A follower gets the latest
snapshot, schema and frame the owner's clients were sent (no worker call when the
encodings match), then every message after it, and the owner's view (`view {view}`: the
selected node, the tour stop). When the owner's session ends, its followers are told
(`event class_ended`) and stay connected as plain, idle sessions; they can still fork.

A code is the server's id, a dash and 13 symbols of an unambiguous alphabet (no 0/O, 1/I/L),
shown in groups: `A-7KQ3-MZ9P-RT4WX`; 13 symbols of 31 carry 64.4 random bits. The proxy
routes `/c/{code}` and `/ws?class={code}` on the prefix (deploy/nginx.conf). Follow
attempts are rate-limited per client address, and failed ones more tightly.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from errorwave.server import protocol as p
from errorwave.server import rpc
from errorwave.server.limits import Settings
from errorwave.server.links import RateLimiter
from errorwave.server.runner import LATEST

if TYPE_CHECKING:
    from errorwave.server.session import Session

log = logging.getLogger("errorwave.classes")

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: no 0 O 1 I L
BODY = 13                                 # 13 * log2(31) = 64.4 bits
GROUPS = (4, 4, 5)
SERVER_ID = re.compile(r"[A-Z2-9]{1,8}")
_CODE = re.compile(rf"([A-Z2-9]{{1,8}})-([{ALPHABET}]{{{BODY}}})")
VIEW_MAX_BYTES = 4096


def new_code(server: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return grouped(server, body)


def grouped(server: str, body: str) -> str:
    parts, i = [], 0
    for n in GROUPS:
        parts.append(body[i:i + n])
        i += n
    return "-".join([server, *parts])


def normalize(text: str) -> str | None:
    """The canonical code for what someone typed (any case, spaces or dashes inside the
    groups), or None when it cannot be one."""
    if len(text) > 64:
        return None
    flat = re.sub(r"[\s\-\u00b7]+", "-", text.strip().upper()).strip("-")
    server, _, rest = flat.partition("-")
    m = _CODE.fullmatch(f"{server}-{rest.replace('-', '')}")
    return grouped(m.group(1), m.group(2)) if m else None


def server_of(code: str) -> str:
    return code.split("-", 1)[0]


class ClassRecords(Protocol):
    """Where class codes are recorded for the other servers (stores/)."""

    def open_class(self, code: str, server: str, title: str) -> None: ...
    def close_class(self, code: str) -> None: ...
    def find_class(self, code: str) -> dict[str, Any] | None: ...


@dataclass(eq=False)
class Class:
    code: str
    owner: Session
    title: str
    followers: set[Session] = field(default_factory=set)
    view: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"/c/{self.code}"

    def info(self) -> dict[str, Any]:
        return {"code": self.code, "url": self.url, "title": self.title}


class FollowRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Classes:
    def __init__(self, settings: Settings, records: ClassRecords | None = None):
        self.settings = settings
        if not SERVER_ID.fullmatch(settings.server_id):
            raise ValueError(f"ERRORWAVE_SERVER_ID must be 1-8 of A-Z and 2-9, not "
                             f"{settings.server_id!r}")
        self.server = settings.server_id
        self.records = records
        self.by_code: dict[str, Class] = {}
        self.by_owner: dict[str, Class] = {}
        self.attempts = RateLimiter(settings.follows_per_minute)
        self.failures = RateLimiter(settings.follow_failures_per_minute)

    @property
    def follower_count(self) -> int:
        return sum(len(c.followers) for c in self.by_code.values())

    # ----- messages -----------------------------------------------------------------------
    async def handle(self, session: Session, message: Any) -> bool:
        """Class messages, and what a follower may do: True when handled here. A follower's
        `load` (the fork) leaves the class and goes on to the dispatcher."""
        side = session.side
        try:
            if isinstance(message, p.Share):
                if session.following is not None:
                    raise FollowRefused("read_only", "a follower cannot share the class it "
                                        "follows: explore from here (load) first")
                cls = await self.share(session, message.title)
                side.put_event("shared", **cls.info())
                self._count(cls)
                return True
            if isinstance(message, p.Follow):
                if self.owned(session) is not None:
                    raise FollowRefused("bad_message", "this session is shared with a class; "
                                        "a class's owner cannot follow another class")
                cls = await self.follow(session, message.code, session.address)
                return True
            if isinstance(message, p.View):
                if session.following is not None:
                    raise FollowRefused("read_only", "a follower's view follows its class")
                self.set_view(session, message.view)
                return True
            if isinstance(message, p.Load) and not session.computing:
                self.leave(session)  # explore from here: a session of its own
                refusal = session.count_in()
                if refusal is not None:
                    raise FollowRefused("limit", refusal)
                return False
            if session.following is None:
                return False
            if isinstance(message, p.Hello):
                changed = message.binary != side.binary
                side.binary = message.binary
                side.put_message(session.welcome())
                if changed:
                    await self._resend(session)
                return True
            raise FollowRefused("read_only", f"'{message.type}' is the teacher's: this page "
                                "follows a class (explore from here to try it yourself)")
        except FollowRefused as err:
            side.put_error(err.code, err.message)
            return True

    # ----- owners -------------------------------------------------------------------------
    async def share(self, owner: Session, title: str) -> Class:
        """The owner's class (the same one when asked again; the title may change)."""
        cls = self.by_owner.get(owner.sid)
        if cls is None:
            code = new_code(self.server)
            while code in self.by_code:
                code = new_code(self.server)
            cls = Class(code, owner, title)
            self.by_code[code] = cls
            self.by_owner[owner.sid] = cls
            await self._record("open_class", code, self.server, title)
        cls.title = title or cls.title
        return cls

    def owned(self, owner: Session) -> Class | None:
        return self.by_owner.get(owner.sid)

    def set_view(self, owner: Session, view: dict[str, Any]) -> bool:
        """The owner's view (selected node, tour stop...) to every follower; False when the
        owner has no class (nothing to do)."""
        cls = self.by_owner.get(owner.sid)
        if cls is None:
            return False
        if len(orjson.dumps(view)) > VIEW_MAX_BYTES:
            raise FollowRefused("too_large", f"a view is at most {VIEW_MAX_BYTES} bytes")
        cls.view = view
        for f in cls.followers:
            f.side.put_event("view", view=view)
        return True

    async def end(self, owner: Session, reason: str = "the teacher's session ended") -> None:
        cls = self.by_owner.pop(owner.sid, None)
        if cls is None:
            return
        self.by_code.pop(cls.code, None)
        runner = owner.runner
        for f in list(cls.followers):
            runner.leave(f.side)
            f.following = None
            f.side.put_event("class_ended", code=cls.code, title=cls.title,
                             message=f"The class has ended: {reason}. You can go on "
                                     "exploring from here on your own.")
        cls.followers.clear()
        await self._record("close_class", cls.code)

    # ----- followers ----------------------------------------------------------------------
    async def follow(self, session: Session, text: str, address: str) -> Class:
        if not self.attempts.allow(address):
            raise FollowRefused("limit", "too many attempts to follow a class; try again in "
                                "a minute")
        code = normalize(text)
        cls = self.by_code.get(code) if code else None
        if cls is None:
            if not self.failures.allow(address):
                raise FollowRefused("limit", "too many unknown class codes; try again in a "
                                    "minute")
            raise FollowRefused("unknown_class", await self._unknown(code))
        if cls.owner is session:
            raise FollowRefused("bad_message", "this session is the class's owner")
        if len(cls.followers) >= self.settings.max_followers:
            raise FollowRefused("limit", f"this class is full ({self.settings.max_followers} "
                                "followers)")
        self.leave(session)
        if session.computing or session.runner.loaded:  # it computes nothing from now on
            await session.runner.close()
            session.runner.state = None
            session.runner.latest.clear()
            session.release()
        session.side.put_event("following", **cls.info())
        await self.attach(cls, session)
        return cls

    async def _unknown(self, code: str | None) -> str:
        if code is None:
            return ("not a class code: it looks like A-7KQ3-MZ9P-RT4WX (a server letter, then "
                    "13 letters and digits)")
        found = await self._lookup(code)
        if found is not None and found.get("closed") is None and found["server"] != self.server:
            return (f"class {code} is held by server {found['server']}, not this one "
                    f"({self.server}): open /c/{code} through the department's address")
        if found is not None:
            return f"class {code} has ended"
        return f"no class {code} (it may have ended); check the code"

    async def attach(self, cls: Class, session: Session) -> None:
        """Send the follower where the owner is, then add it to the fan-out. Without an await
        between the two when the owner's latest messages exist in the follower's encoding,
        no message can fall between them."""
        runner = cls.owner.runner
        side = session.side
        session.following = cls
        cls.followers.add(session)
        latest: dict[str, rpc.Payloads] = getattr(runner, "latest", {})
        enc = side.encoding
        cached = ("snapshot" in latest and enc in latest.get("frame", {})
                  and (enc == "json" or "schema" in latest))
        if runner.state is not None and not cached:
            async with runner.lock:  # the worker's current state, in this side's encoding
                if runner.state is not None:  # (still loaded once the lock is ours)
                    res = await runner.pool.call(rpc.Current(sid=runner.sid, encodings=(enc,)))
                    for kind, payloads in res.out if res.ok else []:
                        side.put(kind, payloads)
                runner.join(side)
        else:
            for kind in LATEST:  # both sides in compare mode
                if kind in latest and (kind != "schema" or enc == "binary"):
                    side.put(kind, latest[kind])
            runner.join(side)
        if runner.playing and runner.plan is not None:
            side.put_event("playing", rate=runner.plan.rate,
                           across_examples=runner.plan.across_examples)
        if cls.view is not None:
            side.put_event("view", view=cls.view)
        self._count(cls)

    def leave(self, session: Session) -> None:
        cls = session.following
        if cls is None:
            return
        session.following = None
        cls.owner.runner.leave(session.side)
        cls.followers.discard(session)
        if cls.code in self.by_code:
            self._count(cls)

    async def _resend(self, session: Session) -> None:
        """A follower switched encodings: where the owner is, in the new one."""
        cls = session.following
        if cls is not None:
            cls.owner.runner.leave(session.side)
            cls.followers.discard(session)
            await self.attach(cls, session)

    def _count(self, cls: Class) -> None:
        cls.owner.side.put_event("followers", code=cls.code, count=len(cls.followers))

    # ----- records (other servers) --------------------------------------------------------
    async def _record(self, op: str, *args: Any) -> None:
        if self.records is None:
            return
        try:
            await asyncio.to_thread(getattr(self.records, op), *args)
        except Exception:  # the class works on this server without its record
            log.exception("recording class %s failed", args[0])

    async def _lookup(self, code: str) -> dict[str, Any] | None:
        if self.records is None:
            return None
        try:
            return await asyncio.to_thread(self.records.find_class, code)
        except Exception:
            log.exception("looking up class %s failed", code)
            return None
