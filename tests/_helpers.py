"""Helpers shared by several test files (plain functions; the fixtures live in conftest.py)."""

import io
import json
import shutil
import zipfile

from zsfuse.cli import main


def run_cli(capsys, *argv):
    """Run the ``zsfuse`` command in-process; return ``(exit status, stdout, stderr)``."""
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def assert_one_line_error(rc, err, *needles):
    """Exit 2 and a last stderr line ``zsfuse COMMAND: error: ...`` holding every needle; no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("zsfuse ") and ": error: " in lines[-1], err
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


def zip_members(path, members):
    """Write a zip file at ``path`` holding ``{name: bytes}``; return ``path``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def rewrite_schema(path, edit):
    """Rewrite a skops file with ``edit(schema)`` applied to its schema (other members kept)."""
    with zipfile.ZipFile(path) as z:
        entries = {name: z.read(name) for name in z.namelist()}
    schema = json.loads(entries["schema.json"])
    edit(schema)
    entries["schema.json"] = json.dumps(schema).encode()
    return zip_members(path, entries)


def make_code_shipping_model(base, folder, marker):
    """A copy of the model folder ``base`` whose config maps to Python code that writes ``marker`` when imported.

    transformers imports that code only when ``trust_remote_code`` is truthy; otherwise it uses
    its own class for the config's (known) model type.
    """
    shutil.copytree(base, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "modeling_x.ShippedConfig", "AutoModel": "modeling_x.ShippedModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_x.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('the shipped code ran')\n"
        "from transformers import WavLMConfig\n"
        "class ShippedConfig(WavLMConfig):\n"
        "    pass\n"
    )
    return str(folder)
