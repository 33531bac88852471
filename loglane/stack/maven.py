"""Fetches pinned artifacts with Maven, so ~/.m2 is the download cache and no URL is hard-coded.

`fetch` copies one artifact (a tarball, a zip, a fat jar); `resolve` copies an artifact set with
its transitive runtime dependencies into a directory. Both are no-ops when their output is
already complete, which makes a second `stack up` start without touching the network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

from loglane.errors import ComponentError
from loglane.stack.pins import pin

# Named on every call: Maven finds "~" from the password database, not $HOME.
MVN = ["mvn", f"-Dmaven.repo.local={Path.home() / '.m2' / 'repository'}"]


def _mvn(
    args: list[str], what: str, component: str, log_path: Path, cwd: Path | None = None
) -> None:
    if shutil.which("mvn") is None:
        raise ComponentError(component, "Maven (mvn) is not on PATH; install it (apt-get install maven)")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(f"  [{component}] fetching {what} with Maven (cached in ~/.m2 afterwards)\n")
    started = time.monotonic()
    if sys.stderr.isatty():
        # Interactive: Maven draws its own live progress bar for long downloads.
        code = subprocess.run([*MVN, *args], cwd=cwd, stdout=sys.stderr).returncode
        detail = "see Maven's output above"
    else:
        with log_path.open("ab") as log:
            code = subprocess.run(
                [*MVN, "--batch-mode", *args], cwd=cwd, stdout=log, stderr=subprocess.STDOUT
            ).returncode
        detail = str(log_path)
    if code != 0:
        raise ComponentError(component, f"Maven could not fetch {what}", detail)
    sys.stderr.write(f"  [{component}] fetched {what} in {time.monotonic() - started:.0f}s\n")


def _filename(coordinate: str) -> str:
    parts = coordinate.split(":")
    group, artifact, version = parts[:3]
    packaging = parts[3] if len(parts) > 3 else "jar"
    classifier = f"-{parts[4]}" if len(parts) > 4 else ""
    return f"{artifact}-{version}{classifier}.{packaging}"


def fetch(coordinate: str, dest: Path, component: str, log_path: Path) -> Path:
    """Copy one artifact into dest and return its path."""
    target = dest / _filename(coordinate)
    if target.exists():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    _mvn(
        [f"{pin('MAVEN_COPY_PLUGIN')}:copy", f"-Dartifact={coordinate}", f"-DoutputDirectory={dest}"],
        coordinate,
        component,
        log_path,
    )
    if not target.exists():
        raise ComponentError(component, f"Maven finished but {target} is missing", str(log_path))
    return target


def _pom(coordinates: list[str], exclusions: list[str]) -> str:
    excluded = "".join(
        f"<exclusion><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId></exclusion>"
        for g, a in (e.split(":") for e in exclusions)
    )
    deps = "".join(
        f"<dependency><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId>"
        f"<version>{escape(v)}</version><exclusions>{excluded}</exclusions></dependency>"
        for g, a, v, *_ in (c.split(":") for c in coordinates)
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>dev.loglane.stack</groupId><artifactId>libs</artifactId><version>0</version>"
        f"<packaging>pom</packaging><dependencies>{deps}</dependencies></project>"
    )


def resolve(
    coordinates: list[str],
    dest: Path,
    component: str,
    log_path: Path,
    exclusions: list[str] | None = None,
) -> Path:
    """Copy coordinates and their runtime dependencies into dest (a classpath directory)."""
    pom = _pom(coordinates, exclusions or [])
    stamp = hashlib.sha256(pom.encode()).hexdigest()
    marker = dest / ".resolved"
    if marker.exists() and marker.read_text() == stamp:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="loglane-mvn-") as work:
        Path(work, "pom.xml").write_text(pom)
        _mvn(
            [
                f"{pin('MAVEN_DEPENDENCY_PLUGIN')}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={dest}",
            ],
            f"{len(coordinates)} artifact(s) with dependencies",
            component,
            log_path,
            cwd=Path(work),
        )
    marker.write_text(stamp)
    return dest
