"""The product knows nothing of the sandbox providers or the dev tooling.

`grep -r sandbox tms_console/` may find comments and documentation only: here every token of every
module is checked, so a name, attribute or import that mentions the sandbox fails, while prose does not.
The one exception is Jinja's own `jinja2.sandbox` module (the webhook template engine's isolation),
which has nothing to do with the sandbox providers.
"""

from __future__ import annotations

import dataclasses
import io
import tokenize
import tomllib
from pathlib import Path

from setuptools import find_packages

from tms_console.providers.spec import ProviderSpec

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "tms_console"
JINJA_SANDBOX = ("jinja2", ".", "sandbox")


def _code_mentions(path: Path, root: Path = ROOT) -> list[str]:
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    found = []
    for index, token in enumerate(tokens):
        if token.type in (tokenize.COMMENT, tokenize.STRING) or "sandbox" not in token.string:
            continue
        if tuple(t.string for t in tokens[index - 2 : index + 1]) == JINJA_SANDBOX:
            continue
        found.append(f"{path.relative_to(root)}:{token.start[0]}: {token.line.strip()}")
    return found


def test_the_product_code_never_names_the_sandbox() -> None:
    modules = sorted(PRODUCT.rglob("*.py"))
    assert len(modules) > 50  # the real tree, not an empty glob
    mentions = [line for module in modules for line in _code_mentions(module)]
    assert mentions == [], "\n".join(mentions)


def test_the_check_sees_code_that_names_the_sandbox(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text('"""sandbox in a docstring is fine."""\nfrom sandbox import create_app  # sandbox\n')
    assert [line.split(": ", 1)[1] for line in _code_mentions(module, tmp_path)] == [
        "from sandbox import create_app  # sandbox"
    ]


def test_provider_specs_have_no_sandbox_fields() -> None:
    names = [field.name for field in dataclasses.fields(ProviderSpec)]
    assert "authorize_url" in names and not [name for name in names if "sandbox" in name]


def test_installing_the_product_ships_neither_the_sandbox_nor_the_dev_tools() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(ROOT), include=config["include"])
    assert "tms_console" in packages and "tms_console.providers" in packages
    assert not [p for p in packages if not p.startswith("tms_console")], packages
    assert (ROOT / "sandbox" / "__init__.py").is_file() and (ROOT / "devtools" / "__init__.py").is_file()
