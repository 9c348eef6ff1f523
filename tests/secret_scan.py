"""A scan of committed files for things that look like credentials.

The one exception is Azurite's published development key, allowed only by its name
``AZURITE_DEVELOPMENT_KEY``: it opens nothing but a local emulator.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

PATTERNS = {
    "azure storage account key": re.compile(r"AccountKey=(?!\{)[A-Za-z0-9+/]{40,}={0,2}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in a URL": re.compile(
        r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\{|\$|<|password@|PASSWORD@|pass@)[^@\s'\"/]{3,}@"
    ),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "assigned secret": re.compile(
        r"(?i)\b(?:[A-Z_]*(?:PASSWORD|SECRET|SECRET_KEY|API_KEY|ACCESS_KEY))\s*[=:]\s*['\"]?(?!change-me|secretref:|keyvaultref:|<|\$[A-Za-z_{(]|\{|[A-Za-z_][\w.]*\(|(?-i:[a-z_]\w*(?:\.[a-z_]\w*)+\b))[^\s'\"#]{12,}"
    ),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
ALLOWED_LINE = re.compile(r"AZURITE_DEVELOPMENT_KEY\s*=")
SKIPPED_SUFFIXES = (".png", ".lock", "package-lock.json")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str


def scan_text(path: str, text: str) -> list[Finding]:
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOWED_LINE.search(line):
            continue
        for kind, pattern in PATTERNS.items():
            if pattern.search(line):
                findings.append(Finding(path, number, kind))
    return findings


def committed_files(root: Path) -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    return [root / n for n in names.decode().split("\0") if n and not n.endswith(SKIPPED_SUFFIXES)]


def scan_repository(root: Path) -> list[Finding]:
    findings = []
    for path in committed_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        findings += scan_text(str(path.relative_to(root)), text)
    return findings
