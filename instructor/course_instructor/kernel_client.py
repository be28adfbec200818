"""A Jupyter kernel client that never sleeps through a reply that has already arrived.

The problem (measured on the course's machines, nbclient 0.11, jupyter_client 8.10, pyzmq 26 and
27): when a cell uses an ``ipywidgets.Output`` (every ``course_utils.widgets.App`` does),
``nbclient`` -- and so ``nbconvert --execute`` and ``nbgrader autograde`` -- now and then stops
noticing the kernel's reply on the shell channel. The reply sits in the socket; the asyncio
``poll`` waiting for it only wakes up when its timeout runs out, then finds it and carries on.
Execution therefore stalls for exactly the cell timeout (nbgrader's ``Execute.timeout``,
nbclient's ``timeout``) and then succeeds, or waits forever without a timeout. In a loop of 10
executions of a small notebook with an ``Output`` widget, 3 to 6 stalled; without widgets, none.

The fix: channels that poll in short slices (:data:`POLL_SLICE_S`). A fresh ``poll`` checks the
socket before it waits, so a reply that arrived is picked up within one slice. Nothing else
changes: same messages, same timeouts.

Use it by naming the client class in the Jupyter configuration (``nbgrader_config.py`` does)::

    c.AsyncKernelManager.client_class = "course_instructor.kernel_client.SlicedPollKernelClient"

or pass ``kernel_manager_class=SlicedPollKernelManager`` to ``nbclient.NotebookClient``.
"""
from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

__all__ = ["POLL_SLICE_S", "CLIENT_CLASS", "SlicedPollChannel", "SlicedPollKernelClient", "SlicedPollKernelManager"]

#: The dotted name to put in Jupyter configuration (``client_class``).
CLIENT_CLASS = "course_instructor.kernel_client.SlicedPollKernelClient"

#: Longest single wait on a socket, in seconds.
POLL_SLICE_S = 0.25


class SlicedPollChannel(AsyncZMQSocketChannel):
    """An async ZMQ channel whose ``get_msg(timeout)`` waits in slices of :data:`POLL_SLICE_S`."""

    async def get_msg(self, timeout: float | None = None) -> dict:
        """The next message; raises ``queue.Empty`` if none arrives within ``timeout`` seconds
        (``None``: wait as long as it takes)."""
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout))
        while True:
            step = POLL_SLICE_S if deadline is None else min(POLL_SLICE_S, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(step * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class SlicedPollKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` with :class:`SlicedPollChannel` for shell, iopub, stdin and control."""

    shell_channel_class = Type(SlicedPollChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(SlicedPollChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(SlicedPollChannel)  # type: ignore[assignment]
    control_channel_class = Type(SlicedPollChannel)  # type: ignore[assignment]


class SlicedPollKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` whose clients are :class:`SlicedPollKernelClient` (for
    ``NotebookClient(nb, kernel_manager_class=SlicedPollKernelManager)``)."""

    client_class = DottedObjectName(CLIENT_CLASS, config=True)
    client_factory = Type(SlicedPollKernelClient, klass=AsyncKernelClient, config=True)
