"""Execute one notebook through Jupyter's own client (the real kernel protocol) and write its
outputs back atomically. Used by scripts/notebooks.mjs; exit status 1 names the failing cell.

usage: execute_notebook.py NOTEBOOK [--kernel tslab] [--cwd DIR] [--timeout SECONDS] [--keep-plotly]
"""
import argparse
import os
import re
import sys
import tempfile

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

# plotly.js embedded by lib/notebook/plots/figure.ts: several MB, needed in a live page only; the
# stored notebook keeps the figure (JSON and drawing code), the book export adds plotly.js.
PLOTLY_SCRIPT = re.compile(r'<script type="text/javascript" data-residual-plotly="[^"]*">.*?</script>', re.S)


def strip_plotly(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            if "data-residual-plotly" in text:
                out["data"]["text/html"] = PLOTLY_SCRIPT.sub("", text)


class TrackingClient(NotebookClient):
    """nbclient's client, remembering which cell it executes (to name the one that fails)."""

    current = -1

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self.current = cell_index
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)


def cell_name(nb, index):
    code = sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")
    return f"cell {index + 1} (code cell {code})" if index >= 0 else "kernel start"


def write_atomically(nb, path):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ipynb", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        # mkstemp makes the file private; keep the notebook's own permissions.
        os.chmod(tmp, (os.stat(path).st_mode & 0o777) if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--kernel", default="tslab")
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--keep-plotly", action="store_true")
    args = parser.parse_args()

    path = args.notebook
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": args.kernel, "display_name": "TypeScript (tslab)", "language": "typescript"}
    cwd = args.cwd or os.path.dirname(os.path.abspath(path))
    # No timing metadata: re-running an unchanged notebook leaves its file unchanged.
    # iopub_timeout: how long to wait, after a cell's reply, for the kernel's idle status (outputs
    # come before it). nbclient's 4 s default is short for a kernel starved of CPU by other trainings:
    # a full run made that way lost one console.log line (chapter 5, cell 3).
    client = TrackingClient(nb, kernel_name=args.kernel, timeout=args.timeout, allow_errors=False, record_timing=False,
                            iopub_timeout=60, resources={"metadata": {"path": cwd}})
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        print(f"{name}: {cell_name(nb, client.current)} failed:\n{e}", file=sys.stderr)
        if 0 <= client.current < len(nb.cells):
            # tslab reports errors on the cell's stderr rather than in the reply: show them.
            for out in nb.cells[client.current].get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    print(out.get("text", ""), file=sys.stderr)
                elif out.get("output_type") == "error":
                    print("\n".join(out.get("traceback", [])), file=sys.stderr)
        return 1
    if not args.keep_plotly:
        strip_plotly(nb)
    write_atomically(nb, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
