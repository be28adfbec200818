"""course_instructor.kernel_client: short-slice polling, so nbclient/nbgrader never sleep through a reply."""
import asyncio
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest
import zmq
import zmq.asyncio
from jupyter_client.session import Session

from course_instructor import kernel_client
from course_instructor.kernel_client import (
    CLIENT_CLASS,
    SlicedPollChannel,
    SlicedPollKernelClient,
    SlicedPollKernelManager,
)

REPO = Path(__file__).resolve().parent.parent


def _pair():
    ctx = zmq.asyncio.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://sliced-test")
    b.connect("inproc://sliced-test")
    return ctx, a, b


def test_get_msg_returns_a_waiting_message_and_times_out_with_empty():
    async def scenario():
        ctx, a, b = _pair()
        session = Session()
        channel = SlicedPollChannel(b, session)
        try:
            start = time.monotonic()
            with pytest.raises(Empty):
                await channel.get_msg(timeout=0.6)  # several slices, nothing arrives
            waited = time.monotonic() - start
            session.send(a, "execute_reply", {"status": "ok"})
            msg = await channel.get_msg(timeout=5)
            return waited, msg
        finally:
            a.close(linger=0), b.close(linger=0), ctx.term()

    waited, msg = asyncio.run(scenario())
    assert 0.5 <= waited < 3.0
    assert msg["msg_type"] == "execute_reply" and msg["content"] == {"status": "ok"}


def test_client_and_manager_use_the_sliced_channels():
    assert issubclass(SlicedPollKernelClient.shell_channel_class.default_value, SlicedPollChannel)
    assert SlicedPollKernelClient.iopub_channel_class.default_value is SlicedPollChannel
    km = SlicedPollKernelManager(kernel_name="python3")
    assert km.client_factory is SlicedPollKernelClient
    assert CLIENT_CLASS == f"{kernel_client.__name__}.SlicedPollKernelClient"


def test_nbgrader_config_gives_nbgraders_executor_the_sliced_client():
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    executor = Execute(config=config)
    executor.nb = nbformat.v4.new_notebook()
    assert executor.create_kernel_manager().client_factory is SlicedPollKernelClient


@pytest.mark.slow
def test_output_widget_cells_never_stall_until_the_cell_timeout():
    """Before the fix, 3-6 of 10 such runs stalled for exactly the cell timeout after a widget cell."""
    from nbclient import NotebookClient

    loop = "for a in range(30):\n    out.clear_output(wait=True)\n    with out:\n        print(a)\nprint('x')"
    cells = ["import ipywidgets as w\nfrom IPython.display import display\nout = w.Output(); display(out)"]
    cells += [loop] * 5 + ["print('done')"]
    cell_timeout = 120
    for run in range(6):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        start = time.monotonic()
        NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                       kernel_manager_class=SlicedPollKernelManager).execute()
        seconds = time.monotonic() - start
        assert seconds < cell_timeout / 2, f"run {run} took {seconds:.0f} s: it waited for the cell timeout"
        assert "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip() == "done"
