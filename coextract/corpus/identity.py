"""What makes a run's output what it is, so that `--resume` continues only the same run.

A run's identity is each input file's fingerprint (size, modification time, and
a sha256 of its first and last MiB: the whole file when it is under 2 MiB), the
digest of the model's files, and every option that changes the output. The
state file of an interrupted run records it; `--resume` compares it with the
identity of the run asked for and refuses, saying what changed, if anything did.
"""

import hashlib
import os
from collections.abc import Sequence

from coextract.errors import CoextractError

BLOCK = 1 << 20  # bytes hashed at each end of an input file
# The `TagOptions` fields that change what is written (not how fast): a resumed run must keep them.
OUTPUT_OPTIONS = ("text_field", "id_field", "input_format", "output_format", "include_text", "strict")


def input_fingerprint(path: str) -> dict:
    """Size, modification time and the hash of both ends of `path`."""
    if path == "-":
        return {"path": "-"}
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            digest = hashlib.sha256(stream.read(BLOCK))
            if size > 2 * BLOCK:
                stream.seek(size - BLOCK)
            digest.update(stream.read(BLOCK))
            modified = os.fstat(stream.fileno()).st_mtime_ns
    except OSError as err:
        raise CoextractError(f"{path}: cannot be read ({err.strerror})") from None
    return {"path": path, "size": size, "modified_ns": modified, "ends_sha256": digest.hexdigest()}


def run_identity(paths: Sequence[str], model: str, options: dict) -> dict:
    """The identity of tagging `paths` with the model whose digest is `model`, and `options`.

    `options` holds at least the `OUTPUT_OPTIONS` fields (a `TagOptions` as a dict).
    """
    return {
        "inputs": [input_fingerprint(path) for path in paths],
        "model": model,
        "options": {name: options[name] for name in OUTPUT_OPTIONS},
    }


def changes(before: dict, now: dict) -> list[str]:
    """What differs between the identity of an interrupted run and of the run asked for, in words."""
    found = []
    old_paths, new_paths = [i["path"] for i in before["inputs"]], [i["path"] for i in now["inputs"]]
    if old_paths != new_paths:
        found.append(f"the inputs were {', '.join(old_paths)}; now {', '.join(new_paths)}")
    else:
        for old, new in zip(before["inputs"], now["inputs"], strict=True):
            if old["path"] == "-":
                found.append("standard input cannot be checked to be the same; resume needs input files")
            elif old != new:
                found.append(f"{new['path']} changed since the interrupted run ({file_change(old, new)})")
    if before["model"] != now["model"]:
        found.append("the model is not the one the interrupted run used (its files' digest differs)")
    for name in OUTPUT_OPTIONS:
        if before["options"][name] != now["options"][name]:
            flag = "--" + ("format" if name == "output_format" else name.replace("_", "-"))
            found.append(f"{flag} was {before['options'][name]!r}, now {now['options'][name]!r}")
    return found


def file_change(old: dict, new: dict) -> str:
    if old["size"] != new["size"]:
        return f"{old['size']:,} bytes then, {new['size']:,} now"
    if old["ends_sha256"] != new["ends_sha256"]:
        return "same size, different content"
    return "same size and ends, but modified since"
