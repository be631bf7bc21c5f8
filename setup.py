"""Packaging for rethink_widgets: live RethinkDB widgets for Jupyter, with an embedded ReQL server."""

import shutil
import subprocess
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
FRONT_END = HERE / "js"


def build_front_end() -> None:
    """Bundle the widgets' views (js/, see js/README.md) into rethink_widgets/jupyter/static/. A source checkout
    builds them; an sdist (it has PKG-INFO) ships the bundles it was made with, so installing it needs no Node.js."""
    if not FRONT_END.is_dir() or (HERE / "PKG-INFO").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            "Installing rethink_widgets from a source checkout bundles the widgets' front end (js/) with npm, "
            "which is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm) and try again."
        )
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONT_END, check=True)
    subprocess.run([npm, "run", "build"], cwd=FRONT_END, check=True)


class BuildPy(build_py):
    def run(self) -> None:
        build_front_end()
        super().run()


class Sdist(sdist):
    def run(self) -> None:
        build_front_end()
        super().run()


setup(
    name="rethink_widgets",
    version="0.1.0",
    description="Live RethinkDB changefeed widgets for Jupyter, with an embedded ReQL server",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["rethink_widgets", "rethink_widgets.*"]),
    # The widgets' front end ships inside the package, bundled from js/ (see build_front_end).
    package_data={"rethink_widgets.jupyter": ["static/*"]},
    include_package_data=True,
    # JupyterLab merges settings files found here with its defaults: saving widget state with a notebook lets a
    # saved notebook show each widget's last snapshot (marked not live) when no kernel runs. A user's own setting
    # still wins.
    data_files=[("share/jupyter/lab/settings/overrides.d", ["jupyter-config/overrides.d/rethink_widgets.json"])],
    install_requires=[
        # The 2.4.10 wheel imports looseversion and six without declaring them.
        "rethinkdb==2.4.10.post1",
        "looseversion>=1.3",
        "six>=1.16",
        "tornado>=6.2",
        "anywidget>=0.9",
        "ipywidgets>=8.1",
        "ipython>=8",
        "traitlets>=5.9",
        # RE2 itself, the engine RethinkDB matches with: linear time, and it lets go of the GIL while it matches.
        "google-re2>=1.1",
        # rapidjson, which RethinkDB reads and writes JSON text with (r.json, to_json_string, coerce_to('string')).
        "python-rapidjson>=1.25",
        # The server's JSON on the wire (wire.py): several times faster than the json module, with the same text.
        "orjson>=3.10",
        # Karney's geodesics, which RethinkDB measures distances and draws circles with. 1.43 gives the same last
        # digits as the copy RethinkDB ships; later releases round some results differently.
        "geographiclib==1.43",
        # QuickJS, the engine RethinkDB runs r.js with: the same results and messages (javascript_worker.py).
        "quickjs==1.19.4",
        # The server's event loop (cli.py): asyncio's, with less cost per turn and per socket operation.
        "uvloop>=0.19",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "ruff>=0.6",
            "mypy>=2.4",  # `make lint`; its settings are in pyproject.toml
            "pandas-stubs>=2",  # for mypy: LiveTable.to_dataframe returns a DataFrame
            "ipykernel>=6.29",
            "jupyter_client>=8",
            "nbformat>=5.9",
            "nbval>=0.11",
            "pandas>=2",  # LiveTable.to_dataframe
            "notebook>=7",
            # Drives Debian's chromium (make test installs it); Playwright's own browser download is not used.
            "playwright>=1.45",
        ],
        "demo": [
            "jupyterlab>=4.4",
        ],
        # LiveChart: Perspective's engine and viewer (its anywidget ships its own front end).
        "charts": [
            "perspective-python==5.6.1",
        ],
        # A notebook served as a web app, one kernel per visitor (`make app`, rethink_widgets/jupyter/app.py). The app's
        # settings answer what this Voilà does when a page closes.
        "app": [
            "voila==0.5.13",
        ],
        # The sampler behind `--profile` of benchmarks/server.py and benchmarks/changefeeds.py (`make bench` installs it).
        "profile": [
            "py-spy>=0.3",
        ],
        # The grids benchmarks/peers.py sets LiveTable beside (`make bench` installs them).
        "peers": [
            "perspective-python==5.6.1",
            "ipydatagrid>=1.3",
        ],
    },
    cmdclass={"build_py": BuildPy, "sdist": Sdist},
    entry_points={
        "console_scripts": [
            "rethink-widgets-server=rethink_widgets.server.cli:main",
        ],
    },
)
