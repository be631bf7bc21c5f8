"""The Jupyter side: the extension, the live feeds in a kernel and the widgets. It never imports the server: the
embedded one is only ever started as a process, so the same notebooks work against a real RethinkDB."""
