"""A notebook served as a web app with Voilà (the `app` extra): every visitor gets a kernel of their own running the
notebook, and a page of its text and widgets, never its code.

    python -m rethink_widgets.jupyter.app NOTEBOOK [VOILA OPTIONS]     # `make app`: notebooks/05-todo-app.ipynb

When no database is configured and none answers, the embedded server is started first, as `%load_ext rethink_widgets`
would start it in the first visitor's kernel: said here, on the console, not on a visitor's page. Voilà is set up so
that visitors leave nothing behind; an option on the command line overrides any of it (`--Voila.ip=0.0.0.0`):

- It listens on 127.0.0.1 alone.
- A page that closes asks Voilà to shut its kernel down, with the `_xsrf` cookie as the form's token; Voilà 0.5 never
  sets that cookie, so it refused every such request (403, "'_xsrf' argument missing from POST") and each kernel
  stayed, with its feeds and connections, until the app stopped. The prelaunch hook sets it.
- A visitor gone without the page closing (a crash, a lost network, a laptop put to sleep) leaves a kernel no page
  is connected to: it is culled once idle. A kernel with a page connected is never culled (`cull_connected`).
- Live updates are not activity. A widget's update is a `comm_msg` sent on behalf of the cell that made the widget
  (an `execute_request`), and Jupyter counts a message of a tracked type or one answering a tracked type as
  activity: a departed visitor's kernel would never be idle while anyone changed the data. Neither type is
  tracked here, so what counts is the kernel's start and its widgets opening: keep the notebook's cells shorter than
  the idle timeout.
"""

from __future__ import annotations

import sys
from typing import Any

from traitlets.config import Config

from rethink_widgets.jupyter import connection, embedded

IDLE_TIMEOUT = 60  # s without activity (and with no page connected) before a kernel is culled
CULL_INTERVAL = 15  # s between looks for such kernels
LIVE_UPDATES = ["comm_msg", "execute_request"]  # the message types every live update is (see above)


def set_xsrf_cookie(handler: Any, notebook: Any, cwd: str) -> None:
    """Voilà's prelaunch hook, called before the page's first byte: reading the token sets its cookie, which the page
    sends back when it closes, asking for its kernel to be shut down."""
    handler.xsrf_token  # noqa: B018  # a property that sets the cookie when first read


def settings() -> Config:
    config = Config()
    config.Voila.ip = "127.0.0.1"
    config.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie
    config.MappingKernelManager.cull_idle_timeout = IDLE_TIMEOUT
    config.MappingKernelManager.cull_interval = CULL_INTERVAL
    config.MappingKernelManager.untracked_message_types.extend(LIVE_UPDATES)  # to Jupyter's own
    return config


def main(argv: list[str]) -> None:
    try:
        from voila.app import Voila
    except ImportError:
        raise SystemExit("Serving a notebook as an app needs Voilà: pip install 'rethink_widgets[app]'") from None
    said = embedded.ensure_server(connection.Settings.from_environment())
    if said:
        print(said, flush=True)
    Voila.launch_instance(argv, config=settings())


if __name__ == "__main__":
    main(sys.argv[1:])
