"""The kiosk fill page's assets: its own files (service/static/fill/) and `@dialob/fill-api`
bundled for the browser from node_modules (`make install` puts it there).

fill-api is published as CommonJS (with immer as its one dependency), which a browser cannot
load as it is; the bundle wraps each of its modules in a small module table, as a bundler
would, and exposes `window.DialobFill`. It is built once per process, when first asked for.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from .settings import PROJECT_ROOT

FILL_PAGE_DIR = Path(__file__).resolve().parent / "static" / "fill"
NODE_MODULES = PROJECT_ROOT / "node_modules"
FILL_API_LIB = NODE_MODULES / "@dialob" / "fill-api" / "lib"
IMMER = NODE_MODULES / "immer" / "dist" / "immer.cjs.production.min.js"
BUNDLE_NAME = "fill-api.js"
PAGE_FILES = {"fill.js": "text/javascript", "fill.css": "text/css"}

_LOADER = """(function () {
  var sources = %s, cache = {};
  function load(name) {
    if (!cache[name]) {
      var module = cache[name] = {exports: {}};
      sources[name](module, module.exports, function (wanted) {
        return load(wanted.replace(/^\\.\\//, ''));
      });
    }
    return cache[name].exports;
  }
  window.DialobFill = load('index');
})();
"""


class MissingAsset(LookupError):
    """An asset that is not installed (run `make install`) or not one of the page's."""


@cache
def fill_api_bundle() -> str:
    if not FILL_API_LIB.is_dir() or not IMMER.is_file():
        raise MissingAsset("@dialob/fill-api is not installed: run `make install`")
    modules = {path.stem: path.read_text("utf-8") for path in sorted(FILL_API_LIB.glob("*.js"))}
    modules["immer"] = IMMER.read_text("utf-8")
    # Source maps are not served: drop the comments that would make a browser ask for them.
    modules = {name: "\n".join(line for line in source.splitlines()
                               if not line.startswith("//# sourceMappingURL="))
               for name, source in modules.items()}
    entries = ",\n".join(
        f"{json.dumps(name)}: function (module, exports, require) {{\n{source}\n}}"
        for name, source in modules.items()
    )
    return _LOADER % ("{\n" + entries + "\n}")


def page_file(name: str) -> tuple[str, str]:
    """One of the page's files: its text and content type."""
    if name == BUNDLE_NAME:
        return fill_api_bundle(), "text/javascript"
    if name not in PAGE_FILES:
        raise MissingAsset(name)
    return (FILL_PAGE_DIR / name).read_text("utf-8"), PAGE_FILES[name]
