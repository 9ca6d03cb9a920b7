"""The README's Python examples run, and show what the bundled models really return."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
CHECKED = re.compile(r"^(?P<expression>[^#\s][^#]*?)\s+# -> (?P<shown>.+)$")


@pytest.mark.parametrize("block", [b for b in BLOCKS if "# -> " in b], ids=lambda b: b.splitlines()[0])
def test_readme_examples_show_what_the_models_return(block):
    namespace: dict = {}
    pending: list[str] = []
    for line in block.splitlines():
        match = CHECKED.match(line)
        if "# -> " in line:
            assert match, f"a checked line must be one top-level expression: {line}"
            exec("\n".join(pending), namespace)  # the example up to here, as written
            pending = []
            shown = repr(eval(match["expression"], namespace))
            assert shown == match["shown"], f"{match['expression']} gives {shown}"
        else:
            pending.append(line)
    exec("\n".join(pending), namespace)  # and the rest of it runs too


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, fences paired in order."""
    blocks, language, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, body = line[3:].strip(), []
            else:
                blocks.append((language, "\n".join(body)))
                language = None
        elif language is not None:
            body.append(line)
    return blocks


SHELL_BLOCKS = [body for language, body in fenced_blocks(README) if language == ""]


@pytest.mark.parametrize("block", [b for b in SHELL_BLOCKS if "--output" in b], ids=lambda b: b.split()[0])
def test_readme_commands_run_as_written(block):
    # Each command block can be pasted as it is: no two commands write one output (the second
    # would refuse: it exists), and none writes over a bundled model in an editable clone.
    outputs = re.findall(r"--output (\S+)", block)
    written = [o for o in outputs if o != "-"]
    assert len(written) == len(set(written)), f"two commands write the same output: {written}"
    assert not [o for o in written if o.startswith("export/models")], "a README command overwrites a bundle"
