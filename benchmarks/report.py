"""Helpers shared by the benchmark scripts: machine facts and README sections."""

import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """One line that says what these numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def write_section(name: str, text: str, readme: Path = HERE / "README.md") -> None:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->` in the README."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = readme.read_text() if readme.exists() else "# Benchmarks\n"
    if start not in content:
        content += f"\n{start}\n{end}\n"
    before, rest = content.split(start)
    _, after = rest.split(end)
    readme.write_text(f"{before}{start}\n{text}{end}{after}")
