"""The patches to the embedded engine's packages: applied after every install, a second run
changes nothing, and a package that changed under a patch stops the install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from service.settings import PROJECT_ROOT

PATCHES = PROJECT_ROOT / "patches"

ORIGINAL = "function answer() {\n  return 41;\n}\n\nmodule.exports = answer;\n"
PATCHED = "function answer() {\n  return 42;\n}\n\nmodule.exports = answer;\n"
# The blank context line has lost its leading space, as editors trim it.
PATCH = """--- a/node_modules/thing/index.js
+++ b/node_modules/thing/index.js
@@ -1,5 +1,5 @@
 function answer() {
-  return 41;
+  return 42;
 }

 module.exports = answer;
"""


def project_with_thing(root: Path, source: str) -> Path:
    (root / "patches").mkdir()
    shutil.copy(PATCHES / "apply.js", root / "patches" / "apply.js")
    (root / "patches" / "thing.patch").write_text(PATCH)
    target = root / "node_modules" / "thing" / "index.js"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    return target


def apply(root: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node
    return subprocess.run([node, str(root / "patches" / "apply.js")],
                          capture_output=True, text=True, check=False)


def test_a_patch_applies_once(tmp_path: Path) -> None:
    target = project_with_thing(tmp_path, ORIGINAL)
    first = apply(tmp_path)
    assert (first.returncode, first.stdout) == (
        0, "patched node_modules/thing/index.js (thing.patch)\n")
    assert target.read_text() == PATCHED
    second = apply(tmp_path)
    assert (second.returncode, second.stdout) == (
        0, "already patched node_modules/thing/index.js (thing.patch)\n")
    assert target.read_text() == PATCHED


def test_a_changed_package_stops_the_install(tmp_path: Path) -> None:
    changed = ORIGINAL.replace("41", "40")
    target = project_with_thing(tmp_path, changed)
    result = apply(tmp_path)
    assert result.returncode != 0
    assert "thing.patch: hunk 1 does not apply to node_modules/thing/index.js" in result.stderr
    assert target.read_text() == changed


def test_the_installed_engine_is_patched() -> None:
    result = apply(PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "already patched node_modules/express-pouchdb/lib/routes/bulk-docs.js"
        " (express-pouchdb.patch)",
        "already patched node_modules/pouchdb-validation/lib/index.js (pouchdb-validation.patch)",
    ]
